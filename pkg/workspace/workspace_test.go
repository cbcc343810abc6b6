package workspace

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// fixture is a sandbox repository, an opened Repo and a workdir outside it.
type fixture struct {
	*sandbox.T
	repo    *git.Repo
	workdir string
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	s := sandbox.New(t, files)
	return &fixture{T: s, repo: openRepo(t, s.Work), workdir: t.TempDir()}
}

func openRepo(t *testing.T, dir string) *git.Repo {
	t.Helper()
	r, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func (f *fixture) head(t *testing.T) git.Hash {
	t.Helper()
	h, ok := git.ParseHash(f.Git("rev-parse", "HEAD"))
	if !ok {
		t.Fatal("bad HEAD")
	}
	return h
}

// projects discovers the projects of commit and returns those in dirs.
func (f *fixture) projects(t *testing.T, commit git.Hash, cfg *config.Config, dirs ...string) []project.Project {
	t.Helper()
	g, err := scan.Projects(f.repo, cfg, commit, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []project.Project
	for _, d := range dirs {
		found := false
		for _, p := range g.Projects {
			if p.Dir == d {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			t.Fatalf("no project %s in %+v", d, g.Projects)
		}
	}
	return out
}

func (f *fixture) materialize(t *testing.T, commit git.Hash, projects []project.Project, watch ...string) *Checkout {
	t.Helper()
	co, err := Materialize(context.Background(), f.workdir, f.repo, commit, projects, watch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = co.Close() })
	return co
}

// listTree lists the files under root as slash paths, symlinks as
// "path -> target".
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\n want:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// repoDirEntries lists the names in a repository's directory of the workdir.
func repoDirEntries(t *testing.T, co *Checkout) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(co.Root))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func noTempDirs(t *testing.T, co *Checkout) {
	t.Helper()
	for _, n := range repoDirEntries(t, co) {
		if strings.HasPrefix(n, tmpPrefix) {
			t.Errorf("temporary directory left behind: %s", n)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var layout = map[string]string{
	".envrc":                                "root",
	"README.md":                             "readme",
	"conf/.envrc":                           "conf",
	"conf/prod/.envrc":                      "prod",
	"conf/staging/.envrc":                   "staging",
	"conf/prod/vpc/.envrc":                  "vpc",
	"conf/prod/vpc/main.tf":                 `module "net" { source = "../../../modules/net" }`,
	"conf/prod/vpc/files/policy.json":       "{}",
	"conf/prod/vpc/.terraform/modules.json": "{}",
	"conf/prod/other/main.tf":               `resource "terraform_data" "x" {}`,
	"modules/net/main.tf":                   `module "subnet" { source = "../subnet" }`,
	"modules/net/templates/x.tpl":           "tpl",
	"modules/subnet/main.tf":                `resource "terraform_data" "s" {}`,
	"modules/unused/main.tf":                `resource "terraform_data" "u" {}`,
	"shared/globals.yaml":                   "g: 1",
	"shared/readme.md":                      "shared",
	"policies/vpc/deny.rego":                "deny",
	"policies/other.rego":                   "other",
}

func TestMaterializeWritesExactlyWhatTheProjectNeeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, layout)
	head := f.head(t)
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/prod/vpc", Watch: []string{"policies/vpc/**"}}}}
	co := f.materialize(t, head, f.projects(t, head, cfg, "conf/prod/vpc"), "shared/*.yaml")

	if want := filepath.Join(f.workdir, RepoID(f.repo), head.Short()); co.Root != want {
		t.Errorf("Root = %s, want %s", co.Root, want)
	}
	if _, inConf, _ := strings.Cut(co.Dir("conf/prod/vpc"), "/conf/"); inConf != "prod/vpc" {
		t.Errorf("${PWD##*/conf/} of %s = %q, want prod/vpc", co.Dir("conf/prod/vpc"), inConf)
	}
	sameList(t, "checkout", listTree(t, co.Root), []string{
		".envrc", "conf/.envrc", "conf/prod/.envrc", // parent .envrc files, not conf/staging's
		"conf/prod/vpc/.envrc", "conf/prod/vpc/main.tf", "conf/prod/vpc/files/policy.json", // the whole project, without .terraform
		"modules/net/main.tf", "modules/net/templates/x.tpl", "modules/subnet/main.tf", // modules, transitively
		"policies/vpc/deny.rego", // the project's watch glob
		"shared/globals.yaml",    // the global watch glob
	})
	if got := readFile(t, filepath.Join(co.Dir("conf/prod/vpc"), "../../../modules/subnet/main.tf")); got != layout["modules/subnet/main.tf"] {
		t.Errorf("module read through its relative source: %q", got)
	}
	if len(co.InputsHash) != 1 || co.InputsHash["conf/prod/vpc"] == "" {
		t.Errorf("InputsHash = %v", co.InputsHash)
	}
	if len(co.Warnings) != 0 {
		t.Errorf("warnings: %v", co.Warnings)
	}
}

