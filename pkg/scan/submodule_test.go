package scan

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestSubmoduleBumpAffectsCallers: a module that is a git submodule is a
// directory of the commit (no "does not exist" warning), and a bump of its
// commit affects the projects that call it, through the module rule, and
// the project that holds it, through the file rule.
func TestSubmoduleBumpAffectsCallers(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/app/main.tf":   mod("../../modules/x"),
		"conf/other/main.tf": mod("../../modules/y"),
		"conf/lib/main.tf":   "",
		"modules/y/main.tf":  "",
	})
	s.Submodule("modules/x", map[string]string{"main.tf": "# v1\n"})
	s.Submodule("conf/lib/vendor", map[string]string{"README": "v1\n"})
	s.Push("main")
	s.Git("checkout", "-q", "-b", "feature")
	s.BumpSubmodule("modules/x", map[string]string{"main.tf": "# v2\n"})
	s.BumpSubmodule("conf/lib/vendor", map[string]string{"README": "v2\n"})

	res := run(t, s.Work, Options{})
	want := map[string]affected.Status{"conf/app": affected.Modified, "conf/lib": affected.Modified}
	if got := statuses(res); !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	for _, p := range res.Projects {
		var r affected.Reason
		switch p.Dir {
		case "conf/app":
			r = affected.Reason{Kind: affected.KindModule, Path: "modules/x", Via: []string{"conf/app", "modules/x"}}
		case "conf/lib":
			r = affected.Reason{Kind: affected.KindFile, Path: "conf/lib/vendor"}
		}
		if !reflect.DeepEqual(p.Reasons, []affected.Reason{r}) {
			t.Errorf("%s: reasons = %+v, want %+v", p.Dir, p.Reasons, r)
		}
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// TestUncommittedSubmoduleBump: with --uncommitted, a submodule whose
// checkout moved to another commit is a change at its path, and still a
// directory for discovery.
func TestUncommittedSubmoduleBump(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/app/main.tf": mod("../../modules/x")})
	s.Submodule("modules/x", map[string]string{"main.tf": "# v1\n"})
	s.Push("main")
	s.Git("checkout", "-q", "-b", "feature")
	if _, err := sandbox.Commit(filepath.Join(s.Work, "modules", "x"), "moved"); err != nil {
		t.Fatal(err)
	}
	if got := statuses(run(t, s.Work, Options{})); len(got) != 0 {
		t.Errorf("committed only: %v", got)
	}
	res := run(t, s.Work, Options{Uncommitted: true})
	if got, want := statuses(res), map[string]affected.Status{"conf/app": affected.Modified}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q", res.Warnings)
	}
}
