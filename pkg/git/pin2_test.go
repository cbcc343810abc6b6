package git_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func TestParseHashLengths(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{strings.Repeat("ab", 20): true, "abcd": false, "abc": false, strings.Repeat("ab", 21): false, strings.Repeat("zz", 20): false, "": false} {
		h, got := git.ParseHash(s)
		if got != ok || (ok && h.String() != s) || (!ok && !h.IsZero()) {
			t.Errorf("ParseHash(%q) = %s, %v", s, h, got)
		}
	}
}

func TestSymbolicTargetAndUnknownHashes(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	r := open(t, s.Work)
	branch := s.Git("symbolic-ref", "HEAD")
	if target, ok := r.SymbolicTarget("HEAD"); !ok || target != branch {
		t.Errorf("HEAD -> %q %v, want %s", target, ok, branch)
	}
	for _, name := range []string{branch, "refs/heads/nope"} {
		if target, ok := r.SymbolicTarget(name); ok || target != "" {
			t.Errorf("%s: %q %v, want no symbolic target", name, target, ok)
		}
	}
	// A well-formed SHA the repository does not have names nothing.
	ref, ok, err := r.ResolveRevision(strings.Repeat("e", 40))
	if ok || err != nil {
		t.Errorf("an unknown SHA: %+v %v %v", ref, ok, err)
	}
}

func TestCheckRevisionBounds(t *testing.T) {
	t.Parallel()
	part := func(n int) string { return strings.Repeat("a", n) }
	// 1024 bytes in parts of at most 255: accepted; one more byte is not.
	long := strings.Join([]string{part(255), part(255), part(255), part(254)}, "/") + "/a"
	if len(long) != 1024 {
		t.Fatalf("len %d", len(long))
	}
	if err := git.CheckRevision(long); err != nil {
		t.Errorf("1024 bytes: %v", err)
	}
	var re *git.RevisionError
	if err := git.CheckRevision(long + "a"); !errors.As(err, &re) || !strings.Contains(re.Reason, "longer than 1024 bytes") {
		t.Errorf("1025 bytes: %v", err)
	}
	if err := git.CheckRevision("x/" + part(255)); err != nil {
		t.Errorf("a part of 255 bytes: %v", err)
	}
	if err := git.CheckRevision("x/" + part(256)); !errors.As(err, &re) || !strings.Contains(re.Reason, "longer than 255 bytes") {
		t.Errorf("a part of 256 bytes: %v", err)
	}
	if err := git.CheckRevision("a b"); !errors.As(err, &re) || !strings.Contains(re.Reason, "may not contain a space") {
		t.Errorf("a space: %v", err)
	}
	if err := git.CheckRevision("a\x1fb"); !errors.As(err, &re) || !strings.Contains(re.Reason, "control character") {
		t.Errorf("0x1f: %v", err)
	}
}

func TestCheckRevisionSuffixNumbers(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"HEAD~0", "HEAD^9", "main~123456", "HEAD~90^0"} {
		if err := git.CheckRevision(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	var re *git.RevisionError
	if err := git.CheckRevision("main~1234567"); !errors.As(err, &re) || !strings.Contains(re.Reason, "too large") {
		t.Errorf("seven digits: %v", err)
	}
}

// The index answers for the tree it holds only: asked for another blob
// at a path, or for another tree of as many files, it does not vouch;
// without its cache-tree extension it answers nothing.
func TestIndexVouchesOnlyForWhatItHolds(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": "aaaa", "b.tf": "bbbb"})
	first := s.Git("rev-parse", "HEAD^{tree}")
	s.Commit("second", map[string]string{"a.tf": "cccc"})
	past := time.Now().Add(-time.Hour)
	for _, f := range []string{"a.tf", "b.tf"} {
		if err := os.Chtimes(filepath.Join(s.Work, f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	s.Git("update-index", "--refresh")
	r := open(t, s.Work)
	c := headCommit(t, r)
	files, ok := r.IndexFiles(c.Tree)
	if !ok || len(files) != 2 {
		t.Fatalf("HEAD's listing from the index: %v %v", files, ok)
	}
	blobs := map[string]git.Hash{}
	for _, f := range files {
		blobs[f.Path] = f.Blob
	}
	// b.tf's work-tree copy is vouched for by the index, but not as a.tf's blob.
	if b, err := r.ReadCommitted("b.tf", blobs["a.tf"]); err != nil || string(b) != "cccc" {
		t.Errorf("b.tf read as a.tf's blob: %q %v", b, err)
	}
	if b, err := r.ReadCommitted("b.tf", blobs["b.tf"]); err != nil || string(b) != "bbbb" {
		t.Errorf("b.tf: %q %v", b, err)
	}
	// Longer, with the old time put back: the size tells.
	if err := os.WriteFile(filepath.Join(s.Work, "b.tf"), []byte("bbbbbb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(s.Work, "b.tf"), past, past); err != nil {
		t.Fatal(err)
	}
	if b, err := r.ReadCommitted("b.tf", blobs["b.tf"]); err != nil || string(b) != "bbbb" {
		t.Errorf("b.tf grown, same time: %q %v", b, err)
	}
	if _, ok := r.IndexFiles(hash(t, first)); ok {
		t.Error("the index answered for the first commit's tree (as many files, another tree)")
	}
	// An index written without a cache-tree extension.
	if err := os.Remove(filepath.Join(s.Work, ".git", "index")); err != nil {
		t.Fatal(err)
	}
	s.Git("update-index", "--add", "a.tf", "b.tf")
	if _, ok := open(t, s.Work).IndexFiles(c.Tree); ok {
		t.Error("an index without a cache tree answered")
	}
}

// An entry git keeps out of the work tree (skip-worktree, as sparse
// checkouts set it) makes the index answer nothing: its file there is not
// git's to vouch for.
func TestIndexWithASkipWorktreeEntryAnswersNothing(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": "aaaa", "b.tf": "bbbb"})
	r := open(t, s.Work)
	c := headCommit(t, r)
	if _, ok := r.IndexFiles(c.Tree); !ok {
		t.Fatal("a clean index did not answer")
	}
	s.Git("update-index", "--skip-worktree", "b.tf")
	if _, ok := open(t, s.Work).IndexFiles(c.Tree); ok {
		t.Error("an index with a skip-worktree entry answered")
	}
}

// WorktreeChanges is sorted by path; a file removed from the index but
// kept on disk (git rm --cached) is not deleted, one removed from both is.
func TestWorktreeChangesOrderAndStagedDeletions(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a": "1", "b": "1", "c": "1", "d": "1"})
	s.Git("rm", "-q", "--cached", "b")
	s.Git("rm", "-q", "c")
	s.Write(map[string]string{"d": "2", "0new": "x"})
	ch, err := open(t, s.Work).WorktreeChanges()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range ch {
		got = append(got, fmt.Sprintf("%s:%v", c.Path, c.Deleted))
	}
	if want := "0new:false b:false c:true d:false"; strings.Join(got, " ") != want {
		t.Errorf("changes %q, want %q", strings.Join(got, " "), want)
	}
}
