package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/runner"
)

// TestApplyDependentsFollowTheirDependency: in depends_on order, a project
// whose dependency applied is applied; one whose dependency's apply failed
// is skipped, with a reason that names it, and Terraform never runs for
// it; a project outside both chains is applied whatever the others do.
func TestApplyDependentsFollowTheirDependency(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	main := map[string]string{
		"atoll.yaml": "projects:\n  - dir: conf/b\n    depends_on: [conf/a]\n  - dir: conf/y\n    depends_on: [conf/x]\n",
	}
	feature := map[string]string{}
	for _, p := range []string{"a", "b", "x", "y", "z"} {
		main["conf/"+p+"/backend.tf"] = backend(stateDir, p)
		feature["conf/"+p+"/main.tf"] = "resource \"terraform_data\" \"" + p + "\" {}\n"
	}
	// conf/x's apply fails: its provisioner exits 1.
	feature["conf/x/main.tf"] = "resource \"terraform_data\" \"x\" {\n  provisioner \"local-exec\" {\n    command = \"exit 1\"\n  }\n}\n"
	f := newFixture(t, main, feature)
	f.plan(t)
	rep, err := runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	got := byDir(t, rep)
	for dir, want := range map[string]runner.Status{
		"conf/a": runner.StatusApplied, "conf/b": runner.StatusApplied,
		"conf/x": runner.StatusFailed, "conf/y": runner.StatusSkipped,
		"conf/z": runner.StatusApplied,
	} {
		if got[dir].Status != want {
			t.Errorf("%s: %s (%s), want %s", dir, got[dir].Status, got[dir].Error, want)
		}
	}
	if !strings.Contains(got["conf/y"].Error, "conf/x") {
		t.Errorf("conf/y's reason %q does not name conf/x", got["conf/y"].Error)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "y.tfstate")); err == nil {
		t.Error("conf/y was applied although conf/x failed")
	}
	for _, p := range []string{"a", "b", "z"} {
		if _, err := os.Stat(filepath.Join(stateDir, p+".tfstate")); err != nil {
			t.Errorf("conf/%s has no state: %v", p, err)
		}
	}
}

// TestApplyDestroysADeletedProject: a project deleted on the branch whose
// resources exist is destroyed from the merge-base's files (the branch
// has none), and its state is empty afterwards.
func TestApplyDestroysADeletedProject(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	files := map[string]string{
		"conf/gone/backend.tf": backend(stateDir, "gone"),
		"conf/gone/main.tf":    "resource \"terraform_data\" \"x\" {\n  input = \"kept\"\n}\n",
		"conf/keep/main.tf":    "",
	}
	f := newFixture(t, files, map[string]string{"conf/keep/main.tf": "# edited\n"})
	// conf/gone was applied from main: its state holds terraform_data.x.
	applied := t.TempDir()
	for _, name := range []string{"backend.tf", "main.tf"} {
		if err := os.WriteFile(filepath.Join(applied, name), []byte(files["conf/gone/"+name]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-input=false"}, {"apply", "-auto-approve", "-input=false"}} {
		cmd := exec.Command(f.opts.TerraformBin, args...)
		cmd.Dir = applied
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
	gone := f.deleteProject(t, "conf/gone")
	rep, err := runner.Plan(context.Background(), f.fresh(func(o *runner.Options) { o.DestroyDeleted = true }), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusPlanned {
		t.Fatalf("destroy plan: %s: %s", p.Status, p.Error)
	}
	rep, err = runner.Apply(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusApplied {
		t.Fatalf("apply of the destroy: %s: %s", p.Status, p.Error)
	}
	state, err := os.ReadFile(filepath.Join(stateDir, "gone.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), "terraform_data") {
		t.Errorf("the state still holds the resource:\n%s", state)
	}
}