func TestUncommittedEditsAreNotMaterialized(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "committed", "conf/a/vars.tf": "vars", "conf/a/gone.tf": "gone"})
	head := f.head(t)
	// Same size as the committed bytes, so only the content tells them apart.
	f.Write(map[string]string{"conf/a/main.tf": "uncommitt", "conf/a/vars.tf": "staged", "conf/a/new.tf": "untracked"})
	f.Git("add", "conf/a/vars.tf")
	if err := os.Remove(filepath.Join(f.Work, "conf/a/gone.tf")); err != nil {
		t.Fatal(err)
	}
	co := f.materialize(t, head, []project.Project{{Dir: "conf/a"}})
	sameList(t, "checkout", listTree(t, co.Root), []string{"conf/a/gone.tf", "conf/a/main.tf", "conf/a/vars.tf"})
	for name, want := range map[string]string{"main.tf": "committed", "vars.tf": "vars", "gone.tf": "gone"} {
		if got := readFile(t, filepath.Join(co.Dir("conf/a"), name)); got != want {
			t.Errorf("%s = %q, want the committed %q", name, got, want)
		}
	}
}

func TestEachCommitHasItsOwnDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "one"})
	first := f.head(t)
	f.Commit("two", map[string]string{"conf/a/main.tf": "two"})
	second := f.head(t)
	projects := []project.Project{{Dir: "conf/a"}}
	a := f.materialize(t, first, projects)
	b := f.materialize(t, second, projects)
	if a.Root == b.Root || filepath.Dir(a.Root) != filepath.Dir(b.Root) {
		t.Fatalf("roots %s and %s", a.Root, b.Root)
	}
	if readFile(t, filepath.Join(a.Dir("conf/a"), "main.tf")) != "one" || readFile(t, filepath.Join(b.Dir("conf/a"), "main.tf")) != "two" {
		t.Error("each checkout should hold its own commit's bytes")
	}
}

func TestRematerializingReplacesTheWholeTree(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "a", "conf/b/main.tf": "b"})
	head := f.head(t)
	first := f.materialize(t, head, []project.Project{{Dir: "conf/a"}})
	// What a run leaves behind: Terraform's directory, a plan file.
	sandbox.WriteFiles(first.Root, map[string]string{"conf/a/.terraform/x": "", "conf/a/plan.out": ""})
	// A crashed build's leftover.
	crashed := filepath.Join(filepath.Dir(first.Root), tmpPrefix+head.Short()+"-crashed")
	sandbox.WriteFiles(crashed, map[string]string{"conf/a/main.tf": "half"})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := f.materialize(t, head, []project.Project{{Dir: "conf/b"}})
	if second.Root != first.Root {
		t.Fatalf("same commit, different roots: %s, %s", first.Root, second.Root)
	}
	sameList(t, "checkout", listTree(t, second.Root), []string{"conf/b/main.tf"})
	noTempDirs(t, second)
}

