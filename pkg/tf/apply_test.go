package tf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestApplyFailsMidway(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `
resource "terraform_data" "first" {}
resource "terraform_data" "second" {
  depends_on = [terraform_data.first]
  provisioner "local-exec" { command = "exit 1" }
}
resource "terraform_data" "third" {
  depends_on = [terraform_data.second]
}
`)
	mustInit(t, r, p.Dir)
	plan := mustPlan(t, r, p.Dir, "p.tfplan", PlanOptions{})

	res, err := r.Apply(context.Background(), p.Dir, plan.PlanFile)
	var e *Error
	if !errors.As(err, &e) || e.Op != "apply" || e.Interrupted() {
		t.Fatalf("Apply() error = %v, want a failed (not interrupted) apply *Error", err)
	}
	var stale *StalePlanError
	if errors.As(err, &stale) {
		t.Fatalf("Apply() error = %v, want no *StalePlanError", err)
	}
	if !strings.Contains(e.Diagnostics, "local-exec provisioner error") || !strings.Contains(e.Diagnostics, "terraform_data.second") {
		t.Errorf("Diagnostics = %q, want Terraform's diagnostic naming the resource", e.Diagnostics)
	}

	want := &ApplyResult{
		Changed: []ResourceChange{{Address: "terraform_data.first", Action: ActionCreate}},
		Failed: []FailedChange{{
			Address: "terraform_data.second", Action: ActionCreate,
			Message: "local-exec provisioner error: Error running command 'exit 1': exit status 1. Output:",
		}},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("Apply() result =\n%+v\nwant\n%+v", res, want)
	}
	// What the result says was changed is in the state; "second" is
	// there too, tainted, as the result's Failed warns.
	if got := stateAddresses(t, p.State); !reflect.DeepEqual(got, []string{"terraform_data.first", "terraform_data.second"}) {
		t.Errorf("state holds %v", got)
	}
}

func TestApplyStalePlan(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `resource "terraform_data" "x" {}`)
	mustInit(t, r, p.Dir)
	old := mustPlan(t, r, p.Dir, "old.tfplan", PlanOptions{})
	newer := mustPlan(t, r, p.Dir, "new.tfplan", PlanOptions{})
	mustApply(t, r, p.Dir, newer.PlanFile)

	res, err := r.Apply(context.Background(), p.Dir, old.PlanFile)
	var stale *StalePlanError
	if !errors.As(err, &stale) {
		t.Fatalf("Apply(old plan) error = %v, want *StalePlanError", err)
	}
	if stale.PlanFile != old.PlanFile || !strings.Contains(stale.Err.Diagnostics, "Saved plan is stale") {
		t.Errorf("StalePlanError = %+v (%+v)", stale, stale.Err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "apply" {
		t.Errorf("StalePlanError does not unwrap to the apply's *Error: %v", err)
	}
	if len(res.Changed) != 0 || len(res.Failed) != 0 {
		t.Errorf("Apply(old plan) result = %+v, want nothing done", res)
	}
	if got := stateAddresses(t, p.State); len(got) != 1 {
		t.Errorf("state holds %v, want the one resource of the newer plan", got)
	}
}

// TestApplyInterrupted cancels an apply while a provisioner runs: Terraform
// must get SIGINT, stop the provisioner, write the state and unlock it.
func TestApplyInterrupted(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `
resource "terraform_data" "fast" {}
resource "terraform_data" "slow" {
  depends_on = [terraform_data.fast]
  # exec: no orphaned sleep once Terraform kills the shell.
  provisioner "local-exec" { command = "exec sleep 30" }
}
`)
	mustInit(t, r, p.Dir)
	plan := mustPlan(t, r, p.Dir, "p.tfplan", PlanOptions{})

	log := newWatchWriter("terraform_data.slow: (local-exec): Executing:")
	r.Stdout = log
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type applied struct {
		res *ApplyResult
		err error
	}
	done := make(chan applied, 1)
	go func() {
		res, err := r.Apply(ctx, p.Dir, plan.PlanFile)
		done <- applied{res, err}
	}()
	select {
	case <-log.seen:
	case <-time.After(20 * time.Second):
		t.Fatalf("the provisioner never started; output:\n%s", log)
	}
	cancel()
	var got applied
	select {
	case got = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("Apply did not return within 15s of cancellation; output:\n%s", log)
	}

	var e *Error
	if !errors.As(got.err, &e) || !e.Interrupted() || !errors.Is(got.err, context.Canceled) {
		t.Fatalf("Apply() error = %v, want an interrupted *Error", got.err)
	}
	if !strings.Contains(log.String(), "Interrupt received") {
		t.Errorf("Terraform did not report SIGINT; output:\n%s", log)
	}
	if want := []ResourceChange{{Address: "terraform_data.fast", Action: ActionCreate}}; !reflect.DeepEqual(got.res.Changed, want) {
		t.Errorf("Changed = %+v, want %+v", got.res.Changed, want)
	}
	if len(got.res.Failed) != 1 || got.res.Failed[0].Address != "terraform_data.slow" {
		t.Errorf("Failed = %+v, want terraform_data.slow", got.res.Failed)
	}

	locks, err := filepath.Glob(filepath.Join(filepath.Dir(p.State), "*.lock.info"))
	if err != nil || len(locks) != 0 {
		t.Errorf("state lock left behind: %v %v", locks, err)
	}
	if _, err := os.Stat(p.State); err != nil {
		t.Fatalf("no state written: %v", err)
	}
	if addrs := stateAddresses(t, p.State); !slices.Contains(addrs, "terraform_data.fast") {
		t.Errorf("state holds %v, want terraform_data.fast, which was created before the interrupt", addrs)
	}
}

// The counts of an apply are what Terraform reports doing: a replacement
// (a delete and a create of one address) counts once, as a plan's does.
func TestApplyCounts(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `
resource "terraform_data" "keep" { input = "a" }
resource "terraform_data" "swap" { triggers_replace = "a" }
resource "terraform_data" "gone" {}
`)
	mustInit(t, r, p.Dir)
	mustApply(t, r, p.Dir, mustPlan(t, r, p.Dir, "p.tfplan", PlanOptions{}).PlanFile)
	p.write(t, `
resource "terraform_data" "keep" { input = "b" }
resource "terraform_data" "swap" { triggers_replace = "b" }
resource "terraform_data" "new" {}
`)
	res := mustApply(t, r, p.Dir, mustPlan(t, r, p.Dir, "p2.tfplan", PlanOptions{}).PlanFile)
	if got, want := res.Counts(), (ApplyCounts{Add: 1, Change: 1, Replace: 1, Destroy: 1}); got != want {
		t.Errorf("Counts() = %+v, want %+v (changed: %+v)", got, want, res.Changed)
	}
}
