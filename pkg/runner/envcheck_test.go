package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atoll-tf/atoll/pkg/runner"
)

// TestApplyChecksEveryEnvironmentFirst: apply compares each project's
// environment with its plan's before Terraform runs for any project. Here
// conf/second (after conf/first in depends_on order) reads the caller's
// AWS_REGION, which changed since the plan: it is refused before conf/first
// starts, Terraform never runs for it (no init, no state, no lock), and
// conf/third, which depends on it, is skipped.
func TestApplyChecksEveryEnvironmentFirst(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	res := func(name string) string { return "resource \"terraform_data\" \"" + name + "\" {}\n" }
	f := newFixture(t, map[string]string{
		"atoll.yaml": `projects:
  - dir: conf/second
    depends_on: [conf/first]
  - dir: conf/third
    depends_on: [conf/second]
`,
		"conf/first/backend.tf":  backend(stateDir, "first"),
		"conf/second/backend.tf": backend(stateDir, "second"),
		"conf/second/.envrc":     "export TF_VAR_region=$AWS_REGION\n",
		"conf/second/main.tf":    "variable \"region\" {\n  type = string\n}\n",
		"conf/third/backend.tf":  backend(stateDir, "third"),
	}, map[string]string{
		"conf/first/main.tf":  res("first"),
		"conf/second/vars.tf": res("second"),
		"conf/third/main.tf":  res("third"),
	})
	if len(f.targets) != 3 {
		t.Fatalf("targets = %+v", f.targets)
	}
	environ := direnvEnviron(t)
	f.opts.Environ = append(environ, "AWS_REGION=us-east-1")
	f.plan(t)

	// A new run, as a new atoll process makes: in another environment.
	o := f.opts
	f.opts = &runner.Options{Repo: o.Repo, Config: o.Config, Comparison: o.Comparison, Workdir: o.Workdir, TerraformBin: o.TerraformBin,
		Jobs: 1, InterruptGrace: o.InterruptGrace, Environ: append(environ, "AWS_REGION=eu-west-1")}
	var mu sync.Mutex
	var events []string
	f.opts.Events = func(e runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		ev := e.Project + " " + string(e.Phase)
		if e.Result != nil {
			ev += " " + string(e.Result.Status)
		}
		events = append(events, ev)
	}
	rep, err := runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runner.ProjectResult{}
	for _, p := range rep.Projects {
		got[p.Dir] = p
	}
	if p := got["conf/second"]; p.Status != runner.StatusRefused || !strings.Contains(p.Error, "TF_VAR_region changed since the plan") {
		t.Errorf("conf/second: %s: %s; want refused naming TF_VAR_region", p.Status, p.Error)
	}
	if p := got["conf/third"]; p.Status != runner.StatusSkipped || !strings.Contains(p.Error, "depends on conf/second") {
		t.Errorf("conf/third: %s: %s; want skipped because of conf/second", p.Status, p.Error)
	}
	if p := got["conf/first"]; p.Status != runner.StatusApplied {
		t.Errorf("conf/first: %s: %s; want applied", p.Status, p.Error)
	}
	refused, started := -1, -1
	for i, e := range events {
		if e == "conf/second done refused" && refused < 0 {
			refused = i
		}
		if e == "conf/first init" && started < 0 {
			started = i
		}
	}
	if refused < 0 || started < 0 || refused > started {
		t.Errorf("conf/second must be refused before Terraform starts for conf/first; events: %v", events)
	}
	for _, name := range []string{"second", "third"} {
		for _, file := range []string{name + ".tfstate", "." + name + ".tfstate.lock.info"} {
			if _, err := os.Stat(filepath.Join(stateDir, file)); err == nil {
				t.Errorf("%s exists: Terraform ran for conf/%s", file, name)
			}
		}
	}
	plans, _ := filepath.Glob(filepath.Join(f.opts.Workdir, "*", "plans", "conf-second-*", "*", "plan-apply.log"))
	for _, l := range plans {
		if b, _ := os.ReadFile(l); len(b) > 0 {
			t.Errorf("Terraform ran for conf/second: %s", b)
		}
	}
	if st, err := runner.Store(f.opts.Workdir, f.opts.Repo).LoadPlan("conf/second", f.opts.Comparison.Head.SHA.String()); err != nil || st.Consumed {
		t.Errorf("the refused plan must stay usable: %+v, %v", st, err)
	}
}

// TestApplySkipsDependentsOfARefusedProject: a project refused before the
// run (here: its plan is gone) keeps the projects that depend on it from
// applying ahead of it.
func TestApplySkipsDependentsOfARefusedProject(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"atoll.yaml":        "projects:\n  - dir: conf/b\n    depends_on: [conf/a]\n",
		"conf/a/backend.tf": backend(stateDir, "a"),
		"conf/b/backend.tf": backend(stateDir, "b"),
	}, map[string]string{
		"conf/a/main.tf": "resource \"terraform_data\" \"a\" {}\n",
		"conf/b/main.tf": "resource \"terraform_data\" \"b\" {}\n",
	})
	f.plan(t)
	head := f.opts.Comparison.Head.SHA.String()
	if err := os.RemoveAll(runner.Store(f.opts.Workdir, f.opts.Repo).PlanDir("conf/a", head)); err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runner.ProjectResult{}
	for _, p := range rep.Projects {
		got[p.Dir] = p
	}
	if p := got["conf/a"]; p.Status != runner.StatusRefused {
		t.Errorf("conf/a: %s: %s; want refused (no plan)", p.Status, p.Error)
	}
	if p := got["conf/b"]; p.Status != runner.StatusSkipped || !strings.Contains(p.Error, "depends on conf/a") {
		t.Errorf("conf/b: %s: %s; want skipped because of conf/a", p.Status, p.Error)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "b.tfstate")); err == nil {
		t.Error("conf/b was applied before conf/a")
	}
}
