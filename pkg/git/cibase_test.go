package git_test

import (
	"errors"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// A base the CI names is tried as origin/<branch>, then <branch>, then the
// fallback commit; an explicit base wins over it.
func TestBaseHint(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	mainSHA := s.Git("rev-parse", "HEAD")
	s.Git("checkout", "-q", "-b", "release")
	releaseSHA := s.Commit("release work", map[string]string{"r.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("feature work", map[string]string{"b.tf": ""})

	resolve := func(h *git.BaseHint, explicit string) (git.Comparison, error) {
		r := open(t, s.Work)
		r.BaseHint = h
		return r.ResolveBase(explicit)
	}
	// Local release only (never pushed).
	cmp, err := resolve(&git.BaseHint{Branch: "release", Var: "GITHUB_BASE_REF"}, "")
	if err != nil || cmp.Rule != git.RuleCI || cmp.Base.Name != "refs/heads/release" || cmp.MergeBase.String() != releaseSHA {
		t.Errorf("local target: %+v, %v", cmp, err)
	}
	// The CI's diff-base commit is a fallback only: with the target branch
	// there, the comparison is with the branch, even if that commit exists.
	cmp, err = resolve(&git.BaseHint{Branch: "release", Var: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", Fallback: hash(t, mainSHA)}, "")
	if err != nil || cmp.Rule != git.RuleCI || cmp.Base.Name != "refs/heads/release" || cmp.MergeBase.String() != releaseSHA {
		t.Errorf("branch and fallback: %+v, %v", cmp, err)
	}
	// origin/main is preferred to a stale local main.
	s.Git("branch", "-f", "main", "HEAD")
	cmp, err = resolve(&git.BaseHint{Branch: "main"}, "")
	if err != nil || cmp.Base.Name != "refs/remotes/origin/main" || cmp.MergeBase.String() != mainSHA {
		t.Errorf("remote target: %+v, %v", cmp, err)
	}
	// An explicit base wins.
	cmp, err = resolve(&git.BaseHint{Branch: "main"}, "release")
	if err != nil || cmp.Rule != git.RuleExplicit {
		t.Errorf("explicit: %+v, %v", cmp, err)
	}
	// Missing: the fallback commit when present, else an error naming the variable.
	cmp, err = resolve(&git.BaseHint{Branch: "nope", Var: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", Fallback: hash(t, mainSHA)}, "")
	if err != nil || cmp.Rule != git.RuleCIDiffBase || cmp.MergeBase.String() != mainSHA {
		t.Errorf("fallback: %+v, %v", cmp, err)
	}
	_, err = resolve(&git.BaseHint{Branch: "nope", Var: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", Fallback: hash(t, "1234567890123456789012345678901234567890")}, "")
	var nf *git.BaseNotFoundError
	if !errors.As(err, &nf) || nf.Var != "CI_MERGE_REQUEST_TARGET_BRANCH_NAME" || err.Error() != `the target branch "nope" (CI_MERGE_REQUEST_TARGET_BRANCH_NAME) is not in this clone (tried refs/remotes/origin/nope, refs/heads/nope)` {
		t.Errorf("missing: %v", err)
	}
}

// SetHead makes Head (and so ResolveBase) answer another commit.
func TestSetHead(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	tip := s.Commit("feature work", map[string]string{"b.tf": ""})
	s.Git("checkout", "-q", "--detach", "main")
	s.Git("merge", "-q", "--no-ff", "-m", "merge", "feature")
	r := open(t, s.Work)
	merge, _ := r.Head()
	r.SetHead(git.Head{SHA: hash(t, tip), MergeCommit: merge.SHA})
	cmp, err := r.ResolveBase("")
	if err != nil || cmp.Head.SHA.String() != tip || cmp.Head.MergeCommit != merge.SHA {
		t.Errorf("%+v, %v", cmp, err)
	}
}
