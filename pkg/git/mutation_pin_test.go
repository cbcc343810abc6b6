package git_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Pins for survivors of the guided mutation run of 2026-12-02 (issue 12):
// behaviours no other test of the package held.

// Each kind of missing base says what was asked for and what was tried: a
// CI variable's branch, an explicit ref, or none of the default names.
func TestBaseNotFoundMessages(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  git.BaseNotFoundError
		want string
	}{
		{git.BaseNotFoundError{Explicit: "main", Var: "GITHUB_BASE_REF", Tried: []string{"a", "b"}},
			`the target branch "main" (GITHUB_BASE_REF) is not in this clone (tried a, b)`},
		{git.BaseNotFoundError{Explicit: "nope", Tried: []string{"refs/heads/nope"}},
			`base ref "nope" does not exist in this repository (tried refs/heads/nope)`},
		{git.BaseNotFoundError{Tried: []string{"origin/main", "main"}},
			`no base branch found (tried origin/main, main)`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.err, got, c.want)
		}
	}
}

// The CI's diff-base commit is a fallback only: when the target branch is
// there, the comparison is with the branch, even if that commit exists.
func TestBaseHintBranchWinsOverFallback(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	rootSHA := s.Git("rev-parse", "HEAD")
	s.Git("checkout", "-q", "-b", "release")
	releaseSHA := s.Commit("release work", map[string]string{"r.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("feature work", map[string]string{"b.tf": ""})
	r := open(t, s.Work)
	r.BaseHint = &git.BaseHint{Branch: "release", Var: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", Fallback: hash(t, rootSHA)}
	cmp, err := r.ResolveBase("")
	if err != nil || cmp.Rule != git.RuleCI || cmp.Base.Name != "refs/heads/release" || cmp.MergeBase.String() != releaseSHA {
		t.Errorf("branch and fallback: %+v, %v", cmp, err)
	}
}

// A failed fetch carries git's own message, on one line, not the exit
// status of the git process.
func TestFetchErrorIsGitsMessage(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	err := open(t, s.Work).Fetch("origin", "no-such-branch")
	var fe *git.FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Fetch = %v, want a *git.FetchError", err)
	}
	msg := fe.Err.Error()
	if !strings.HasPrefix(msg, "fatal: ") || !strings.Contains(msg, "no-such-branch") || strings.Contains(msg, "\n") || strings.Contains(msg, "exit status") {
		t.Errorf("FetchError.Err = %q, want git's fatal message on one line", msg)
	}
}
