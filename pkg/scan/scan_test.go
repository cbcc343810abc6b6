package scan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/project"
)

func mod(src string) string { return "module \"m\" {\n  source = \"" + src + "\"\n}\n" }

// geodesic is a small geodesic-style repository.
var geodesic = map[string]string{
	"conf/prod/vpc/main.tf":    mod("../../../modules/network"),
	"conf/prod/eks/main.tf":    mod("../../../modules/cluster"),
	"conf/staging/vpc/main.tf": mod("../../../modules/network"),
	"conf/staging/app/main.tf": "",
	"conf/old/main.tf":         "",
	"conf/moveme/main.tf":      "# moved\n",
	"modules/network/main.tf":  mod("../subnets"),
	"modules/subnets/main.tf":  "",
	"modules/cluster/main.tf":  "",
}

func run(t *testing.T, dir string, opt Options) *Result {
	t.Helper()
	repo, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Changed(repo, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func statuses(r *Result) map[string]affected.Status {
	m := map[string]affected.Status{}
	for _, p := range r.Projects {
		m[p.Dir] = p.Status
	}
	return m
}

func featureBranch(t *testing.T) *sandbox.T {
	s := sandbox.New(t, geodesic)
	s.Git("checkout", "-q", "-b", "feature")
	s.Git("rm", "-q", "-r", "conf/old")
	s.Git("mv", "conf/moveme", "conf/moved")
	s.Commit("feature", map[string]string{
		"modules/subnets/main.tf": "# wider\n",
		"conf/new/main.tf":        "# new\n",
	})
	// main moves on: not the branch's doing.
	s.Git("checkout", "-q", "main")
	s.Commit("main moves", map[string]string{"conf/prod/eks/main.tf": mod("../../../modules/cluster") + "# x\n"})
	s.Push("main")
	s.Git("checkout", "-q", "feature")
	return s
}

func TestChangedEndToEnd(t *testing.T) {
	t.Parallel()
	s := featureBranch(t)
	res := run(t, s.Work, Options{})
	want := map[string]affected.Status{
		"conf/prod/vpc":    affected.Modified,
		"conf/staging/vpc": affected.Modified,
		"conf/new":         affected.Added,
		"conf/old":         affected.Deleted,
		"conf/moved":       affected.Renamed,
	}
	if got := statuses(res); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if res.Comparison.Rule != git.RuleOriginHead {
		t.Errorf("rule = %s", res.Comparison.Rule)
	}
}

// TestCacheNeverChangesTheAnswer: cold, warm, and with damaged or foreign
// cache files, the answer is the same as without any cache.
func TestCacheNeverChangesTheAnswer(t *testing.T) {
	t.Parallel()
	s := featureBranch(t)
	want := run(t, s.Work, Options{})
	dir := filepath.Join(t.TempDir(), "cache")
	for i, name := range []string{"cold", "warm"} {
		got := run(t, s.Work, Options{Cache: cache.Open(dir, "test")})
		if !reflect.DeepEqual(got.Projects, want.Projects) {
			t.Errorf("%s run (%d) differs:\n%+v\n%+v", name, i, got.Projects, want.Projects)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(entries) < 4 {
		t.Fatalf("cache entries = %v, want result, graphs, calls and merge-bases", entries)
	}
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("corrupt"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := run(t, s.Work, Options{Cache: cache.Open(dir, "test")})
	if !reflect.DeepEqual(got.Projects, want.Projects) {
		t.Errorf("with a corrupt cache: %+v", got.Projects)
	}
}

// TestDerivedBaseListingEqualsTheTree: the merge-base's projects, derived
// from HEAD's listing and the diff, are those of walking its tree.
func TestDerivedBaseListingEqualsTheTree(t *testing.T) {
	t.Parallel()
	s := featureBranch(t)
	repo, err := git.Open(s.Work)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	cfg := &config.Config{}
	cmp, err := repo.ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Commit(cmp.Head.SHA)
	base, _ := repo.Commit(cmp.MergeBase)
	diff, _ := repo.DiffTrees(base.Tree, head.Tree)
	headFiles, _ := listCommit(repo, head.Tree)
	derived, err := project.Discover(&snapshot{repo: repo, files: patch(asFiles(headFiles), diff)}, cfg, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	walkedFiles, _ := repo.Files(base.Tree, nil)
	walked, err := project.Discover(&snapshot{repo: repo, files: asFiles(walkedFiles)}, cfg, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(derived, walked) {
		t.Errorf("derived %+v\nwalked %+v", derived, walked)
	}
}

func TestUncommitted(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, geodesic)
	s.Git("checkout", "-q", "-b", "feature")
	s.Write(map[string]string{
		"conf/staging/app/main.tf": "# edited, not committed\n",
		"conf/brand-new/main.tf":   mod("../../modules/cluster"),
		"modules/network/main.tf":  mod("../subnets") + mod("../cluster"),
	})
	if got := run(t, s.Work, Options{}); len(got.Projects) != 0 {
		t.Errorf("without --uncommitted: %v", statuses(got))
	}
	got := statuses(run(t, s.Work, Options{Uncommitted: true}))
	want := map[string]affected.Status{
		"conf/staging/app": affected.Modified,
		"conf/brand-new":   affected.Added,
		"conf/prod/vpc":    affected.Modified,
		"conf/staging/vpc": affected.Modified,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with --uncommitted: %v\nwant %v", got, want)
	}
	// The uncommitted edit of a module's calls is part of discovery too.
	repo, _ := git.Open(s.Work)
	defer repo.Close()
	head, _ := repo.Head()
	g, err := Projects(repo, &config.Config{}, head.SHA, Options{Uncommitted: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Projects {
		if p.Dir == "conf/prod/vpc" && len(p.Modules) != 3 {
			t.Errorf("conf/prod/vpc modules = %+v, want network, subnets and the newly called cluster", p.Modules)
		}
	}
}

// TestAddingConfKeepsOtherProjects: the default roots come from HEAD for
// both sides, so adding conf/ does not turn every project into "deleted".
func TestAddingConfKeepsOtherProjects(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"stacks/a/main.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("add conf", map[string]string{"conf/README.md": "hi\n"})
	if got := statuses(run(t, s.Work, Options{})); len(got) != 0 {
		t.Errorf("adding conf/README.md affected %v", got)
	}
}

// TestSymlinkedFilesAffectTheirProject: a change reached through a symlink
// inside a project (a shared .tf, a templates directory) affects it, and
// module calls in a symlinked .tf are followed from where the link is.
func TestSymlinkedFilesAffectTheirProject(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/app/main.tf":       "",
		"conf/other/main.tf":     "",
		"shared/common.tf":       mod("../../modules/net"),
		"shared/templates/a.tpl": "a",
		"modules/net/main.tf":    "",
	})
	for link, target := range map[string]string{
		"conf/app/common.tf": "../../shared/common.tf",
		"conf/app/templates": "../../shared/templates",
		"conf/app/escape.tf": "../../../outside.tf",
	} {
		if err := os.Symlink(target, filepath.Join(s.Work, link)); err != nil {
			t.Fatal(err)
		}
	}
	s.Commit("links", nil)
	s.Push("main")
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("edit shared", map[string]string{"shared/common.tf": mod("../../modules/net") + "# x\n", "shared/templates/a.tpl": "b", "modules/net/main.tf": "# y\n"})
	res := run(t, s.Work, Options{})
	if got := statuses(res); !reflect.DeepEqual(got, map[string]affected.Status{"conf/app": affected.Modified}) {
		t.Fatalf("affected %v, want conf/app only", got)
	}
	kinds := map[string]bool{}
	for _, r := range res.Projects[0].Reasons {
		kinds[r.Kind] = true
	}
	if !kinds[affected.KindSymlink] || !kinds[affected.KindModule] {
		t.Errorf("reasons %+v, want symlink reasons and the module called from the linked file", res.Projects[0].Reasons)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "conf/app/escape.tf: symlink to ../../../outside.tf leaves the repository") {
		t.Errorf("warnings %v", res.Warnings)
	}
}

// TestConfigChangesAffectTheirProjects: a committed change to a project's
// entry in atoll.yaml (a new -from-module ref) affects that project; a
// change of a global setting affects all of them.
func TestConfigChangesAffectTheirProjects(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/a/main.tf": "", "conf/b/main.tf": "",
		"atoll.yaml": "projects:\n  - dir: conf/a\n    source: git::https://example.com/m.git?ref=v1\n",
	})
	s.Git("checkout", "-q", "-b", "bump")
	s.Commit("bump a", map[string]string{"atoll.yaml": "projects:\n  - dir: conf/a\n    source: git::https://example.com/m.git?ref=v2\n"})
	res := run(t, s.Work, Options{})
	if got := statuses(res); !reflect.DeepEqual(got, map[string]affected.Status{"conf/a": affected.Modified}) {
		t.Fatalf("affected %v, want conf/a", got)
	}
	if r := res.Projects[0].Reasons; len(r) != 1 || r[0].Kind != affected.KindConfig || r[0].Path != "atoll.yaml" {
		t.Errorf("reasons %+v", r)
	}
	s.Commit("watch", map[string]string{"atoll.yaml": "watch: [versions.tf]\nprojects:\n  - dir: conf/a\n    source: git::https://example.com/m.git?ref=v2\n"})
	if got := statuses(run(t, s.Work, Options{})); len(got) != 2 {
		t.Errorf("a new global watch glob affected %v, want both projects", got)
	}
}
