package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
	// Deposed is set when the change is to a deposed object (an old object
	// left over from a create_before_destroy replacement).
	Deposed   string `json:"deposed,omitempty"`
	Importing bool   `json:"importing,omitempty"`
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
	// Changes lists the instances counted above, in Terraform's order;
	// reads of data sources and unchanged instances are left out.
	Changes []ResourceChange `json:"changes"`
	// PlanFile is the saved plan; PlanJSON is `terraform show -json` of it.
	PlanFile string `json:"plan_file"`
	PlanJSON string `json:"plan_json"`
}

// PlanOptions are the options of Plan.
type PlanOptions struct {
	Destroy bool
	// VarFiles are passed as -var-file, relative to the project directory.
	VarFiles []string
}

// Plan runs `terraform plan -input=false -out=planFile` in dir, an
// initialised directory, then reads the saved plan back with
// `terraform show -json`, which is also written to planFile+".json".
// A relative planFile is relative to dir.
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
	var hasChanges bool
	err = r.withStateLock(ctx, func(lockTimeout string, passed func()) error {
		args := []string{"plan", "-no-color", "-input=false", "-detailed-exitcode"}
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
		// Terraform writes to stdout only once it holds the lock; a
		// failure to take it goes to stderr.
		c.stderr.Reset()
		var err error
		if hasChanges, err = r.run(ctx, c, writers(r.Stdout, &firstWrite{f: passed}), true, args...); err != nil {
			return c.fail(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	c.op = "show"
	c.stderr.Reset()
	// The file gets Terraform's bytes rather than a re-encoding, which
	// could drop fields terraform-json does not know, and the log is spared
	// a copy of the whole plan.
	var raw bytes.Buffer
	if _, err := r.run(ctx, c, &raw, false, "show", "-json", "-no-color", planFile); err != nil {
		return nil, c.fail(err)
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(raw.Bytes(), &plan); err != nil {
		return nil, c.fail(fmt.Errorf("reading terraform show -json: %w", err))
	}
	if err := plan.Validate(); err != nil {
		return nil, c.fail(err)
	}
	// Like the plan file, the JSON holds sensitive values in clear.
	planJSON := planFile + ".json"
	if err := os.WriteFile(planJSON, raw.Bytes(), 0o600); err != nil {
		return nil, c.fail(err)
	}

	res := summarize(&plan)
	res.HasChanges = hasChanges
	res.PlanFile = planFile
	res.PlanJSON = planJSON
	return res, nil
}

// summarize counts a plan's resource changes. Unlike Terraform's "Plan:"
// line, which counts a replacement as an add and a destroy, it counts it once.
func summarize(plan *tfjson.Plan) *PlanResult {
	res := &PlanResult{Changes: []ResourceChange{}}
	for _, rc := range plan.ResourceChanges {
		if rc.Change == nil {
			continue
		}
		ch := ResourceChange{
			Address:   rc.Address,
			Deposed:   rc.DeposedKey,
			Importing: rc.Change.Importing != nil,
		}
		if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
			ch.PreviousAddress = rc.PreviousAddress
		}
		acts := rc.Change.Actions
		switch {
		case acts.Create():
			ch.Action = ActionCreate
			res.Add++
		case acts.Update():
			ch.Action = ActionUpdate
			res.Change++
		case acts.Replace():
			ch.Action = ActionReplace
			res.Replace++
		case acts.Delete():
			ch.Action = ActionDelete
			res.Destroy++
		case acts.Forget():
			ch.Action = ActionForget
			res.Forget++
		case acts.NoOp() && (ch.Importing || ch.PreviousAddress != ""):
			ch.Action = ActionNoOp
		default:
			// Reads of data sources, unchanged instances, and any action
			// list this version does not know.
			continue
		}
		if ch.Importing {
			res.Import++
		}
		if ch.PreviousAddress != "" {
			res.Move++
		}
		res.Changes = append(res.Changes, ch)
	}
	for _, oc := range plan.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			res.OutputChanges++
		}
	}
	return res
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
