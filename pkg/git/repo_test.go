package git_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Branches lists what git for-each-ref lists under refs/heads and
// refs/remotes, without the remote's symbolic HEAD.
func TestBranchesAgreeWithGit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("branch", "feature/x")
	s.Git("tag", "v1")
	s.Push("feature/x")
	s.Git("fetch", "-q", "origin")
	got, err := open(t, s.Work).Branches()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Fields(s.Git("for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes")) {
		if strings.HasSuffix(l, "/HEAD") {
			continue
		}
		l = strings.TrimPrefix(strings.TrimPrefix(l, "refs/heads/"), "refs/remotes/")
		want = append(want, l)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") || len(want) != 4 {
		t.Errorf("Branches() = %v, git says %v", got, want)
	}
}

// ResolveRevision gives the commit git rev-parse gives, for every form a
// user types, and names the ref it found.
func TestResolveRevisionAgreesWithGit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Commit("second", map[string]string{"f": "1"})
	s.Git("tag", "-a", "-m", "annotated", "v1", "HEAD~1")
	s.Git("tag", "light")
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("on feature", map[string]string{"g": "1"})
	s.Push("feature", "main")
	s.Git("update-ref", "refs/remotes/origin/only-remote", "main~1")
	r := open(t, s.Work)
	for rev, name := range map[string]string{
		"main":                     "refs/heads/main",
		"feature":                  "refs/heads/feature",
		"origin/main":              "refs/remotes/origin/main",
		"only-remote":              "refs/remotes/origin/only-remote",
		"v1":                       "refs/tags/v1",
		"light":                    "refs/tags/light",
		"refs/remotes/origin/main": "refs/remotes/origin/main",
		"HEAD":                     "",
		"HEAD~1":                   "HEAD~1",
		"main^":                    "main^",
		"v1~0":                     "v1~0",
	} {
		ref, ok, err := r.ResolveRevision(rev)
		if err != nil || !ok {
			t.Errorf("ResolveRevision(%q) = %v, %v", rev, ok, err)
			continue
		}
		full := rev
		if name != "" && !strings.HasPrefix(rev, "HEAD") {
			full = name
		}
		if want := s.Git("rev-parse", "--verify", full+"^{commit}"); ref.SHA.String() != want {
			t.Errorf("ResolveRevision(%q) = %s, git says %s", rev, ref.SHA.Short(), want[:8])
		}
		if name != "" && ref.Name != name {
			t.Errorf("ResolveRevision(%q) names %q, want %q", rev, ref.Name, name)
		}
	}
	short := s.Git("rev-parse", "--short=10", "main")
	if ref, ok, err := r.ResolveRevision(short); err != nil || !ok || ref.SHA.String() != s.Git("rev-parse", "main") {
		t.Errorf("ResolveRevision(%s) = %v, %v, %v", short, ref, ok, err)
	}
	for _, rev := range []string{"nothing", "origin/nothing", "v2", "deadbeef"} {
		if _, ok, err := r.ResolveRevision(rev); ok || err != nil {
			t.Errorf("ResolveRevision(%q) = %v, %v; want not found", rev, ok, err)
		}
	}
	// A ref that names a tree is no commit, and says so.
	s.Git("update-ref", "refs/tags/a-tree", s.Git("rev-parse", "HEAD^{tree}"))
	_, ok, err := r.ResolveRevision("a-tree")
	if ok || err == nil || !strings.Contains(err.Error(), "tree") {
		t.Errorf("a tag naming a tree: %v, %v", ok, err)
	}
}

