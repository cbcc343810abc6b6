package runner_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
)

// tfWrapper puts a script in front of the fixture's terraform that notes
// each command ("init conf-a") in a file, and returns a function reading
// those notes, sorted.
func tfWrapper(t *testing.T, f *fixture) func() []string {
	t.Helper()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "terraform")
	script := "#!/bin/sh\necho \"$1 $(basename \"$PWD\")\" >> '" + calls + "'\nexec '" + f.opts.TerraformBin + "' \"$@\"\n"
	if err := sandbox.WriteExecutable(wrapper, []byte(script)); err != nil {
		t.Fatal(err)
	}
	f.opts.TerraformBin = wrapper
	return func() []string {
		b, err := os.ReadFile(calls)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(b)), "\n")
		_ = os.Remove(calls)
		slices.Sort(got)
		return got
	}
}

// TestPlanRunsInitAndPlanOnly: a plain plan starts Terraform for init and
// plan in each project and nothing else (plus one version of the binary):
// the counts come from plan's -json stream, with no terraform show. A
// failing plan still says why. --plan-json and --plan-text each add one
// terraform show per project planned. An apply runs init and apply.
func TestPlanRunsInitAndPlanOnly(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/a/backend.tf": backend(stateDir, "a"),
		"conf/b/backend.tf": backend(stateDir, "b"),
	}, map[string]string{
		"conf/a/main.tf": "resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {}\noutput \"o\" { value = 1 }\n",
		"conf/b/main.tf": "resource \"terraform_data\" \"x\" { input = terraform_data.missing.id }\n",
	})
	calls := tfWrapper(t, f)
	rep, err := runner.Plan(t.Context(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := calls(), []string{"init a", "init b", "plan a", "plan b", "version " + filepath.Base(os.TempDir())}; !slices.Equal(got, want) {
		t.Errorf("terraform ran %q, want %q", got, want)
	}
	// The next run takes the version from the work dir instead.
	var cached map[string]string
	data, err := os.ReadFile(filepath.Join(f.opts.Workdir, runner.VersionCacheFile))
	if err == nil {
		err = json.Unmarshal(data, &cached)
	}
	if len(cached) != 1 || err != nil {
		t.Errorf("the work dir's version cache: %q, %v; want one entry", data, err)
	}
	for key, v := range cached {
		if !strings.HasPrefix(key, f.opts.TerraformBin+"\x00") || !strings.HasPrefix(v, "1.") {
			t.Errorf("the version cache holds %q: %q, want %s's version", key, v, f.opts.TerraformBin)
		}
	}
	res := byDir(t, rep)
	a, b := res["conf/a"], res["conf/b"]
	if a.Status != runner.StatusPlanned || a.Counts != (runner.Counts{Add: 2}) {
		t.Errorf("conf/a: %s %+v, want planned, 2 to add", a.Status, a.Counts)
	}
	if b.Status != runner.StatusFailed || !strings.Contains(b.Error, "Reference to undeclared resource") || !strings.Contains(b.Error, "on main.tf line 1") {
		t.Errorf("conf/b: %s %q, want failed with Terraform's diagnostic", b.Status, b.Error)
	}
	planDir := filepath.Dir(a.PlanFile)
	for _, name := range []string{record.PlanJSONFile, record.PlanTextFile} {
		if _, err := os.Stat(filepath.Join(planDir, name)); !os.IsNotExist(err) {
			t.Errorf("a plain plan wrote %s (%v)", name, err)
		}
	}
	log, err := os.ReadFile(a.LogFile)
	if err != nil || !strings.Contains(string(log), "terraform_data.a: Plan to create\n") || !strings.Contains(string(log), "Plan: 2 to add, 0 to change, 0 to destroy.\n") {
		t.Errorf("plan.log lacks the planned changes (%v):\n%s", err, log)
	}

	f.opts.PlanJSON, f.opts.PlanText = true, true
	f.targets = slices.DeleteFunc(f.targets, func(t runner.Target) bool { return t.Project.Dir == "conf/b" })
	if _, err := runner.Plan(t.Context(), f.opts, f.targets); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(), []string{"init a", "plan a", "show a", "show a"}; !slices.Equal(got, want) {
		t.Errorf("with PlanJSON and PlanText, terraform ran %q, want %q", got, want)
	}
	for _, name := range []string{record.PlanJSONFile, record.PlanTextFile} {
		if b, err := os.ReadFile(filepath.Join(planDir, name)); err != nil || !strings.Contains(string(b), "terraform_data.a") {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Applying that plan: init and apply, and no `terraform version` per
	// directory (which terraform-exec would start).
	arep, err := runner.Apply(t.Context(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := calls(), []string{"apply a", "init a"}; !slices.Equal(got, want) {
		t.Errorf("apply: terraform ran %q, want %q", got, want)
	}
	if a := byDir(t, arep)["conf/a"]; a.Status != runner.StatusApplied || a.Counts != (runner.Counts{Add: 2}) {
		t.Errorf("apply of conf/a: %s %+v %s, want applied, 2 added", a.Status, a.Counts, a.Error)
	}
}

// TestPlanTextThatFailsFailsTheProject: when the text rendering that was
// asked for cannot be made (terraform show fails after a good plan), the
// project fails with Terraform's message, as for the JSON, and keeps no
// plan: never a plan whose summary is silently empty.
func TestPlanTextThatFailsFailsTheProject(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{"conf/a/backend.tf": backend(stateDir, "a")},
		map[string]string{"conf/a/main.tf": "resource \"terraform_data\" \"a\" {}\n"})
	wrapper := filepath.Join(t.TempDir(), "terraform")
	script := "#!/bin/sh\nif [ \"$1\" = show ] && [ \"$2\" = -no-color ]; then echo 'Error: cannot render the plan' >&2; exit 1; fi\nexec '" + f.opts.TerraformBin + "' \"$@\"\n"
	if err := sandbox.WriteExecutable(wrapper, []byte(script)); err != nil {
		t.Fatal(err)
	}
	f.opts.TerraformBin = wrapper
	f.opts.PlanText = true
	rep, err := runner.Plan(t.Context(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	a := byDir(t, rep)["conf/a"]
	if a.Status != runner.StatusFailed || !strings.Contains(a.Error, "cannot render the plan") {
		t.Errorf("conf/a: %s %q, want failed with show's message", a.Status, a.Error)
	}
	if a.PlanFile != "" {
		t.Errorf("a failed project names a plan file: %s", a.PlanFile)
	}
}
