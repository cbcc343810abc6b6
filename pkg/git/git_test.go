package git_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func open(t *testing.T, dir string) *git.Repo {
	t.Helper()
	r, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// headCommit is the commit HEAD names.
func headCommit(t *testing.T, r *git.Repo) git.Commit {
	t.Helper()
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Commit(head.SHA)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hash(t *testing.T, s string) git.Hash {
	t.Helper()
	h, ok := git.ParseHash(s)
	if !ok {
		t.Fatalf("bad hash %q", s)
	}
	return h
}

func TestOpenFromSubdirectoryAndOutside(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": ""})
	r := open(t, filepath.Join(s.Work, "conf", "a"))
	if r.Root != s.Work {
		t.Errorf("root = %s, want %s", r.Root, s.Work)
	}
	if _, err := git.Open(t.TempDir()); !errors.Is(err, git.ErrNotRepository) {
		t.Errorf("outside a repository: err = %v", err)
	}
}

func TestResolveBaseRules(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	mainSHA := s.Git("rev-parse", "HEAD")
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("feature work", map[string]string{"b.tf": ""})

	cmp, err := open(t, s.Work).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Rule != git.RuleOriginHead || cmp.Base.Name != "refs/remotes/origin/main" || cmp.MergeBase.String() != mainSHA {
		t.Errorf("with origin/HEAD: %+v", cmp)
	}

	s.Git("remote", "set-head", "origin", "-d")
	if cmp, _ = open(t, s.Work).ResolveBase(""); cmp.Rule != git.RuleOrigin {
		t.Errorf("without origin/HEAD: rule %s, want %s", cmp.Rule, git.RuleOrigin)
	}

	s.Git("remote", "remove", "origin")
	if cmp, _ = open(t, s.Work).ResolveBase(""); cmp.Rule != git.RuleLocal || cmp.Base.Name != "refs/heads/main" {
		t.Errorf("without a remote: %+v", cmp)
	}

	cmp, err = open(t, s.Work).ResolveBase("main")
	if err != nil || cmp.Rule != git.RuleExplicit || cmp.MergeBase.String() != mainSHA {
		t.Errorf("explicit: %+v, %v", cmp, err)
	}

	_, err = open(t, s.Work).ResolveBase("origin/nope")
	var nf *git.BaseNotFoundError
	if !errors.As(err, &nf) || nf.Explicit != "origin/nope" {
		t.Errorf("missing explicit base: %v", err)
	}

	s.Git("branch", "-m", "main", "trunk")
	_, err = open(t, s.Work).ResolveBase("")
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "refs/remotes/origin/HEAD, refs/remotes/origin/main, refs/remotes/origin/master, refs/heads/main, refs/heads/master") {
		t.Errorf("no base at all: %v", err)
	}
}

func TestOnTheBaseBranchComparesWithFirstParent(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	root := s.Git("rev-parse", "HEAD")
	cmp, err := open(t, s.Work).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Rule != git.RuleFirstParent || !cmp.MergeBase.IsZero() {
		t.Errorf("root commit on main: %+v (want first-parent against the empty tree)", cmp)
	}
	s.Git("checkout", "-q", "-b", "fresh")
	cmp, _ = open(t, s.Work).ResolveBase("")
	if cmp.Rule == git.RuleFirstParent || cmp.MergeBase != cmp.Head.SHA {
		t.Errorf("a new branch with no commits of its own: %+v, want merge-base = HEAD (nothing changed)", cmp)
	}
	s.Git("checkout", "-q", "main")
	s.Commit("second", map[string]string{"b.tf": ""})
	s.Push("main")
	cmp, _ = open(t, s.Work).ResolveBase("")
	if cmp.Rule != git.RuleFirstParent || cmp.MergeBase.String() != root {
		t.Errorf("on main: %+v, want merge-base %s", cmp, root)
	}
	s.Git("checkout", "-q", "--detach", "HEAD")
	cmp, err = open(t, s.Work).ResolveBase("")
	if err != nil || cmp.Head.Branch != "" || cmp.MergeBase.String() != root {
		t.Errorf("detached HEAD: %+v, %v", cmp, err)
	}
}

// TestMergeBaseAgreesWithGit builds a history with criss-cross merges and
// equal commit dates, and compares every pair with git merge-base.
func TestMergeBaseAgreesWithGit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f0": "0"})
	s.Git("checkout", "-q", "-b", "a")
	s.Commit("a1", map[string]string{"fa": "1"})
	s.Git("checkout", "-q", "main")
	s.Commit("m1", map[string]string{"fm": "1"})
	s.Git("checkout", "-q", "-b", "b")
	s.Git("merge", "-q", "--no-ff", "-m", "b merges a", "a")
	s.Git("checkout", "-q", "a")
	s.Git("merge", "-q", "--no-ff", "-m", "a merges main", "main")
	s.Commit("a2", map[string]string{"fa": "2"})
	s.Git("checkout", "-q", "b")
	s.Commit("b2", map[string]string{"fb": "2"})
	s.Git("checkout", "-q", "main")
	for i := 0; i < 5; i++ {
		s.Commit(fmt.Sprintf("m%d", i+2), map[string]string{"fm": fmt.Sprint(i)})
	}
	refs := []string{"main", "a", "b", "main~3", "a~1", "b~1"}
	r := open(t, s.Work)
	for _, x := range refs {
		for _, y := range refs {
			want := s.Git("merge-base", "--all", x, y)
			got, err := r.MergeBase(hash(t, s.Git("rev-parse", x)), hash(t, s.Git("rev-parse", y)))
			if err != nil {
				t.Fatalf("%s %s: %v", x, y, err)
			}
			if !strings.Contains(want, got.String()) {
				t.Errorf("merge-base %s %s = %s, git says %s", x, y, got.Short(), want)
			}
		}
	}
}

