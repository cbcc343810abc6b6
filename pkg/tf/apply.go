package tf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// ApplyResult is what an apply did, as Terraform reported it while working.
type ApplyResult struct {
	// Changed lists the instances Terraform finished changing, in order.
	// After a failed or interrupted apply these changes stay made:
	// Terraform has no rollback.
	Changed []ResourceChange `json:"changed"`
	// Failed lists the instances whose change errored. An instance whose
	// creation failed in a provisioner exists, tainted, in the state.
	Failed []FailedChange `json:"failed"`
	// Imported is the number of instances imported, from the change
	// summary Terraform prints at the end of the apply.
	Imported int `json:"imported"`
}

// ApplyCounts are the resource changes an apply made, counted as a plan's
// are (a replacement once).
type ApplyCounts struct {
	Add, Change, Replace, Destroy, Forget, Import int
}

// Counts tallies what Terraform reported it did: the finished changes of
// Changed, by action, and Imported. They come from Terraform's own output,
// never from what the plan promised.
func (r *ApplyResult) Counts() ApplyCounts {
	c := ApplyCounts{Import: r.Imported}
	for _, ch := range r.Changed {
		switch ch.Action {
		case ActionCreate:
			c.Add++
		case ActionUpdate:
			c.Change++
		case ActionReplace:
			c.Replace++
		case ActionDelete:
			c.Destroy++
		case ActionForget:
			c.Forget++
		}
	}
	return c
}

// FailedChange is a change Terraform started and could not finish.
type FailedChange struct {
	Address string `json:"address"`
	Action  Action `json:"action"`
	// Message is Terraform's diagnostic about this instance, if any.
	Message string `json:"message,omitempty"`
}

// Apply applies the saved plan planFile (absolute, or relative to dir) in dir
// with `terraform apply -json`. It returns the result even when it fails, so
// that the caller can say which resources were changed before the failure.
// A plan made against an older state fails with *StalePlanError; other
// failures are *Error.
func (r *Runner) Apply(ctx context.Context, dir, planFile string) (*ApplyResult, error) {
	events := &applyEvents{log: writers(r.Stdout)}
	c, err := r.command("apply", dir, nil)
	if err != nil {
		return events.result(), err
	}
	fromEnv, err := applyArgs(r.Args["apply"])
	if err != nil {
		return events.result(), c.fail(err)
	}
	err = r.withStateLock(ctx, func(lockTimeout string, passed func()) error {
		// Each attempt starts afresh: one that could not take the lock
		// changed nothing.
		events = &applyEvents{log: writers(r.Stdout), passed: passed}
		c.stderr.Reset()
		args := []string{"apply", "-json", "-no-color", "-input=false", "-auto-approve"}
		if lockTimeout != "" {
			args = append(args, "-lock-timeout="+lockTimeout)
		}
		// The environment's arguments after atoll's, as for plan; the
		// saved plan last.
		args = append(args, fromEnv...)
		args = append(args, planFile)
		// events passes a readable form of each message on to r.Stdout.
		_, err := r.run(ctx, c, events, false, args...)
		events.flush()
		if err == nil {
			return nil
		}
		e := c.fail(err)
		if d := formatDiagnostics(events.errors); d != "" {
			e.Diagnostics = d
		}
		return e
	})
	res := events.result()
	var e *Error
	if errors.As(err, &e) && (events.stale || strings.Contains(e.Diagnostics, staleSummary)) {
		return res, &StalePlanError{PlanFile: planFile, Err: e}
	}
	return res, err
}

// applyMessage is the part of a `terraform apply -json` message used here
// (https://developer.hashicorp.com/terraform/internals/machine-readable-ui).
type applyMessage struct {
	Type    string `json:"type"`
	Message string `json:"@message"`
	Hook    struct {
		Resource struct {
			Addr string `json:"addr"`
		} `json:"resource"`
		Action string `json:"action"`
	} `json:"hook"`
	Diagnostic *tfjson.Diagnostic `json:"diagnostic"`
	Changes    struct {
		Import int `json:"import"`
	} `json:"changes"`
}

