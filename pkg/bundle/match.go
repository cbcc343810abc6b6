package bundle

import (
	"fmt"
	"slices"
	"strings"
)

// Here is the checkout a bundle is to be applied in.
type Here struct {
	Head      string
	BaseRef   string
	BaseSHA   string
	MergeBase string
	// HasCommit reports whether the repository holds a commit.
	HasCommit func(sha string) bool
	// RootCommits lists HEAD's root commits (nil: unknown, in a shallow
	// clone). Asked only when the bundle's commit is not here.
	RootCommits func() []string
	Origin      string
}

// Match refuses a bundle whose plans were not made from what is checked
// out here: another repository, another commit, another base branch or
// merge-base. The repository needs no check of its own when the commit is
// HEAD: a commit id covers all the history it descends from, whatever URL
// the clone came from. A base branch that moved on since the plan is for
// the up-to-date check, as for a plan made here.
func (m *Manifest) Match(file string, h Here) error {
	refuse := func(fix, format string, args ...any) error {
		return &MismatchError{File: file, Why: fmt.Sprintf(format, args...), Fix: fix}
	}
	if m.Head != h.Head {
		made := short(m.Head)
		if m.Branch != "" {
			made += " (" + m.Branch + ")"
		}
		switch {
		case h.HasCommit(m.Head):
			return refuse(fmt.Sprintf("check out the commit the bundle was planned at (git checkout %s) to apply it, or plan again at this commit, review, and make a new bundle", short(m.Head)),
				"HEAD moved since the plan: the bundle's plans were made at %s, HEAD is %s", made, short(h.Head))
		case otherRepository(m.Repository.RootCommits, h.RootCommits):
			return refuse("apply the bundle in a clone of the repository it was planned in",
				"the bundle was planned in another repository: its history starts at %s%s, this one's at %s%s",
				shorts(m.Repository.RootCommits), origin(m.Repository.Origin), shorts(h.RootCommits()), origin(h.Origin))
		default:
			return refuse("fetch the commit the bundle was planned at and check it out (in GitHub Actions: actions/checkout with the same ref and fetch-depth: 0), or plan again here",
				"the bundle's plans were made at %s, which this repository does not have; HEAD is %s", made, short(h.Head))
		}
	}
	if m.BaseRef != h.BaseRef {
		return refuse("compare with the same base branch in both jobs (--base, ATOLL_BASE or base: in atoll.yaml), or plan again with this one",
			"the bundle's plans compared %s with the base %s, and this apply compares with %s", short(m.Head), m.BaseRef, h.BaseRef)
	}
	if m.MergeBase != h.MergeBase {
		return refuse("fetch the base branch (git fetch), plan again, review, and make a new bundle",
			"the merge-base of HEAD and %s is %s here, but the bundle's plans were made against %s: the base branch was rewritten, or this clone sees another history of it",
			h.BaseRef, orNone(h.MergeBase), orNone(m.MergeBase))
	}
	return nil
}

// otherRepository reports whether two sets of root commits are known and
// share none.
func otherRepository(theirs []string, ours func() []string) bool {
	if len(theirs) == 0 {
		return false
	}
	mine := ours()
	if len(mine) == 0 {
		return false
	}
	for _, r := range mine {
		if slices.Contains(theirs, r) {
			return false
		}
	}
	return true
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func shorts(shas []string) string {
	var out []string
	for _, s := range shas {
		out = append(out, short(s))
	}
	return strings.Join(out, ", ")
}

func origin(o string) string {
	if o == "" {
		return ""
	}
	return " (origin " + o + ")"
}

func orNone(sha string) string {
	if sha == "" {
		return "none (a root commit)"
	}
	return short(sha)
}
