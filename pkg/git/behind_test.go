package git_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Behind agrees with git rev-list head..tip, on dated history with a merge
// on each side and commits made in the merge-base's own second.
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
	r := open(t, s.Work)
	for _, pair := range [][2]string{{"feature", "main"}, {"main", "feature"}, {"main", "main"}, {"feature", "side"}, {"side", "side"}} {
		head, tip := hash(t, s.Git("rev-parse", pair[0])), hash(t, s.Git("rev-parse", pair[1]))
		mb, err := r.MergeBase(head, tip)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Behind(head, tip, mb)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, h := range strings.Fields(s.Git("rev-list", pair[0]+".."+pair[1])) {
			want[h] = true
		}
		have := map[string]bool{}
		for _, c := range got {
			have[c.SHA.String()] = true
		}
		if fmt.Sprint(have) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("Behind(%s, %s) = %d commits %v, git rev-list says %d %v", pair[0], pair[1], len(got), have, len(want), want)
		}
		if len(got) > 0 && got[0].SHA != tip {
			t.Errorf("Behind(%s, %s) does not start at the tip", pair[0], pair[1])
		}
	}
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
	if _, err := sandbox.Git(other, "push", "-q", "origin", "HEAD:main"); err != nil {
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
