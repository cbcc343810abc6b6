package git

import (
	"fmt"
	"strings"
)

// Base rules, in the order they are tried.
const (
	RuleExplicit    = "explicit"     // --base, ATOLL_BASE or atoll.yaml
	RuleOriginHead  = "origin-head"  // refs/remotes/origin/HEAD
	RuleOrigin      = "origin"       // origin/main, then origin/master
	RuleLocal       = "local"        // main, then master
	RuleFirstParent = "first-parent" // HEAD is the base tip: compare with HEAD^
	RuleCI          = "ci"           // the pull request's target, named by the CI (BaseHint)
	RuleCIDiffBase  = "ci-diff-base" // the CI's merge-base commit, the target branch not fetched
)

// BaseHint is a base named by the environment rather than the user.
type BaseHint struct {
	// Branch is the target branch's name (main); origin/<Branch> is
	// preferred to a local branch of that name, which may be stale.
	Branch string
	// Var names the variable that gave it, for messages.
	Var string
	// Fallback, when set, is the commit compared with when the branch
	// is in neither form (GitLab's merge-base of the merge request).
	Fallback Hash
}

// Comparison is what a branch is compared against and how that was chosen.
type Comparison struct {
	Head Head
	// Base is the base ref as resolved.
	Base Ref
	// Rule is the rule that chose Base.
	Rule string
	// Tried lists the refs looked at, in order, for messages.
	Tried []string
	// MergeBase is the commit the diff starts from: merge-base(HEAD, base),
	// or HEAD's first parent when HEAD is the base tip (the zero hash for a
	// root commit: everything is new).
	MergeBase Hash
}

// BaseNotFoundError says no base ref could be resolved.
type BaseNotFoundError struct {
	Explicit string
	// Var names the CI variable that gave Explicit (BaseHint).
	Var   string
	Tried []string
}

func (e *BaseNotFoundError) Error() string {
	if e.Var != "" {
		return fmt.Sprintf("the target branch %q (%s) is not in this clone (tried %s)", e.Explicit, e.Var, strings.Join(e.Tried, ", "))
	}
	if e.Explicit != "" {
		return fmt.Sprintf("base ref %q does not exist in this repository (tried %s)", e.Explicit, strings.Join(e.Tried, ", "))
	}
	return fmt.Sprintf("no base branch found (tried %s)", strings.Join(e.Tried, ", "))
}

// ResolveBase finds the base to compare HEAD with: the explicit ref when
// given, else the remote's default branch, origin/main, origin/master, then
// local main and master. It never guesses beyond that list.
func (r *Repo) ResolveBase(explicit string) (Comparison, error) {
	head, err := r.Head()
	if err != nil {
		return Comparison{}, err
	}
	return r.ResolveBaseAt(head, explicit)
}

