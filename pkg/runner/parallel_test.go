package runner_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atoll-tf/atoll/pkg/runner"
)

// rendezvous is an .envrc that succeeds only while the other project's
// .envrc runs too: each marks that it started, then waits for the other.
const rendezvous = `touch "$RDV/${PWD##*/}"
for i in $(seq 300); do
  [ -e "$RDV/a" ] && [ -e "$RDV/b" ] && exit 0
  sleep 0.1
done
echo "evaluated alone: the other project's .envrc did not run meanwhile" >&2
exit 1
`

// TestEnvrcEvaluatedInParallel: under -j 2 two projects' .envrc files are
// evaluated at the same time, at plan (in each project's job) and at apply
// (before Terraform runs for any project).
func TestEnvrcEvaluatedInParallel(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/a/backend.tf": backend(stateDir, "a"),
		"conf/a/.envrc":     rendezvous,
		"conf/b/backend.tf": backend(stateDir, "b"),
		"conf/b/.envrc":     rendezvous,
	}, map[string]string{
		"conf/a/main.tf": "resource \"terraform_data\" \"a\" {}\n",
		"conf/b/main.tf": "resource \"terraform_data\" \"b\" {}\n",
	})
	environ := direnvEnviron(t)
	f.opts.Environ = append(environ, "RDV="+t.TempDir())
	f.plan(t)

	o := f.opts
	f.opts = &runner.Options{Repo: o.Repo, Config: o.Config, Comparison: o.Comparison, Workdir: o.Workdir, TerraformBin: o.TerraformBin,
		Jobs: 2, InterruptGrace: o.InterruptGrace, Environ: append(environ, "RDV="+t.TempDir())}
	rep, err := runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Projects {
		if p.Status != runner.StatusApplied {
			t.Errorf("%s: %s: %s", p.Dir, p.Status, p.Error)
		}
	}
}
