package scan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func symlink(t *testing.T, s *sandbox.T, link, target string) {
	t.Helper()
	full := filepath.Join(s.Work, link)
	_ = os.Remove(full)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

func reasonKinds(r *Result, dir string) map[string]bool {
	kinds := map[string]bool{}
	for _, p := range r.Projects {
		if p.Dir == dir {
			for _, why := range p.Reasons {
				kinds[why.Kind] = true
			}
		}
	}
	return kinds
}

// TestSymlinkOnAModulePath: a symlink anywhere on the path of a module's
// source, retargeted at HEAD or gone since the merge-base, affects every
// project that uses the module, and a file a symlink leads to changing
// gives a symlink reason.
func TestSymlinkOnAModulePath(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"conf/s/main.tf":       mod("../../modules/link"),
		"conf/deep/main.tf":    mod("../../vendor/mods/net"),
		"conf/other/main.tf":   "",
		"modules/real/main.tf": "variable \"a\" {}\n",
		"modules/m/main.tf":    "variable \"b\" {}\n",
		"stock/v1/net/main.tf": "",
		"stock/v2/net/main.tf": "",
		"conf/app/main.tf":     "",
		"shared/common.tf":     "",
		"shared/common-v2.tf":  "",
	}
	s := sandbox.New(t, files)
	symlink(t, s, "modules/link", "real")
	symlink(t, s, "vendor/mods", "../stock/v1")
	symlink(t, s, "conf/app/common.tf", "../../shared/common.tf")
	s.Commit("links", nil)
	s.Push("main")

	cases := []struct {
		name   string
		change func()
		want   map[string]string // project -> a reason kind it must have
	}{
		{"module link retargeted", func() { symlink(t, s, "modules/link", "m") }, map[string]string{"conf/s": affected.KindSymlink}},
		{"parent of a module path retargeted", func() { symlink(t, s, "vendor/mods", "../stock/v2") }, map[string]string{"conf/deep": affected.KindSymlink}},
		{"module link removed", func() { _ = os.Remove(filepath.Join(s.Work, "modules/link")) }, map[string]string{"conf/s": affected.KindModule}},
		{"module link replaced by a directory", func() {
			_ = os.Remove(filepath.Join(s.Work, "modules/link"))
			s.Write(map[string]string{"modules/link/main.tf": "variable \"a\" {}\n"})
		}, map[string]string{"conf/s": affected.KindModule}},
		{"file a symlink leads to edited", func() { s.Write(map[string]string{"shared/common.tf": "# edited\n"}) }, map[string]string{"conf/app": affected.KindSymlink}},
		{"symlinked file retargeted", func() { symlink(t, s, "conf/app/common.tf", "../../shared/common-v2.tf") }, map[string]string{"conf/app": affected.KindFile}},
	}
	for _, c := range cases {
		s.Git("checkout", "-q", "-B", "feature", "main")
		c.change()
		s.Commit(c.name, nil)
		res := run(t, s.Work, Options{})
		got := statuses(res)
		if len(got) != len(c.want) {
			t.Errorf("%s: affected %v, want %v", c.name, got, c.want)
		}
		for dir, kind := range c.want {
			if got[dir] != affected.Modified || !reasonKinds(res, dir)[kind] {
				t.Errorf("%s: %s is %q with reasons %v, want modified with a %s reason", c.name, dir, got[dir], reasonKinds(res, dir), kind)
			}
		}
		s.Git("checkout", "-q", "main")
	}
}

// TestNestedDirectoriesInRealRepositories: deleting or moving a project
// nested in another leaves the outer one alone; a nested directory with
// its own .tf files that is excluded or a module the outer project does
// not call is no part of it; one it calls affects it as a module.
func TestNestedDirectoriesInRealRepositories(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"atoll.yaml":                    "exclude: ['**/examples']\n",
		"conf/app/main.tf":              mod("./net"),
		"conf/app/files/x.json":         "{}",
		"conf/app/sub/main.tf":          "resource \"terraform_data\" \"sub\" {}\n",
		"conf/app/sub/files/y.json":     "{}",
		"conf/app/examples/a/main.tf":   "",
		"conf/app/net/main.tf":          "",
		"conf/app/net/examples/main.tf": "",
		"conf/other/main.tf":            mod("../app/lib"),
		"conf/app/lib/main.tf":          "",
	})
	cases := []struct {
		name   string
		change func()
		want   map[string]affected.Status
	}{
		{"delete the nested project", func() { s.Git("rm", "-q", "-r", "conf/app/sub") }, map[string]affected.Status{"conf/app/sub": affected.Deleted}},
		{"rename the nested project", func() { s.Git("mv", "conf/app/sub", "conf/app/sub2") }, map[string]affected.Status{"conf/app/sub2": affected.Renamed}},
		{"move it out", func() { s.Git("mv", "conf/app/sub", "conf/sub") }, map[string]affected.Status{"conf/sub": affected.Renamed}},
		{"edit an excluded directory", func() {
			s.Write(map[string]string{"conf/app/examples/a/main.tf": "# x\n", "conf/app/examples/a/new.txt": "n"})
		}, map[string]affected.Status{}},
		{"edit a module another project calls", func() { s.Write(map[string]string{"conf/app/lib/main.tf": "# x\n"}) }, map[string]affected.Status{"conf/other": affected.Modified}},
		{"edit the examples of a called module", func() { s.Write(map[string]string{"conf/app/net/examples/main.tf": "# x\n"}) }, map[string]affected.Status{}},
		{"edit a called module", func() { s.Write(map[string]string{"conf/app/net/main.tf": "# x\n"}) }, map[string]affected.Status{"conf/app": affected.Modified}},
		{"edit a plain subdirectory", func() { s.Write(map[string]string{"conf/app/files/x.json": "[]"}) }, map[string]affected.Status{"conf/app": affected.Modified}},
	}
	for _, c := range cases {
		s.Git("checkout", "-q", "-B", "feature", "main")
		c.change()
		s.Commit(c.name, nil)
		if got := statuses(run(t, s.Work, Options{})); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: affected %v, want %v", c.name, got, c.want)
		}
		s.Git("checkout", "-q", "main")
	}
}