func TestUnrelatedHistories(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a": ""})
	s.Git("checkout", "-q", "--orphan", "other")
	s.Commit("other root", map[string]string{"b": ""})
	r := open(t, s.Work)
	_, err := r.MergeBase(hash(t, s.Git("rev-parse", "main")), hash(t, s.Git("rev-parse", "other")))
	if !errors.Is(err, git.ErrUnrelated) {
		t.Errorf("err = %v, want ErrUnrelated", err)
	}
}

func TestShallowCloneIsDetected(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a": ""})
	s.Git("checkout", "-q", "-b", "feature")
	for i := 0; i < 3; i++ {
		s.Commit(fmt.Sprint("f", i), map[string]string{"f": fmt.Sprint(i)})
	}
	s.Push("feature")
	s.Git("checkout", "-q", "main")
	for i := 0; i < 3; i++ {
		s.Commit(fmt.Sprint("m", i), map[string]string{"m": fmt.Sprint(i)})
	}
	s.Push("main")

	shallow := filepath.Join(t.TempDir(), "shallow")
	if _, err := sandbox.Git(s.Work, "clone", "-q", "--depth", "1", "--no-single-branch", "file://"+s.Origin, shallow); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.Git(shallow, "checkout", "-q", "feature"); err != nil {
		t.Fatal(err)
	}
	r := open(t, shallow)
	if !r.IsShallow() {
		t.Fatal("IsShallow = false for a --depth 1 clone")
	}
	_, err := r.ResolveBase("")
	var se *git.ShallowError
	if !errors.As(err, &se) {
		t.Errorf("err = %v, want *ShallowError", err)
	}
}

func TestDiffTreesAgreesWithGit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/a/main.tf": "a", "conf/b/main.tf": "b", "modules/m/main.tf": "m", "same/x": "x", "typechange": "file",
		"dir with space/é.tf": "1",
	})
	from := s.Git("rev-parse", "HEAD")
	s.Git("mv", "conf/b", "conf/c")
	s.Git("rm", "-q", "typechange")
	s.Write(map[string]string{"conf/a/main.tf": "a2", "modules/m/new.tf": "n", "typechange/inner": "dir now", "dir with space/é.tf": "2"})
	to, _ := sandbox.Commit(s.Work, "changes")
	r := open(t, s.Work)
	fc, _ := r.Commit(hash(t, from))
	tc, _ := r.Commit(hash(t, to))
	diff, err := r.DiffTrees(fc.Tree, tc.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range diff {
		got = append(got, string(c.Action[0]-'a'+'A')+" "+c.Path)
	}
	sort.Strings(got)
	out := s.Git("-c", "core.quotePath=false", "diff", "--name-status", "--no-renames", from, to)
	want := strings.Split(strings.ReplaceAll(out, "\t", " "), "\n")
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("DiffTrees:\n%s\ngit diff:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d, _ := r.DiffTrees(tc.Tree, tc.Tree); len(d) != 0 {
		t.Errorf("a tree against itself: %v", d)
	}
}

func TestIndexListingOnlyWhenItProvablyEqualsTheCommit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "a", "conf/b/main.tf": "b", "link": "x"})
	r := open(t, s.Work)
	c := headCommit(t, r)
	walked, err := r.Files(c.Tree, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromIndex, ok := r.IndexFiles(c.Tree)
	if !ok {
		t.Fatal("a clean clone's index (with its cache-tree) was not used")
	}
	if fmt.Sprint(walked) != fmt.Sprint(fromIndex) {
		t.Errorf("index listing %v != tree listing %v", fromIndex, walked)
	}

	s.Write(map[string]string{"conf/a/main.tf": "staged"})
	s.Git("add", "conf/a/main.tf")
	if _, ok := open(t, s.Work).IndexFiles(c.Tree); ok {
		t.Error("an index with a staged change was trusted as HEAD's listing")
	}
}

