package runner_test

import (
	"context"
	"os"
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
