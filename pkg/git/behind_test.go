package git_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// checkBehind compares Behind with `git rev-list head..tip` for every
// ordered pair of refs: the same commits, the tip first.
func checkBehind(t *testing.T, s *sandbox.T, refs []string) {
	t.Helper()
	r := open(t, s.Work)
	for _, x := range refs {
		for _, y := range refs {
			head, tip := hash(t, s.Git("rev-parse", x)), hash(t, s.Git("rev-parse", y))
			mb, err := r.MergeBase(head, tip)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Behind(head, tip, mb)
			if err != nil {
				t.Fatalf("Behind(%s, %s): %v", x, y, err)
			}
			want := strings.Fields(s.Git("rev-list", x+".."+y))
			sort.Strings(want)
			var have []string
			for _, c := range got {
				have = append(have, c.SHA.String())
			}
			sort.Strings(have)
			if strings.Join(have, " ") != strings.Join(want, " ") {
				t.Errorf("Behind(%s, %s) = %d commits %v, git rev-list says %d %v", x, y, len(got), have, len(want), want)
			}
			if len(got) > 0 && got[0].SHA != tip {
				t.Errorf("Behind(%s, %s) does not start at the tip", x, y)
			}
		}
	}
}

// Behind agrees with git rev-list head..tip, on dated history with a merge
// on each side and commits made in the merge-base's own second, and where
// the base merged the branch (the merge-base is the branch's tip, and the
// base's commits before the merge are older than it).
func TestBehindAgreesWithRevList(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	datedCommit(t, s, "m1", 10, map[string]string{"m": "1"})
	s.Git("checkout", "-q", "-b", "feature")
	datedCommit(t, s, "f1", 11, map[string]string{"f": "1"})
	s.Git("checkout", "-q", "main")
	datedCommit(t, s, "same second", 10, map[string]string{"m": "2"})
	s.Git("branch", "side")
	for i := 0; i < 3; i++ {
		datedCommit(t, s, fmt.Sprintf("m%d", i+3), 12+i, map[string]string{"m": fmt.Sprint(i + 3)})
	}
	s.Git("checkout", "-q", "side")
	datedCommit(t, s, "s1", 13, map[string]string{"s": "1"})
	s.Git("checkout", "-q", "main")
	gitAt(t, s.Work, 20, "merge", "-q", "--no-ff", "-m", "main merges side", "side")
	checkBehind(t, s, []string{"feature", "main", "side", "main~1", "main^2"})
}

// The base merged the branch, and the branch went on: what the base made
// before the merge is older than the merge-base, and still behind.
func TestBehindWhenTheBaseMergedTheBranch(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("checkout", "-q", "-b", "feature")
	datedCommit(t, s, "f1", 1, map[string]string{"f": "1"})
	s.Git("checkout", "-q", "main")
	for i := 0; i < 3; i++ {
		datedCommit(t, s, fmt.Sprintf("m%d", i), 2+i, map[string]string{"m": fmt.Sprint(i)})
	}
	s.Git("checkout", "-q", "feature")
	datedCommit(t, s, "f2", 6, map[string]string{"f": "2"})
	s.Git("checkout", "-q", "main")
	gitAt(t, s.Work, 7, "merge", "-q", "--no-ff", "-m", "main merges feature", "feature")
	datedCommit(t, s, "m3", 8, map[string]string{"m": "3"})
	s.Git("checkout", "-q", "feature")
	datedCommit(t, s, "f3", 9, map[string]string{"f": "3"})
	if n := s.Git("rev-list", "--count", "feature..main"); n != "5" {
		t.Fatalf("fixture: feature..main has %s commits, want 5", n)
	}
	checkBehind(t, s, []string{"feature", "main", "feature~1", "main~1", "main~2"})
}

// Two branches that merged each other have two best merge-bases; the
// answer must not depend on which one MergeBase names.
func TestBehindCrissCross(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	datedCommit(t, s, "m1", 1, map[string]string{"m": "1"})
	s.Git("checkout", "-q", "-b", "a")
	datedCommit(t, s, "a1", 2, map[string]string{"a": "1"})
	s.Git("checkout", "-q", "main")
	datedCommit(t, s, "m2", 3, map[string]string{"m": "2"})
	s.Git("checkout", "-q", "-b", "b")
	gitAt(t, s.Work, 4, "merge", "-q", "--no-ff", "-m", "b merges a", "a")
	s.Git("checkout", "-q", "a")
	gitAt(t, s.Work, 5, "merge", "-q", "--no-ff", "-m", "a merges main", "main")
	datedCommit(t, s, "a2", 6, map[string]string{"a": "2"})
	s.Git("checkout", "-q", "b")
	datedCommit(t, s, "b2", 7, map[string]string{"b": "2"})
	s.Git("checkout", "-q", "main")
	datedCommit(t, s, "m3", 8, map[string]string{"m": "3"})
	checkBehind(t, s, []string{"main", "a", "b", "a~1", "b~1", "main~1"})
}

