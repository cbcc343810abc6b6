package workspace

import (
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestSubmodulesAreLeftOutOfCheckouts: a submodule has no bytes in the
// repository. Materialising a project that calls one, or holds one, never
// reads it as a blob: it is left out (Terraform then fails on the missing
// module rather than planning an empty one), with a warning.
func TestSubmodulesAreLeftOutOfCheckouts(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/app/main.tf": "module \"x\" {\n  source = \"../../modules/x\"\n}\n",
	})
	s.Submodule("modules/x", map[string]string{"main.tf": "# v1\n"})
	s.Submodule("conf/app/vendor", map[string]string{"README": "v1\n"})
	f := &fixture{T: s, repo: openRepo(t, s.Work), workdir: t.TempDir()}
	head := f.head(t)
	ps := f.projects(t, head, &config.Config{}, "conf/app")
	if len(ps) != 1 || len(ps[0].Modules) != 1 || ps[0].Modules[0].Dir != "modules/x" {
		t.Fatalf("projects = %+v, want conf/app using modules/x", ps)
	}
	co := f.materialize(t, head, ps)
	sameList(t, "checkout", listTree(t, co.Root), []string{"conf/app/main.tf"})
	want := []string{
		"conf/app/vendor: a git submodule; atoll does not check out submodules, so it is missing from the checkout",
		"modules/x: a git submodule; atoll does not check out submodules, so it is missing from the checkout",
	}
	if strings.Join(co.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings = %q, want %q", co.Warnings, want)
	}
	in, err := Inputs(f.repo, head, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in["conf/app"] != co.InputsHash["conf/app"] {
		t.Errorf("Inputs = %v, Materialize = %v", in, co.InputsHash)
	}
}
