package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
)

// Pins from issue 12. Each writes the plan record a run with other
// settings would have written (another status of the project, another set
// of watched files), sealed like a real one, and checks that apply refuses
// it before Terraform starts.

func savedPlan(t *testing.T, f *fixture, edit func(p *record.Plan)) {
	t.Helper()
	c := f.opts.Comparison
	// atoll's commands create the work dir before any record is saved.
	if err := os.MkdirAll(f.opts.Workdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tg := range f.targets {
		p := &record.Plan{Project: tg.Project.Name, Dir: tg.Project.Dir, Head: c.Head.SHA.String(), Branch: c.Head.Branch,
			BaseRef: c.Base.Name, BaseSHA: c.Base.SHA.String(), MergeBase: c.MergeBase.String(),
			Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), HasChanges: true, Counts: record.Counts{Add: 1},
			LogFile: filepath.Join(t.TempDir(), "plan.log")}
		edit(p)
		if _, err := runner.Store(f.opts.Workdir, f.opts.Repo).SavePlan(p); err != nil {
			t.Fatal(err)
		}
	}
}

func applyRefused(t *testing.T, f *fixture, want string) {
	t.Helper()
	rep, err := runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Projects) != 1 {
		t.Fatalf("projects = %+v", rep.Projects)
	}
	p := rep.Projects[0]
	if p.Status != runner.StatusRefused || !strings.Contains(p.Error, want) {
		t.Errorf("apply = %s: %s (%s); want refused: %s", p.Status, p.Error, p.Hint, want)
	}
	st, err := runner.Store(f.opts.Workdir, f.opts.Repo).LoadPlan(p.Dir, f.opts.Comparison.Head.SHA.String())
	if err != nil || st.Consumed {
		t.Errorf("a refused plan must stay usable: %+v, %v", st, err)
	}
}

func newApplyFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "resource \"terraform_data\" \"x\" {}\n"},
		map[string]string{"conf/a/main.tf": "resource \"terraform_data\" \"x\" {\n  input = 2\n}\n"})
	if len(f.targets) != 1 {
		t.Fatalf("targets = %+v", f.targets)
	}
	return f
}

func TestApplyRefusesADestroyPlanForAProjectThatExists(t *testing.T) {
	t.Parallel()
	f := newApplyFixture(t)
	savedPlan(t, f, func(p *record.Plan) { p.Destroy = true })
	applyRefused(t, f, "does not match the project's status")
}

func TestApplyRefusesAPlanOfOtherInputs(t *testing.T) {
	t.Parallel()
	f := newApplyFixture(t)
	savedPlan(t, f, func(p *record.Plan) { p.InputsHash = "made-with-other-watch-globs" })
	applyRefused(t, f, "inputs hash")
}

func TestApplyRefusesANormalPlanForADeletedProject(t *testing.T) {
	t.Parallel()
	f := newApplyFixture(t)
	savedPlan(t, f, func(p *record.Plan) {})
	f.targets[0].Deleted = true
	applyRefused(t, f, "does not match the project's status")
}
