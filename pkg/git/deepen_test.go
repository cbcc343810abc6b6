package git_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
)

// TestDeepenFetchesWholeHistory: Deepen turns a depth-1 clone into a full
// one and fetches each named ref into the remote-tracking name a CI's
// checkout uses (refs/heads/x to refs/remotes/origin/x, refs/pull/1/merge
// to refs/remotes/pull/1/merge); HasObject and HasCommit see the commits
// only once they are there.
func TestDeepenFetchesWholeHistory(t *testing.T) {
	t.Parallel()
	s := history(t, 5)
	old := hash(t, s.Git("rev-parse", "HEAD~3"))
	s.Git("checkout", "-q", "-b", "feature")
	feature := hash(t, s.Commit("feature", map[string]string{"f": "1"}))
	s.Push("feature")
	gitIn(t, s.Origin, "update-ref", "refs/pull/1/merge", feature.String())

	dir := shallowClone(t, s, 1)
	r := open(t, dir)
	if !r.IsShallow() {
		t.Fatal("the depth-1 clone is not shallow")
	}
	if r.HasObject(old) || r.HasCommit(old) {
		t.Errorf("%s is in a depth-1 clone", old.Short())
	}
	if r.HasObject(feature) {
		t.Errorf("feature's tip is in the clone before the fetch")
	}
	if err := r.Deepen(context.Background(), "origin", []string{"refs/heads/feature", "refs/pull/1/merge"}); err != nil {
		t.Fatal(err)
	}
	r = open(t, dir)
	if r.IsShallow() {
		t.Error("still shallow after Deepen")
	}
	if !r.HasObject(old) || !r.HasCommit(old) {
		t.Errorf("%s is missing after Deepen", old.Short())
	}
	for ref, want := range map[string]git.Hash{"refs/remotes/origin/feature": feature, "refs/remotes/pull/1/merge": feature} {
		if got := gitIn(t, dir, "rev-parse", "--verify", "-q", ref); got != want.String() {
			t.Errorf("%s = %q, want %s", ref, got, want)
		}
	}
	// A tree is an object but not a commit.
	tree := hash(t, gitIn(t, dir, "rev-parse", "HEAD^{tree}"))
	if !r.HasObject(tree) || r.HasCommit(tree) {
		t.Errorf("tree %s: HasObject %v, HasCommit %v; want true, false", tree.Short(), r.HasObject(tree), r.HasCommit(tree))
	}
	// Deepening a full clone still fetches (no --unshallow, which git
	// refuses on a complete repository).
	gitIn(t, s.Origin, "update-ref", "refs/pull/2/merge", old.String())
	if err := r.Deepen(context.Background(), "origin", []string{"refs/pull/2/merge"}); err != nil {
		t.Fatalf("Deepen of a complete clone: %v", err)
	}
	if got := gitIn(t, dir, "rev-parse", "--verify", "-q", "refs/remotes/pull/2/merge"); got != old.String() {
		t.Errorf("refs/remotes/pull/2/merge = %q, want %s", got, old)
	}
	// A ref the remote does not have is an error that names it.
	err := r.Deepen(context.Background(), "origin", []string{"refs/heads/nothing"})
	if err == nil || !strings.Contains(err.Error(), "refs/heads/nothing") {
		t.Errorf("Deepen of a missing ref: %v", err)
	}
}

// TestRemoteIdentityAndIsAncestor: the remote's normalised URL, "" for a
// remote that does not exist; ancestry in both directions and for
// unrelated histories.
func TestRemoteIdentityAndIsAncestor(t *testing.T) {
	t.Parallel()
	s := history(t, 3)
	r := open(t, s.Work)
	if got, want := r.RemoteIdentity("origin"), strings.TrimSuffix(filepath.Clean(s.Origin), ".git"); got != want {
		t.Errorf("RemoteIdentity(origin) = %q, want %q", got, want)
	}
	if got := r.RemoteIdentity("nope"); got != "" {
		t.Errorf("RemoteIdentity(nope) = %q, want empty", got)
	}
	head, first := hash(t, s.Git("rev-parse", "HEAD")), hash(t, s.Git("rev-parse", "HEAD~2"))
	s.Git("checkout", "-q", "--orphan", "alone")
	alone := hash(t, s.Commit("alone", map[string]string{"x": "1"}))
	r = open(t, s.Work)
	for _, tc := range []struct {
		a, b git.Hash
		want bool
	}{{first, head, true}, {head, first, false}, {head, head, true}, {alone, head, false}, {head, alone, false}} {
		got, err := r.IsAncestor(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("IsAncestor(%s, %s) = %v, %v; want %v", tc.a.Short(), tc.b.Short(), got, err, tc.want)
		}
	}
}