func TestConcurrentBuildsOfOneCommitTakeTurns(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	var want []string
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		files["conf/p/"+name+".tf"] = name
		want = append(want, "conf/p/"+name+".tf")
	}
	f := newFixture(t, files)
	head := f.head(t)
	var wg sync.WaitGroup
	var root atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			co, err := Materialize(context.Background(), f.workdir, f.repo, head, []project.Project{{Dir: "conf/p"}}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer co.Close()
			root.Store(co.Root)
			// While open, nobody replaces it: it stays complete.
			sameList(t, "checkout while open", listTree(t, co.Root), want)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sameList(t, "checkout", listTree(t, root.Load().(string)), want)
	entries, _ := os.ReadDir(filepath.Dir(root.Load().(string)))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	short := head.Short()
	sameList(t, "repository directory", names, []string{short, short + ".lock", short + ".use"})
}

func TestABuildWaitsForOpenCheckouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "a", "conf/b/main.tf": "b"})
	head := f.head(t)
	open := f.materialize(t, head, []project.Project{{Dir: "conf/a"}})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Materialize(ctx, f.workdir, f.repo, head, []project.Project{{Dir: "conf/b"}}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a rebuild while a checkout is open: err = %v, want it to wait until the deadline", err)
	}
	sameList(t, "the open checkout", listTree(t, open.Root), []string{"conf/a/main.tf"})

	if err := open.Close(); err != nil {
		t.Fatal(err)
	}
	next := f.materialize(t, head, []project.Project{{Dir: "conf/b"}})
	sameList(t, "after Close", listTree(t, next.Root), []string{"conf/b/main.tf"})
}

// cancelAfter is a context that is cancelled after n calls of Err, to stop
// a build half way through.
type cancelAfter struct {
	context.Context
	left atomic.Int64
	once sync.Once
	done chan struct{}
}

func newCancelAfter(n int64) *cancelAfter {
	c := &cancelAfter{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(n)
	return c
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		c.once.Do(func() { close(c.done) })
		return context.Canceled
	}
	return nil
}

func (c *cancelAfter) Done() <-chan struct{} { return c.done }

func TestCancelledBuildLeavesNoPartialTree(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for i := range 30 {
		files["conf/p/f"+string(rune('a'+i%26))+string(rune('a'+i/26))+".tf"] = "x"
	}
	f := newFixture(t, files)
	head := f.head(t)
	projects := []project.Project{{Dir: "conf/p"}}
	good := f.materialize(t, head, projects)
	want := listTree(t, good.Root)
	if err := good.Close(); err != nil {
		t.Fatal(err)
	}

	// Cancelled after a few files were written into the new tree.
	_, err := Materialize(newCancelAfter(4), f.workdir, f.repo, head, projects, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	sameList(t, "the previous tree after a cancelled rebuild", listTree(t, good.Root), want)
	noTempDirs(t, good)

	// A commit never materialised gets no directory at all.
	f.Commit("other", map[string]string{"conf/p/new.tf": "n"})
	other := f.head(t)
	if _, err := Materialize(newCancelAfter(4), f.workdir, f.repo, other, projects, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(CheckoutDir(f.workdir, f.repo, other)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled first build left %s: %v", CheckoutDir(f.workdir, f.repo, other), err)
	}
	noTempDirs(t, good)
}

func TestSymlinks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"conf/a/main.tf":      "main",
		"shared/providers.tf": "providers",
		"lib/tool.sh":         "tool",
		"x":                   "outside the project",
	})
	for link, target := range map[string]string{
		"conf/a/providers.tf": "../../shared/providers.tf", // a file inside: kept, with its target
		"conf/a/lib":          "../../lib",                 // a directory inside: kept, with its files
		"conf/a/escape":       "../../../outside",          // leaves the checkout
		"conf/a/abs":          "/etc/passwd",               // absolute
		"conf/a/loop":         "loop",                      // itself
		// Through another link: kept, with that link.
		"conf/a/via.tf": "../../linked/providers.tf",
		"linked":        "shared",
		"hop/root":      "..", // the repository root (not used by the project)
		// Lexically hop/x, inside; but hop/root is the root, so the
		// kernel resolves it to the root's parent.
		"conf/a/sneak": "../../hop/root/../x",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(f.Work, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(f.Work, link)); err != nil {
			t.Fatal(err)
		}
	}
	sandbox.Commit(f.Work, "links")
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})

	sameList(t, "checkout", listTree(t, co.Root), []string{
		"conf/a/main.tf",
		"conf/a/providers.tf -> ../../shared/providers.tf", "shared/providers.tf",
		"conf/a/lib -> ../../lib", "lib/tool.sh",
		"conf/a/via.tf -> ../../linked/providers.tf", "linked -> shared",
	})
	if got := readFile(t, filepath.Join(co.Dir("conf/a"), "providers.tf")); got != "providers" {
		t.Errorf("through the link: %q", got)
	}
	if got := readFile(t, filepath.Join(co.Dir("conf/a"), "lib", "tool.sh")); got != "tool" {
		t.Errorf("through the directory link: %q", got)
	}
	if got := readFile(t, filepath.Join(co.Dir("conf/a"), "via.tf")); got != "providers" {
		t.Errorf("through two links: %q", got)
	}
	warnings := strings.Join(co.Warnings, "\n")
	for _, link := range []string{"conf/a/escape", "conf/a/abs", "conf/a/loop", "conf/a/sneak"} {
		if !strings.Contains(warnings, link+": symlink to ") {
			t.Errorf("no warning for %s in:\n%s", link, warnings)
		}
	}
	if len(co.Warnings) != 4 {
		t.Errorf("warnings:\n%s", warnings)
	}
}

