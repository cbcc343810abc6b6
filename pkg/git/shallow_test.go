package git_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// shallowClone clones origin with git clone --depth N (which needs a
// file:// URL) and returns the clone's path.
func shallowClone(t *testing.T, s *sandbox.T, depth int, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shallow")
	cmd := append([]string{"clone", "-q", "--depth", fmt.Sprint(depth)}, args...)
	cmd = append(cmd, "file://"+s.Origin, dir)
	if _, err := sandbox.Git(s.Work, cmd...); err != nil {
		t.Fatal(err)
	}
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := sandbox.Git(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func commitIn(t *testing.T, dir, msg string, files map[string]string) string {
	t.Helper()
	if err := sandbox.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	sha, err := sandbox.Commit(dir, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func wantShallowError(t *testing.T, what string, err error) {
	t.Helper()
	var se *git.ShallowError
	if !errors.As(err, &se) {
		t.Errorf("%s: err = %v, want *ShallowError", what, err)
	}
}

// history makes main with n commits on origin.
func history(t *testing.T, n int) *sandbox.T {
	t.Helper()
	s := sandbox.New(t, map[string]string{"m": "0"})
	for i := 1; i < n; i++ {
		s.Commit(fmt.Sprint("m", i), map[string]string{"m": fmt.Sprint(i)})
	}
	s.Push("main")
	return s
}

// A depth-1 clone plus one commit: the merge-base is the clone's only
// boundary commit, present in the clone, so the answer needs nothing else.
func TestShallowMergeBaseAtTheBoundary(t *testing.T) {
	t.Parallel()
	s := history(t, 4)
	dir := shallowClone(t, s, 1)
	tip := gitIn(t, dir, "rev-parse", "HEAD")
	gitIn(t, dir, "checkout", "-q", "-b", "feature")
	commitIn(t, dir, "f1", map[string]string{"f": "1"})

	cmp, err := open(t, dir).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if cmp.MergeBase.String() != tip {
		t.Errorf("merge-base = %s, want %s", cmp.MergeBase.Short(), tip[:8])
	}
}

// The base moved on after the branch was cut; the merge-base is two
// commits down, inside a depth-3 clone.
func TestShallowMergeBaseInsideTheClone(t *testing.T) {
	t.Parallel()
	s := history(t, 5)
	s.Git("checkout", "-q", "-b", "feature", "main~1")
	want := s.Git("rev-parse", "HEAD")
	s.Commit("f1", map[string]string{"f": "1"})
	s.Commit("f2", map[string]string{"f": "2"})
	s.Push("feature")
	s.Git("checkout", "-q", "main")
	s.Commit("m5", map[string]string{"m": "5"})
	s.Push("main")

	dir := shallowClone(t, s, 3, "--no-single-branch")
	gitIn(t, dir, "checkout", "-q", "feature")
	r := open(t, dir)
	if !r.IsShallow() {
		t.Fatal("not shallow")
	}
	cmp, err := r.ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if cmp.MergeBase.String() != want {
		t.Errorf("merge-base = %s, want %s", cmp.MergeBase.Short(), want[:8])
	}
	// Asked the other way round, the answer is the same.
	mb, err := r.MergeBase(cmp.Base.SHA, cmp.Head.SHA)
	if err != nil || mb.String() != want {
		t.Errorf("reversed: %s, %v", mb.Short(), err)
	}
}

// A base that merges other branches: the boundary cuts the merged
// branches' history, which a merge-base of the branch and the base does
// not need.
func TestShallowMergeBaseBesideCutMerges(t *testing.T) {
	t.Parallel()
	s := history(t, 3)
	s.Git("checkout", "-q", "-b", "side", "main~2")
	s.Commit("s1", map[string]string{"s": "1"})
	s.Commit("s2", map[string]string{"s": "2"})
	s.Git("checkout", "-q", "main")
	s.Git("merge", "-q", "--no-ff", "-m", "merge side", "side")
	want := s.Git("rev-parse", "HEAD")
	s.Push("main")
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("f1", map[string]string{"f": "1"})
	s.Push("feature")
	s.Git("checkout", "-q", "main")
	s.Commit("m3", map[string]string{"m": "3"})
	s.Push("main")

	dir := shallowClone(t, s, 2, "--no-single-branch")
	gitIn(t, dir, "checkout", "-q", "feature")
	cmp, err := open(t, dir).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if cmp.MergeBase.String() != want {
		t.Errorf("merge-base = %s, want %s", cmp.MergeBase.Short(), want[:8])
	}
}

// The branch was cut further down than the clone reaches: both walks run
// into the boundary and the answer is refused, not guessed (and never
// "unrelated histories").
func TestShallowMergeBaseMissing(t *testing.T) {
	t.Parallel()
	s := history(t, 5)
	s.Git("checkout", "-q", "-b", "feature", "main~3")
	s.Commit("f1", map[string]string{"f": "1"})
	s.Commit("f2", map[string]string{"f": "2"})
	s.Push("feature")

	dir := shallowClone(t, s, 2, "--no-single-branch")
	gitIn(t, dir, "checkout", "-q", "feature")
	r := open(t, dir)
	_, err := r.ResolveBase("")
	wantShallowError(t, "merge-base below the clone", err)
	_, err = r.IsAncestor(hash(t, gitIn(t, dir, "rev-parse", "origin/main")), hash(t, gitIn(t, dir, "rev-parse", "HEAD")))
	wantShallowError(t, "IsAncestor", err)

	// Deepened until the merge-base is in, the same clone answers.
	gitIn(t, dir, "fetch", "-q", "--deepen=2", "origin")
	cmp, err := open(t, dir).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Git("rev-parse", "main~3"); cmp.MergeBase.String() != want {
		t.Errorf("after --deepen: merge-base = %s, want %s", cmp.MergeBase.Short(), want[:8])
	}
}

// On the base branch, HEAD is compared with its first parent: a depth-1
// clone does not have it, a depth-2 clone does.
func TestShallowFirstParent(t *testing.T) {
	t.Parallel()
	s := history(t, 4)
	_, err := open(t, shallowClone(t, s, 1)).ResolveBase("")
	wantShallowError(t, "depth 1", err)

	dir := shallowClone(t, s, 2)
	cmp, err := open(t, dir).ResolveBase("")
	if err != nil {
		t.Fatal(err)
	}
	if want := gitIn(t, dir, "rev-parse", "HEAD~1"); cmp.Rule != git.RuleFirstParent || cmp.MergeBase.String() != want {
		t.Errorf("depth 2: %+v, want first-parent %s", cmp, want[:8])
	}
}

// Behind counts the base's commits the branch lacks, as git rev-list does,
// in a shallow clone whose history holds them, and refuses when a commit
// it counts has parents the clone lacks.
func TestShallowBehind(t *testing.T) {
	t.Parallel()
	s := history(t, 3)
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("f1", map[string]string{"f": "1"})
	s.Push("feature")
	s.Git("checkout", "-q", "main")
	s.Commit("m3", map[string]string{"m": "3"})
	s.Commit("m4", map[string]string{"m": "4"})
	s.Push("main")

	behind := func(dir string) ([]git.Commit, error) {
		r := open(t, dir)
		cmp, err := r.ResolveBase("")
		if err != nil {
			return nil, err
		}
		return r.Behind(cmp.Head.SHA, cmp.Base.SHA, cmp.MergeBase)
	}
	dir := shallowClone(t, s, 3, "--no-single-branch")
	gitIn(t, dir, "checkout", "-q", "feature")
	got, err := behind(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := gitIn(t, dir, "rev-list", "--count", "HEAD..origin/main"); fmt.Sprint(len(got)) != want {
		t.Errorf("behind = %d commits, git says %s", len(got), want)
	}

	// The base merged a branch whose history the clone cut: what that
	// merge brought cannot be counted.
	s.Git("checkout", "-q", "-b", "side", "main~4")
	s.Commit("s1", map[string]string{"s": "1"})
	s.Commit("s2", map[string]string{"s": "2"})
	s.Commit("s3", map[string]string{"s": "3"})
	s.Git("checkout", "-q", "main")
	s.Git("merge", "-q", "--no-ff", "-m", "merge side", "side")
	s.Push("main")
	dir = shallowClone(t, s, 3, "--no-single-branch")
	gitIn(t, dir, "checkout", "-q", "feature")
	_, err = behind(dir)
	wantShallowError(t, "behind through a cut merge", err)
}