// With every commit in the same second (the sandbox's fixed date, or a
// script's), dates cannot order anything: the answer is still git's.
func TestBehindInOneSecond(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("f1", map[string]string{"f": "1"})
	s.Git("checkout", "-q", "main")
	s.Commit("m1", map[string]string{"m": "1"})
	s.Commit("m2", map[string]string{"m": "2"})
	s.Git("merge", "-q", "--no-ff", "-m", "main merges feature", "feature")
	s.Commit("m3", map[string]string{"m": "3"})
	s.Git("checkout", "-q", "feature")
	s.Commit("f2", map[string]string{"f": "2"})
	s.Git("merge", "-q", "--no-ff", "-m", "feature merges main~1", "main~1")
	checkBehind(t, s, []string{"feature", "main", "feature~1", "main~1", "main~2"})
}

// A long feature branch that merged main midway, beside a main that went
// on: on both sides the walk runs past commits older than the merge-base.
func TestBehindLongSideBranches(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	when := 1
	tick := func() int { when++; return when }
	s.Git("checkout", "-q", "-b", "feature")
	for i := 0; i < 4; i++ {
		datedCommit(t, s, fmt.Sprintf("f%d", i), tick(), map[string]string{"feat": fmt.Sprint(i)})
	}
	s.Git("checkout", "-q", "main")
	for i := 0; i < 4; i++ {
		datedCommit(t, s, fmt.Sprintf("m%d", i), tick(), map[string]string{"m": fmt.Sprint(i)})
	}
	s.Git("checkout", "-q", "feature")
	gitAt(t, s.Work, tick(), "merge", "-q", "--no-ff", "-m", "feature merges main", "main")
	s.Git("checkout", "-q", "-b", "old", "main~3")
	for i := 0; i < 3; i++ {
		datedCommit(t, s, fmt.Sprintf("o%d", i), tick(), map[string]string{"o": fmt.Sprint(i)})
	}
	s.Git("checkout", "-q", "main")
	for i := 0; i < 2; i++ {
		datedCommit(t, s, fmt.Sprintf("n%d", i), tick(), map[string]string{"m": fmt.Sprint(i + 100)})
	}
	gitAt(t, s.Work, tick(), "merge", "-q", "--no-ff", "-m", "main merges old", "old")
	s.Git("checkout", "-q", "feature")
	datedCommit(t, s, "g0", tick(), map[string]string{"feat": "100"})
	checkBehind(t, s, []string{"main", "feature", "old", "feature~1", "main~1", "feature~2"})
}

// A tip dated before its merge-base (a skewed clock) is still behind.
func TestBehindTrustsNoClockForTheTip(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	datedCommit(t, s, "m1", 50, map[string]string{"m": "1"})
	s.Git("checkout", "-q", "-b", "feature")
	datedCommit(t, s, "f1", 51, map[string]string{"f": "1"})
	s.Git("checkout", "-q", "main")
	datedCommit(t, s, "skewed", 1, map[string]string{"m": "2"})
	r := open(t, s.Work)
	head, tip := hash(t, s.Git("rev-parse", "feature")), hash(t, s.Git("rev-parse", "main"))
	mb, _ := r.MergeBase(head, tip)
	got, err := r.Behind(head, tip, mb)
	if err != nil || len(got) != 1 || got[0].SHA != tip {
		t.Errorf("Behind = %v, %v; want the skewed tip", got, err)
	}
}

func TestRemoteOf(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"refs/remotes/origin/main":     "origin main true",
		"refs/remotes/up/release/2026": "up release/2026 true",
		"refs/remotes/origin":          "  false",
		"refs/heads/main":              "  false",
		"refs/remotes/o/":              "o  true",
	} {
		r, b, ok := git.RemoteOf(ref)
		if got := fmt.Sprintf("%s %s %v", r, b, ok); got != want {
			t.Errorf("RemoteOf(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestFetchUpdatesOnlyTheTrackingRef(t *testing.T) {
	t.Parallel()
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
	if err := r.Fetch("origin", "main"); err != nil {
		t.Fatal(err)
	}
	if got := s.Git("rev-parse", "refs/remotes/origin/main"); got != pushed {
		t.Errorf("origin/main = %s, want %s", got, pushed)
	}
	if _, err := r.Commit(hash(t, pushed)); err != nil {
		t.Errorf("the fetched commit is not readable: %v", err)
	}
	err = r.Fetch("origin", "no-such-branch")
	var fe *git.FetchError
	if !errors.As(err, &fe) || fe.Remote != "origin" || fe.Ref != "refs/heads/no-such-branch" || !strings.Contains(err.Error(), "origin") {
		t.Errorf("missing branch: err = %v", err)
	}
}