func TestPrefetchedIndexListsTheSameAndIsUsedOnce(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "a", "conf/b/main.tf": "b"})
	r := open(t, s.Work)
	c := headCommit(t, r)
	want, ok := r.IndexFiles(c.Tree)
	if !ok {
		t.Fatal("a clean clone's index was not used")
	}
	r.PrefetchIndex()
	r.PrefetchIndex() // a second prefetch before the listing is taken is a no-op
	got, ok := r.IndexFiles(c.Tree)
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("prefetched listing = %v, %v; want %v", got, ok, want)
	}
	// The prefetched listing was taken: the next call reads the index as
	// it is now, which no longer holds the commit.
	s.Write(map[string]string{"conf/a/main.tf": "staged"})
	s.Git("add", "conf/a/main.tf")
	if _, ok := r.IndexFiles(c.Tree); ok {
		t.Error("IndexFiles answered from a listing already used, not the changed index")
	}
	// A prefetch of an index for another tree answers no for this one.
	r.PrefetchIndex()
	if _, ok := r.IndexFiles(c.Tree); ok {
		t.Error("a prefetched index holding a staged change was trusted as HEAD's listing")
	}
}

func TestReadCommittedNeverReturnsUncommittedBytes(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "committed"})
	r := open(t, s.Work)
	c := headCommit(t, r)
	files, _ := r.IndexFiles(c.Tree)
	// Same size, so only the content (or mtime) tells them apart.
	if err := os.WriteFile(filepath.Join(s.Work, "conf/a/main.tf"), []byte("uncommitt"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := r.ReadCommitted(files[0].Path, files[0].Blob)
	if err != nil || string(b) != "committed" {
		t.Errorf("ReadCommitted = %q, %v; want the committed bytes", b, err)
	}
	if err := os.Remove(filepath.Join(s.Work, "conf/a/main.tf")); err != nil {
		t.Fatal(err)
	}
	if b, err = r.ReadCommitted(files[0].Path, files[0].Blob); err != nil || string(b) != "committed" {
		t.Errorf("deleted work-tree file: %q, %v", b, err)
	}
}

func TestWorktreeChanges(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a": "1", "b": "1", "c": "1"})
	s.Write(map[string]string{"a": "2", "new": "x"})
	s.Write(map[string]string{"c": "3"})
	s.Git("add", "c")
	if err := os.Remove(filepath.Join(s.Work, "b")); err != nil {
		t.Fatal(err)
	}
	ch, err := open(t, s.Work).WorktreeChanges()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range ch {
		got[c.Path] = c.Deleted
	}
	want := map[string]bool{"a": false, "b": true, "c": false, "new": false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
}

func TestNoCommitsIsTyped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := sandbox.Git(dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, dir).Head(); !errors.Is(err, git.ErrNoCommits) {
		t.Errorf("err = %v, want ErrNoCommits", err)
	}
}

// TestIndexStatVouchesOnlyForWhatItRecorded: a committed file is read from
// the work tree when the index's stat data (size, mtime, inode) still
// describes it, and otherwise only when its bytes hash to the blob. An
// entry as new as the index itself (racily clean, git's rule) vouches
// for nothing: an edit of the same size in the same instant goes unseen
// by stat.
func TestIndexStatVouchesOnlyForWhatItRecorded(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "a = 1\n", "conf/b/main.tf": "b = 1\n"})
	// conf/r/main.tf gets an mtime after the index's: racily clean.
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	racy := filepath.Join(s.Work, "conf", "r", "main.tf")
	s.Write(map[string]string{"conf/r/main.tf": "r = 1\n"})
	if err := os.Chtimes(racy, future, future); err != nil {
		t.Fatal(err)
	}
	s.Git("add", "-A")
	s.Git("commit", "-q", "-m", "racy")
	r := open(t, s.Work)
	c := headCommit(t, r)
	entries, ok := r.IndexFiles(c.Tree)
	if !ok {
		t.Fatal("the index of a clean commit was not used")
	}
	blob := map[string]git.Hash{}
	for _, e := range entries {
		blob[e.Path] = e.Blob
	}
	// Same size, same mtime, same inode, other bytes.
	edit := func(p, content string, mtime time.Time) {
		t.Helper()
		full := filepath.Join(s.Work, filepath.FromSlash(p))
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(s.Work, "conf", "a", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	edit("conf/a/main.tf", "a = 2\n", fi.ModTime())
	edit("conf/b/main.tf", "b = 2\n", fi.ModTime().Add(-time.Minute))
	edit("conf/r/main.tf", "r = 2\n", future)
	for p, want := range map[string]string{
		// The index vouches by stat: the work tree's bytes are taken
		// (git's own trade-off, what makes a cold scan cheap).
		"conf/a/main.tf": "a = 2\n",
		// Another mtime: the bytes are hashed, do not match, and the
		// blob is read.
		"conf/b/main.tf": "b = 1\n",
		// Racily clean: the stat proves nothing.
		"conf/r/main.tf": "r = 1\n",
	} {
		got, err := r.ReadCommitted(p, blob[p])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("ReadCommitted(%s) = %q, want %q", p, got, want)
		}
	}
}
