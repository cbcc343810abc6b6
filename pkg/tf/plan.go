package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Action is what happens, or happened, to one resource instance.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionDelete  Action = "delete"
	ActionReplace Action = "replace"
	ActionForget  Action = "forget" // removed from state, left in place
	// ActionNoOp is listed only for an instance that is imported or moved
	// and otherwise unchanged.
	ActionNoOp Action = "no-op"
)

// ResourceChange is one resource instance in a plan or an apply.
type ResourceChange struct {
	Address string `json:"address"`
	Action  Action `json:"action"`
	// PreviousAddress is set when a moved block or refactoring moves the
	// instance from another address.
	PreviousAddress string `json:"previous_address,omitempty"`
	Importing       bool   `json:"importing,omitempty"`
}

// PlanResult is what a saved plan would do.
type PlanResult struct {
	// HasChanges is Terraform's own verdict (plan -detailed-exitcode): it is
	// also true when only outputs change.
	HasChanges bool `json:"has_changes"`
	// Counts of resource instances, as in Terraform's "Plan:" line. A
	// replacement counts once, as Replace; Import and Move count alongside
	// the action (an imported instance may also be updated).
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Forget  int `json:"forget"`
	Import  int `json:"import"`
	Move    int `json:"move"`
	// OutputChanges counts root module outputs that change.
	OutputChanges int `json:"output_changes"`
	// Changes lists the instances counted above, sorted by address;
	// reads of data sources and unchanged instances are left out.
	Changes []ResourceChange `json:"changes"`
	// PlanFile is the saved plan.
	PlanFile string `json:"plan_file"`
}

// PlanOptions are the options of Plan.
type PlanOptions struct {
	Destroy bool
	// VarFiles are passed as -var-file, relative to the project directory.
	VarFiles []string
}