// A linked worktree's .git is a file naming its git directory, relative
// or absolute: Open follows it to the work tree and the shared objects.
func TestOpenLinkedWorktree(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	wt := filepath.Join(t.TempDir(), "linked")
	s.Git("worktree", "add", "-q", "-b", "linked", wt)
	for _, relative := range []bool{false, true} {
		if relative {
			b, err := os.ReadFile(filepath.Join(wt, ".git"))
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(wt, strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:")))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: "+rel+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := open(t, filepath.Join(wt))
		if r.Root != wt || r.CommonDir != filepath.Join(s.Work, ".git") {
			t.Errorf("relative %v: root %s, common dir %s", relative, r.Root, r.CommonDir)
		}
		head, err := r.Head()
		if err != nil || head.Branch != "linked" || head.SHA.String() != s.Git("rev-parse", "main") {
			t.Errorf("relative %v: HEAD = %+v, %v", relative, head, err)
		}
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, ".git"), []byte("not a gitdir line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := git.Open(bad); err == nil || !strings.Contains(err.Error(), "not a gitdir file") {
		t.Errorf("a .git file without gitdir: err = %v", err)
	}
}

// A commit that is not in the repository is a plain read error, except in
// a shallow clone, where it is missing history (*ShallowError).
func TestMissingCommit(t *testing.T) {
	t.Parallel()
	s := history(t, 3)
	missing := hash(t, strings.Repeat("0f", 20))
	_, err := open(t, s.Work).Commit(missing)
	var se *git.ShallowError
	if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "read commit 0f0f0f0f") {
		t.Errorf("full clone: err = %v", err)
	}
	dir := shallowClone(t, s, 1)
	r := open(t, dir)
	_, err = r.Commit(hash(t, s.Git("rev-parse", "main~1")))
	if !errors.As(err, &se) || se.Missing.String() != s.Git("rev-parse", "main~1") {
		t.Errorf("shallow clone: err = %v", err)
	}
}

func TestShallowErrorSaysWhatTheCommitWasNeededFor(t *testing.T) {
	t.Parallel()
	h := hash(t, strings.Repeat("ab", 20))
	if got := (&git.ShallowError{Missing: h}).Error(); got != "this is a shallow clone and commit abababab, needed to find the merge-base, is not in it" {
		t.Errorf("merge-base: %q", got)
	}
	if got := (&git.ShallowError{Missing: h, Need: "to count"}).Error(); got != "this is a shallow clone and commit abababab, needed to count, is not in it" {
		t.Errorf("with Need: %q", got)
	}
}

// On the base branch of a shallow clone deep enough to hold HEAD's first
// parent, the first-parent comparison works.
func TestShallowFirstParentPresent(t *testing.T) {
	t.Parallel()
	s := history(t, 4)
	dir := shallowClone(t, s, 3)
	cmp, err := open(t, dir).ResolveBase("main")
	if err != nil || cmp.Rule != git.RuleFirstParent || cmp.MergeBase.String() != gitIn(t, dir, "rev-parse", "HEAD~1") {
		t.Errorf("ResolveBase = %+v, %v", cmp, err)
	}
}

// HooksDir is where the git binary looks, which reads included
// configuration files that go-git does not.
func TestHooksDirAsGitSeesIt(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	r := open(t, s.Work)
	if got := r.HooksDir(); got != filepath.Join(s.Work, ".git", "hooks") {
		t.Errorf("default: %s", got)
	}
	hooks := filepath.Join(t.TempDir(), "hooks")
	extra := filepath.Join(t.TempDir(), "extra.cfg")
	if err := os.WriteFile(extra, []byte("[core]\n\thooksPath = "+hooks+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Git("config", "include.path", extra)
	if got := r.HooksDir(); got != hooks {
		t.Errorf("core.hooksPath from an included file: %s, want %s", got, hooks)
	}
}

// Without a git binary, HooksDir reads the repository's core.hooksPath
// (relative to the work tree), and Fetch uses go-git.
func TestWithoutTheGitBinary(t *testing.T) {
	s := sandbox.New(t, map[string]string{"f": "0"})
	other := filepath.Join(t.TempDir(), "other")
	if _, err := sandbox.Git(filepath.Dir(other), "clone", "-q", s.Origin, other); err != nil {
		t.Fatal(err)
	}
	sandbox.WriteFiles(other, map[string]string{"g": "1"})
	pushed, err := sandbox.Commit(other, "pushed")
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.PushTo(other, s.Origin, "HEAD:main"); err != nil {
		t.Fatal(err)
	}
	r := open(t, s.Work)
	abs := filepath.Join(t.TempDir(), "abs-hooks")
	// No git, but go-git's file transport runs git-upload-pack.
	bin := t.TempDir()
	if err := os.Symlink(filepath.Join(s.Git("--exec-path"), "git-upload-pack"), filepath.Join(bin, "git-upload-pack")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)

	if got := r.HooksDir(); got != filepath.Join(s.Work, ".git", "hooks") {
		t.Errorf("default: %s", got)
	}
	for value, want := range map[string]string{"my/hooks": filepath.Join(s.Work, "my/hooks"), abs: abs} {
		if _, err := sandbox.Git(s.Work, "config", "core.hooksPath", value); err == nil {
			t.Fatal("git ran with an empty PATH")
		}
		cfg := filepath.Join(s.Work, ".git", "config")
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Split(string(b), "\n[hooks-test]")[0] + "\n[hooks-test]\n[core]\n\thooksPath = " + value + "\n")
		if err := os.WriteFile(cfg, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := open(t, s.Work).HooksDir(); got != want {
			t.Errorf("core.hooksPath = %s: %s, want %s", value, got, want)
		}
	}

	if err := r.Fetch("origin", "main"); err != nil {
		t.Fatalf("go-git fetch: %v", err)
	}
	if err := r.Fetch("origin", "main"); err != nil {
		t.Errorf("go-git fetch with nothing new: %v", err)
	}
	ref, ok, err := r.ResolveRef("refs/remotes/origin/main")
	if err != nil || !ok || ref.SHA.String() != pushed {
		t.Errorf("origin/main after a go-git fetch: %v %v %v, want %s", ref, ok, err, pushed)
	}
	var fe *git.FetchError
	if err := r.Fetch("origin", "no-such-branch"); !errors.As(err, &fe) || fe.Ref != "refs/heads/no-such-branch" {
		t.Errorf("go-git fetch of a missing branch: err = %v", err)
	}
}

// The index's stat data vouches for a work-tree file only while it
// describes that very file: a file put in its place with the same size
// and time is another inode, and its bytes are not the commit's.
func TestReadCommittedTrustsTheIndexOnlyForTheSameFile(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	p := filepath.Join(s.Work, "conf", "main.tf")
	s.Write(map[string]string{"conf/main.tf": "committed"})
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	s.Commit("old file", nil)
	r := open(t, s.Work)
	c := headCommit(t, r)
	files, ok := r.IndexFiles(c.Tree)
	if !ok {
		t.Fatal("the index was not used")
	}
	var blob git.Hash
	for _, f := range files {
		if f.Path == "conf/main.tf" {
			blob = f.Blob
		}
	}
	// Same bytes length, same time, another file.
	tmp := filepath.Join(s.Work, "conf", "new")
	if err := os.WriteFile(tmp, []byte("uncommitt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, past, past); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	if b, err := r.ReadCommitted("conf/main.tf", blob); err != nil || string(b) != "committed" {
		t.Errorf("ReadCommitted = %q, %v; want the committed bytes", b, err)
	}
}

func TestHasDir(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "", "modules": "a file"})
	r := open(t, s.Work)
	tree := hash(t, s.Git("rev-parse", "HEAD^{tree}"))
	for name, want := range map[string]bool{"conf": true, "modules": false, "missing": false, "conf/a": false} {
		if got, err := r.HasDir(tree, name); err != nil || got != want {
			t.Errorf("HasDir(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := r.HasDir(hash(t, strings.Repeat("0f", 20)), "conf"); err == nil {
		t.Error("HasDir of a missing tree: no error")
	}
}

// When the work tree's status cannot be read, a path with a control
// character (the usual reason) is named; the git directory is not looked
// into.
func TestWorktreeChangesNameAControlCharPath(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": ""})
	if err := os.WriteFile(filepath.Join(s.Work, ".git", "index"), []byte("DIRC not an index"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Write(map[string]string{".git/x\x01y": "", "conf/a/ok.tf": "", "a b~": ""})
	_, err := open(t, s.Work).WorktreeChanges()
	var ce *git.ControlCharPathError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "read work-tree status") {
		t.Errorf("no control character outside .git: err = %v", err)
	}
	for name, want := range map[string]string{"conf/a/b\x7fc.tf": "conf/a/b\x7fc.tf", "conf/a\nb/c.tf": "conf/a\nb", "conf/\x1f": "conf/\x1f"} {
		s.Write(map[string]string{name: ""})
		_, err = open(t, s.Work).WorktreeChanges()
		if !errors.As(err, &ce) || ce.Path != want || !strings.Contains(err.Error(), strconv.Quote(want)) {
			t.Errorf("%q: err = %v", name, err)
		}
		if err := os.RemoveAll(filepath.Join(s.Work, "conf")); err != nil {
			t.Fatal(err)
		}
	}
}

type mapMergeBases map[[2]git.Hash]git.Hash

func (m mapMergeBases) MergeBase(a, b git.Hash) (git.Hash, bool) {
	mb, ok := m[[2]git.Hash{a, b}]
	return mb, ok
}
func (m mapMergeBases) SetMergeBase(a, b, mb git.Hash) { m[[2]git.Hash{a, b}] = mb }

// ResolveBase asks the merge-base cache first and fills it on a miss; a
// failed search stores nothing.
func TestResolveBaseUsesTheMergeBaseCache(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("f1", map[string]string{"f": "1"})
	r := open(t, s.Work)
	cache := mapMergeBases{}
	r.MergeBases = cache
	head, base := hash(t, s.Git("rev-parse", "HEAD")), hash(t, s.Git("rev-parse", "main"))
	cmp, err := r.ResolveBase("main")
	if err != nil || cmp.MergeBase != base || len(cache) != 1 || cache[[2]git.Hash{head, base}] != base {
		t.Fatalf("a miss: %+v, %v, cache %v", cmp, err, cache)
	}
	seeded := hash(t, strings.Repeat("ab", 20))
	cache[[2]git.Hash{head, base}] = seeded
	if cmp, err := r.ResolveBase("main"); err != nil || cmp.MergeBase != seeded {
		t.Errorf("a hit: %+v, %v; want the cached %s", cmp, err, seeded.Short())
	}
	s.Git("checkout", "-q", "--orphan", "other")
	s.Commit("other root", map[string]string{"g": "0"})
	if _, err := open(t, s.Work).ResolveBase("main"); err == nil {
		t.Fatal("unrelated histories: no error")
	}
	r2 := open(t, s.Work)
	r2.MergeBases = cache
	if _, err := r2.ResolveBase("main"); !errors.Is(err, git.ErrUnrelated) || len(cache) != 1 {
		t.Errorf("unrelated histories: %v, cache %v", err, cache)
	}
}

type mapPeels map[git.Hash]git.Hash

func (m mapPeels) Peeled(h git.Hash) (git.Hash, bool) { c, ok := m[h]; return c, ok }
func (m mapPeels) SetPeeled(h, c git.Hash)            { m[h] = c }

// What an object peels to is read once: an annotated tag's object and a
// commit named by hash are remembered, and a remembered hash is answered
// from the cache (a warm run then never reads the pack index). Trees and
// blobs are still refused, and never remembered.
func TestResolveRevisionUsesThePeelCache(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("tag", "-a", "-m", "v1", "v1")
	commit := hash(t, s.Git("rev-parse", "HEAD"))
	tagObj := hash(t, s.Git("rev-parse", "v1"))
	tree := s.Git("rev-parse", "HEAD^{tree}")
	r := open(t, s.Work)
	peels := mapPeels{}
	r.Peels = peels
	for _, rev := range []string{tagObj.String(), commit.String(), "v1"} {
		if ref, ok, err := r.ResolveRevision(rev); err != nil || !ok || ref.SHA != commit {
			t.Fatalf("%s: %+v, %v, %v; want %s", rev, ref, ok, err, commit.Short())
		}
	}
	if peels[tagObj] != commit || peels[commit] != commit {
		t.Fatalf("peels recorded: %v", peels)
	}
	if _, _, err := r.ResolveRevision(tree); err == nil {
		t.Error("a tree resolved as a commit")
	}
	if len(peels) != 2 {
		t.Errorf("a tree was remembered: %v", peels)
	}
	seeded := hash(t, strings.Repeat("cd", 20))
	peels[commit] = seeded
	if ref, ok, err := r.ResolveRevision(commit.String()); err != nil || !ok || ref.SHA != seeded {
		t.Errorf("a remembered hash: %+v, %v, %v; want the cached %s", ref, ok, err, seeded.Short())
	}
}