// A link into a .terraform directory, or through a link kept in one, does
// not bring Terraform's working data into the checkout: the link is
// written and dangles there, as it would with .terraform not committed.
func TestSymlinksIntoTerraformDirectories(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"conf/a/main.tf":              "main",
		"shared/.terraform/cached.tf": "cached",
		"shared/real/x.tf":            "x",
	})
	for link, target := range map[string]string{
		"conf/a/cached.tf":      "../../shared/.terraform/cached.tf",
		"conf/a/via":            "../../shared/.terraform/hop",
		"shared/.terraform/hop": "../real",
	} {
		if err := os.Symlink(target, filepath.Join(f.Work, link)); err != nil {
			t.Fatal(err)
		}
	}
	sandbox.Commit(f.Work, "links")
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	sameList(t, "checkout", listTree(t, co.Root), []string{
		"conf/a/main.tf",
		"conf/a/cached.tf -> ../../shared/.terraform/cached.tf",
		"conf/a/via -> ../../shared/.terraform/hop", "shared/real/x.tf",
	})
}

func TestExecutableBitIsKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/hook.sh": "#!/bin/sh"})
	plain := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	if err := os.Chmod(filepath.Join(f.Work, "conf/a/hook.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	sandbox.Commit(f.Work, "chmod +x")
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	for name, want := range map[string]os.FileMode{"hook.sh": 0o755, "main.tf": 0o644} {
		fi, err := os.Stat(filepath.Join(co.Dir("conf/a"), name))
		if err != nil {
			t.Fatal(err)
		}
		// The umask may take bits away, never the owner's.
		if got := fi.Mode().Perm(); got&0o700 != want&0o700 {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	if plain.InputsHash["conf/a"] == co.InputsHash["conf/a"] {
		t.Error("chmod +x left the inputs hash unchanged")
	}
}

func TestInputsHashChangesOnlyWithTheProjectsFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"README.md":         "1",
		"conf/a/main.tf":    `module "m" { source = "../../modules/m" }`,
		"conf/b/main.tf":    `resource "terraform_data" "b" {}`,
		"modules/m/main.tf": "# m1",
	})
	cfg := &config.Config{}
	hashes := func() map[string]string {
		head := f.head(t)
		co := f.materialize(t, head, f.projects(t, head, cfg, "conf/a", "conf/b"))
		return co.InputsHash
	}
	first := hashes()
	if first["conf/a"] == first["conf/b"] {
		t.Fatalf("two projects with different files hash alike: %v", first)
	}

	f.Commit("docs", map[string]string{"README.md": "2"})
	if docs := hashes(); docs["conf/a"] != first["conf/a"] || docs["conf/b"] != first["conf/b"] {
		t.Errorf("a README-only commit changed inputs: %v -> %v", first, docs)
	}

	f.Commit("module", map[string]string{"modules/m/main.tf": "# m2"})
	module := hashes()
	if module["conf/a"] == first["conf/a"] {
		t.Error("a change to a module conf/a uses left its inputs hash unchanged")
	}
	if module["conf/b"] != first["conf/b"] {
		t.Error("a change to a module conf/b does not use changed its inputs hash")
	}
}

func TestWorkdirInsideTheRepositoryIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": ""})
	_, err := Materialize(context.Background(), filepath.Join(f.Work, ".atoll"), f.repo, f.head(t), []project.Project{{Dir: "conf/a"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "inside") {
		t.Errorf("err = %v, want a refusal", err)
	}
}

func TestLinkedWorktreesShareTheRepoID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"a": ""})
	wt := filepath.Join(t.TempDir(), "wt")
	f.Git("worktree", "add", "-q", "-b", "other", wt)
	id := RepoID(f.repo)
	if got := RepoID(openRepo(t, wt)); got != id {
		t.Errorf("worktree RepoID = %s, main %s", got, id)
	}
	if !strings.HasPrefix(id, "work-") || len(id) != len("work-")+8 {
		t.Errorf("RepoID = %q, want work-<8 hex>", id)
	}
	other := newFixture(t, map[string]string{"a": ""})
	if RepoID(other.repo) == id {
		t.Errorf("two clones named alike share RepoID %s", id)
	}
}

func TestMissingProjectDirectoryIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": ""})
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/gone"}})
	if len(co.Warnings) != 1 || !strings.Contains(co.Warnings[0], "conf/gone: the project directory does not exist") {
		t.Errorf("warnings: %v", co.Warnings)
	}
	sameList(t, "checkout", listTree(t, co.Root), nil)
}

// A project path that is a file in this commit is no project directory
// either: the same warning, and the file is not checked out.
func TestProjectPathThatIsAFileIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/file": "x"})
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/file"}})
	if len(co.Warnings) != 1 || !strings.Contains(co.Warnings[0], "conf/file: the project directory does not exist") {
		t.Errorf("warnings: %v", co.Warnings)
	}
	sameList(t, "checkout", listTree(t, co.Root), nil)
	// So is one that holds only a committed .terraform directory: the
	// checkout has no directory there.
	f = newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/tfonly/.terraform/x": "x"})
	co = f.materialize(t, f.head(t), []project.Project{{Dir: "conf/tfonly"}})
	if len(co.Warnings) != 1 || !strings.Contains(co.Warnings[0], "conf/tfonly: the project directory does not exist") {
		t.Errorf("warnings: %v", co.Warnings)
	}
	sameList(t, "checkout", listTree(t, co.Root), nil)
}

// Watch globs never bring a committed .terraform directory (Terraform's
// own working data: providers, module copies) into a checkout.
func TestWatchGlobsLeaveOutTerraformDirectories(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"conf/a/main.tf":                "",
		"policies/p.rego":               "p",
		"policies/.terraform/x":         "x",
		"shared/.terraform/modules/m/y": "y",
	})
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a", Watch: []string{"policies/**"}}}, "shared/**")
	sameList(t, "checkout", listTree(t, co.Root), []string{"conf/a/main.tf", "policies/p.rego"})
}

func TestInputsEqualsMaterializedHash(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/a/main.tf":    "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
		"modules/m/main.tf": "",
	})
	repo, err := git.Open(s.Work)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	head, _ := repo.Head()
	ps := []project.Project{{Name: "conf/a", Dir: "conf/a", Modules: []project.ModuleUse{{Dir: "modules/m", Chain: []string{"conf/a", "modules/m"}}}}}
	in, err := Inputs(repo, head.SHA, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	co, err := Materialize(context.Background(), t.TempDir(), repo, head.SHA, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if in["conf/a"] == "" || in["conf/a"] != co.InputsHash["conf/a"] {
		t.Errorf("Inputs = %v, Materialize = %v", in, co.InputsHash)
	}
}