// Plan runs `terraform plan -json -input=false -out=planFile` in dir, an
// initialised directory. The counts come from the machine-readable UI
// stream Terraform writes while planning, so no second Terraform command
// reads the plan back: ShowPlanJSON and ShowPlanText render it when
// something needs that. The log (Stdout) gets the stream's messages as
// text. A relative planFile is relative to dir.
func (r *Runner) Plan(ctx context.Context, dir, planFile string, opts PlanOptions) (*PlanResult, error) {
	c, err := r.command("plan", dir, nil)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(planFile) {
		if planFile, err = filepath.Abs(filepath.Join(dir, planFile)); err != nil {
			return nil, c.fail(err)
		}
	}
	extra, err := planArgs(r.Args["plan"])
	if err != nil {
		return nil, c.fail(err)
	}
	var (
		hasChanges bool
		events     *planEvents
	)
	err = r.withStateLock(ctx, func(lockTimeout string, passed func()) error {
		args := []string{"plan", "-json", "-no-color", "-input=false", "-detailed-exitcode"}
		if opts.Destroy {
			args = append(args, "-destroy")
		}
		if lockTimeout != "" {
			args = append(args, "-lock-timeout="+lockTimeout)
		}
		for _, f := range opts.VarFiles {
			args = append(args, "-var-file="+f)
		}
		// The environment's arguments come after atoll's, as Terraform
		// puts TF_CLI_ARGS_plan's before the command line's; -out is
		// refused there, so the last word is atoll's.
		args = append(args, extra...)
		args = append(args, "-out="+planFile)
		// Each attempt starts afresh: one that could not take the lock
		// planned nothing.
		events = &planEvents{log: writers(r.Stdout), passed: passed}
		c.stderr.Reset()
		var err error
		hasChanges, err = r.run(ctx, c, events, true, args...)
		events.flush()
		if err != nil {
			e := c.fail(err)
			// With -json, Terraform's diagnostics are on stdout.
			if d := formatDiagnostics(events.errors); d != "" {
				e.Diagnostics = d
			}
			return e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := events.result()
	res.HasChanges = hasChanges
	res.PlanFile = planFile
	return res, nil
}

// planMessage is the part of a `terraform plan -json` message used here
// (https://developer.hashicorp.com/terraform/internals/machine-readable-ui).
type planMessage struct {
	Type    string `json:"type"`
	Message string `json:"@message"`
	Change  struct {
		Resource         streamAddr  `json:"resource"`
		PreviousResource *streamAddr `json:"previous_resource"`
		Action           string      `json:"action"`
		Importing        *struct{}   `json:"importing"`
	} `json:"change"`
	Outputs map[string]struct {
		Action string `json:"action"`
	} `json:"outputs"`
	Diagnostic *tfjson.Diagnostic `json:"diagnostic"`
}

type streamAddr struct {
	Addr string `json:"addr"`
}

// planEvents is the stdout of `terraform plan -json`: it counts the
// planned changes and writes each message's text to log.
type planEvents struct {
	lines   lineSplitter
	log     io.Writer
	res     PlanResult
	outputs map[string]bool
	errors  []tfjson.Diagnostic
	// passed, when set, is called at the first message that shows
	// Terraform got past the state lock.
	passed func()
}

// Write never fails, for the reason given on lenientWriter.
func (p *planEvents) Write(b []byte) (int, error) {
	p.lines.write(b, p.line)
	return len(b), nil
}

func (p *planEvents) flush() { p.lines.flush(p.line) }

func (p *planEvents) line(line []byte) {
	var m planMessage
	if err := json.Unmarshal(line, &m); err != nil || m.Type == "" {
		p.print(string(line))
		return
	}
	if p.passed != nil && m.Type != "version" && !strings.Contains(m.Message, "Acquiring state lock") &&
		(m.Diagnostic == nil || m.Diagnostic.Summary != lockSummary) {
		p.passed()
		p.passed = nil
	}
	switch m.Type {
	case "planned_change":
		p.planned(m)
	case "outputs":
		// Terraform sends the outputs once, after the changes.
		p.outputs = map[string]bool{}
		for name, o := range m.Outputs {
			p.outputs[name] = o.Action != "noop"
		}
	case "diagnostic":
		if d := m.Diagnostic; d != nil {
			if d.Severity == tfjson.DiagnosticSeverityError {
				p.errors = append(p.errors, *d)
			}
			p.print(formatDiagnostics([]tfjson.Diagnostic{*d}))
			return
		}
	}
	p.print(m.Message)
}

// planned counts one planned change as the plan's JSON would show it:
// Terraform's stream names the action "move" or "import" only for an
// instance that is otherwise unchanged.
func (p *planEvents) planned(m planMessage) {
	ch := ResourceChange{Address: m.Change.Resource.Addr, Importing: m.Change.Importing != nil}
	if prev := m.Change.PreviousResource; prev != nil && prev.Addr != ch.Address {
		ch.PreviousAddress = prev.Addr
	}
	res := &p.res
	switch m.Change.Action {
	case "create":
		ch.Action = ActionCreate
		res.Add++
	case "update":
		ch.Action = ActionUpdate
		res.Change++
	case "replace":
		ch.Action = ActionReplace
		res.Replace++
	case "delete":
		ch.Action = ActionDelete
		res.Destroy++
	case "remove":
		ch.Action = ActionForget
		res.Forget++
	case "move", "import":
		ch.Action = ActionNoOp
	default:
		// Reads of data sources, ephemeral resources, and any action
		// this version does not know.
		return
	}
	if ch.Importing {
		res.Import++
	}
	if ch.PreviousAddress != "" {
		res.Move++
	}
	res.Changes = append(res.Changes, ch)
}

func (p *planEvents) print(s string) {
	if p.log != nil && s != "" {
		fmt.Fprintln(p.log, strings.TrimRight(s, "\n"))
	}
}

func (p *planEvents) result() *PlanResult {
	res := p.res
	res.Changes = slices.Clone(res.Changes)
	if res.Changes == nil {
		res.Changes = []ResourceChange{}
	}
	// In the order of the plan's JSON, whatever order Terraform
	// finished planning in.
	slices.SortStableFunc(res.Changes, func(a, b ResourceChange) int { return strings.Compare(a.Address, b.Address) })
	for _, changed := range p.outputs {
		if changed {
			res.OutputChanges++
		}
	}
	return &res
}

// ShowPlanJSON writes `terraform show -json` of the saved plan planFile
// (absolute, or relative to dir) in dir, an initialised directory, to
// dest: Terraform's bytes, which a re-encoding could lose fields of. Like
// the plan, the file holds sensitive values in clear: it is owner-only.
func (r *Runner) ShowPlanJSON(ctx context.Context, dir, planFile, dest string) error {
	c, err := r.command("show", dir, nil)
	if err != nil {
		return err
	}
	// The log is spared a copy of the whole plan.
	var raw bytes.Buffer
	if _, err := r.run(ctx, c, &raw, false, "show", "-json", "-no-color", planFile); err != nil {
		return c.fail(err)
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(raw.Bytes(), &plan); err != nil {
		return c.fail(fmt.Errorf("reading terraform show -json: %w", err))
	}
	if err := plan.Validate(); err != nil {
		return c.fail(err)
	}
	if err := os.WriteFile(dest, raw.Bytes(), 0o600); err != nil {
		return c.fail(err)
	}
	return nil
}

// ShowPlanText returns Terraform's human-readable rendering of a saved plan
// (`terraform show -no-color PLANFILE`), for PR comments and summaries.
func (r *Runner) ShowPlanText(ctx context.Context, dir, planFile string) (string, error) {
	c, err := r.command("show", dir, nil)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if _, err := r.run(ctx, c, &out, false, "show", "-no-color", planFile); err != nil {
		return "", c.fail(err)
	}
	return out.String(), nil
}