// ResolveBaseAt is ResolveBase for another commit than HEAD (a commit
// being merged or pushed, in hooks).
func (r *Repo) ResolveBaseAt(head Head, explicit string) (Comparison, error) {
	cmp := Comparison{Head: head}
	found := false
	if explicit != "" {
		cmp.Tried = []string{explicit}
		ref, ok, err := r.ResolveRevision(explicit)
		if err != nil {
			return cmp, err
		}
		if !ok {
			return cmp, &BaseNotFoundError{Explicit: explicit, Tried: []string{explicit, "refs/heads/" + explicit, "refs/remotes/" + explicit, "refs/remotes/origin/" + explicit, "refs/tags/" + explicit}}
		}
		cmp.Base, cmp.Rule, found = ref, RuleExplicit, true
	} else if h := r.BaseHint; h != nil {
		for _, full := range []string{"refs/remotes/origin/" + h.Branch, "refs/heads/" + h.Branch} {
			cmp.Tried = append(cmp.Tried, full)
			ref, ok, err := r.ResolveRef(full)
			if err != nil {
				return cmp, err
			}
			if ok {
				cmp.Base, cmp.Rule, found = ref, RuleCI, true
				break
			}
		}
		if !found && !h.Fallback.IsZero() && r.hasObject(h.Fallback) {
			cmp.Tried = append(cmp.Tried, h.Fallback.String())
			cmp.Base, cmp.Rule, found = Ref{Name: h.Fallback.String(), SHA: h.Fallback}, RuleCIDiffBase, true
		}
		if !found {
			return cmp, &BaseNotFoundError{Explicit: h.Branch, Var: h.Var, Tried: cmp.Tried}
		}
	} else {
		candidates := []struct{ ref, rule string }{
			{"refs/remotes/origin/HEAD", RuleOriginHead},
			{"refs/remotes/origin/main", RuleOrigin},
			{"refs/remotes/origin/master", RuleOrigin},
			{"refs/heads/main", RuleLocal},
			{"refs/heads/master", RuleLocal},
		}
		for _, c := range candidates {
			cmp.Tried = append(cmp.Tried, c.ref)
			ref, ok, err := r.ResolveRef(c.ref)
			if err != nil {
				return cmp, err
			}
			if !ok {
				continue
			}
			if c.rule == RuleOriginHead {
				if t, ok := r.SymbolicTarget(c.ref); ok {
					ref.Name = t
				}
			}
			cmp.Base, cmp.Rule, found = ref, c.rule, true
			break
		}
		if !found {
			return cmp, &BaseNotFoundError{Tried: cmp.Tried}
		}
	}

	if cmp.Base.SHA == head.SHA && (head.Branch == "" || head.Branch == branchName(cmp.Base.Name)) {
		// On the base branch itself (or a detached checkout of its tip, as
		// CI builds a push to main): what did the last commit change? A new
		// branch that has no commits of its own yet changes nothing.
		c, err := r.Commit(head.SHA)
		if err != nil {
			return cmp, err
		}
		cmp.Rule = RuleFirstParent
		if len(c.Parents) > 0 {
			cmp.MergeBase = c.Parents[0]
			if r.IsShallow() && !r.hasObject(cmp.MergeBase) {
				return cmp, &ShallowError{Missing: cmp.MergeBase, Need: "to compare HEAD with its first parent"}
			}
		}
		return cmp, nil
	}
	mb, err := r.cachedMergeBase(head.SHA, cmp.Base.SHA)
	if err != nil {
		return cmp, err
	}
	cmp.MergeBase = mb
	return cmp, nil
}

// branchName is the branch a ref names: refs/heads/main and
// refs/remotes/origin/main are both "main".
func branchName(ref string) string {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	if r, ok := strings.CutPrefix(ref, "refs/remotes/"); ok {
		if _, b, ok := strings.Cut(r, "/"); ok {
			return b
		}
	}
	return ""
}

// MergeBaseCache remembers merge-bases; a pair of commits has the same
// merge-base forever, so an entry can never be stale.
type MergeBaseCache interface {
	MergeBase(a, b Hash) (Hash, bool)
	SetMergeBase(a, b, mb Hash)
}

// PeelCache memoises which commit an object peels to: a commit to itself,
// an annotated tag to the commit it names. Objects never change, so
// neither does the answer; a warm run that names its base by hash is then
// answered without reading the pack index, which for a repository of a
// few thousand commits is most of the run.
type PeelCache interface {
	Peeled(h Hash) (Hash, bool)
	SetPeeled(h, commit Hash)
}

func (r *Repo) cachedMergeBase(a, b Hash) (Hash, error) {
	if r.MergeBases != nil {
		if mb, ok := r.MergeBases.MergeBase(a, b); ok {
			return mb, nil
		}
	}
	mb, err := r.MergeBase(a, b)
	if err == nil && r.MergeBases != nil {
		r.MergeBases.SetMergeBase(a, b, mb)
	}
	return mb, err
}