// applyEvents is the stdout of `terraform apply -json`: it records what
// happened and writes each message's text to log.
type applyEvents struct {
	lines   lineSplitter
	log     io.Writer
	changed []ResourceChange
	failed  []FailedChange
	imports int
	errors  []tfjson.Diagnostic
	// passed, when set, is called at the first message that shows
	// Terraform got past the state lock.
	passed func()
	stale  bool
}

// Write never fails, for the reason given on lenientWriter.
func (a *applyEvents) Write(p []byte) (int, error) {
	a.lines.write(p, a.line)
	return len(p), nil
}

func (a *applyEvents) flush() { a.lines.flush(a.line) }

func (a *applyEvents) line(line []byte) {
	var m applyMessage
	if err := json.Unmarshal(line, &m); err != nil || m.Type == "" {
		a.print(string(line))
		return
	}
	addr, act := m.Hook.Resource.Addr, applyAction(m.Hook.Action)
	if a.passed != nil && m.Type != "version" && (m.Diagnostic == nil || m.Diagnostic.Summary != lockSummary) {
		a.passed()
		a.passed = nil
	}
	switch m.Type {
	case "apply_complete":
		if act != "" {
			a.complete(addr, act)
		}
	case "change_summary":
		a.imports = m.Changes.Import
	case "apply_errored":
		a.failed = append(a.failed, FailedChange{Address: addr, Action: act})
	case "diagnostic":
		if d := m.Diagnostic; d != nil {
			a.diagnostic(*d)
			a.print(formatDiagnostics([]tfjson.Diagnostic{*d}))
			return
		}
	}
	a.print(m.Message)
}

func (a *applyEvents) print(s string) {
	if a.log != nil {
		fmt.Fprintln(a.log, strings.TrimRight(s, "\n"))
	}
}

// complete records a finished change. Terraform reports a replacement as a
// delete and a create of the same address (in either order): merge them.
func (a *applyEvents) complete(addr string, act Action) {
	for i, c := range a.changed {
		if c.Address == addr && (c.Action == ActionCreate && act == ActionDelete || c.Action == ActionDelete && act == ActionCreate) {
			a.changed[i].Action = ActionReplace
			return
		}
	}
	a.changed = append(a.changed, ResourceChange{Address: addr, Action: act})
}

func (a *applyEvents) diagnostic(d tfjson.Diagnostic) {
	if d.Severity != tfjson.DiagnosticSeverityError {
		return
	}
	if d.Summary == staleSummary {
		a.stale = true
	}
	// An interrupted apply repeats "execution halted".
	for _, seen := range a.errors {
		if seen.Summary == d.Summary && seen.Detail == d.Detail && seen.Address == d.Address {
			return
		}
	}
	a.errors = append(a.errors, d)
}

func (a *applyEvents) result() *ApplyResult {
	res := &ApplyResult{Changed: a.changed, Failed: a.failed, Imported: a.imports}
	if res.Changed == nil {
		res.Changed = []ResourceChange{}
	}
	if res.Failed == nil {
		res.Failed = []FailedChange{}
	}
	for i := range res.Failed {
		f := &res.Failed[i]
		for _, d := range a.errors {
			if d.Address == f.Address {
				f.Message = strings.TrimSpace(f.Message + "\n" + d.Summary + ": " + d.Detail)
			}
		}
	}
	return res
}

// applyAction maps the action of an apply hook; "" means nothing changed.
func applyAction(s string) Action {
	switch s {
	case "create":
		return ActionCreate
	case "update":
		return ActionUpdate
	case "delete":
		return ActionDelete
	case "replace":
		return ActionReplace
	case "remove":
		return ActionForget
	}
	return ""
}