// TestDeclaredProjectStatuses: a declared project removed together with
// its entry is deleted, and so is one whose directory is removed while the
// entry stays (a CI matrix job would cd into a directory that is gone); a
// declared directory the merge-base does not hold is added.
func TestDeclaredProjectStatuses(t *testing.T) {
	t.Parallel()
	const entries = "projects:\n  - dir: stacks/x\n  - dir: stacks/later\n  - dir: modules/shared\n"
	s := sandbox.New(t, map[string]string{
		"atoll.yaml":             entries,
		"conf/a/main.tf":         mod("../../modules/shared"),
		"stacks/x/main.tf":       "resource \"terraform_data\" \"x\" {}\n",
		"stacks/x/x.tfvars":      "x = 1\n",
		"modules/shared/main.tf": "",
	})
	cases := []struct {
		name   string
		change func()
		want   map[string]affected.Status
	}{
		{"directory and entry removed", func() {
			s.Git("rm", "-q", "-r", "stacks/x")
			s.Write(map[string]string{"atoll.yaml": "projects:\n  - dir: stacks/later\n  - dir: modules/shared\n"})
		}, map[string]affected.Status{"stacks/x": affected.Deleted}},
		{"directory removed, entry kept", func() { s.Git("rm", "-q", "-r", "stacks/x") }, map[string]affected.Status{"stacks/x": affected.Deleted}},
		{"entry of a module directory removed", func() {
			s.Write(map[string]string{"atoll.yaml": "projects:\n  - dir: stacks/x\n  - dir: stacks/later\n"})
		}, map[string]affected.Status{"modules/shared": affected.Deleted}},
		{"declared directory created", func() {
			s.Write(map[string]string{"stacks/later/main.tf": "resource \"terraform_data\" \"l\" {}\n"})
		}, map[string]affected.Status{"stacks/later": affected.Added}},
	}
	for _, c := range cases {
		s.Git("checkout", "-q", "-B", "feature", "main")
		c.change()
		s.Commit(c.name, nil)
		res := run(t, s.Work, Options{})
		if got := statuses(res); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: affected %v, want %v (reasons %+v)", c.name, got, c.want, res.Projects)
		}
		s.Git("checkout", "-q", "main")
	}
}

// TestVanishedWhenConfAppears: a conf/ directory appearing moves the
// default roots; the projects that were found elsewhere at the merge-base
// are reported as vanished, with a warning, instead of silently dropping.
func TestVanishedWhenConfAppears(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"stacks/a/main.tf": "", "stacks/b/main.tf": "", "stacks/c/main.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Git("rm", "-q", "-r", "stacks/c")
	s.Commit("add conf, remove c", map[string]string{"conf/new/main.tf": ""})
	res := run(t, s.Work, Options{})
	want := []Vanished{{Dir: "stacks/a", DirExists: true}, {Dir: "stacks/b", DirExists: true}, {Dir: "stacks/c"}}
	if !reflect.DeepEqual(res.Vanished, want) {
		t.Errorf("vanished = %+v, want %+v", res.Vanished, want)
	}
	joined := strings.Join(res.Warnings, "\n")
	if !strings.Contains(joined, "stacks/a, stacks/b, stacks/c: projects of the merge-base but not at HEAD (roots: conf)") ||
		!strings.Contains(joined, "stacks/a, stacks/b hold Terraform files but are outside the roots (conf)") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if got := statuses(res); !reflect.DeepEqual(got, map[string]affected.Status{"conf/new": affected.Added}) {
		t.Errorf("affected %v", got)
	}
	// The same answer from the cache.
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if got := run(t, s.Work, Options{Cache: cache.Open(dir, "test")}); !reflect.DeepEqual(got.Vanished, want) {
			t.Errorf("run %d through the cache: vanished %+v", i, got.Vanished)
		}
	}
}

// TestVanishedWhenConfiguredRootsChange: the merge-base is read with the
// roots its own atoll.yaml set, so a branch that moves roots: away from
// projects (without deleting them) has them reported as vanished too.
func TestVanishedWhenConfiguredRootsChange(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"atoll.yaml": "roots: [stacks]\n", "stacks/a/main.tf": "", "live/b/main.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("live only", map[string]string{"atoll.yaml": "roots: [live]\n"})
	res := run(t, s.Work, Options{})
	if want := []Vanished{{Dir: "stacks/a", DirExists: true}}; !reflect.DeepEqual(res.Vanished, want) {
		t.Errorf("vanished = %+v, want %+v", res.Vanished, want)
	}
}
