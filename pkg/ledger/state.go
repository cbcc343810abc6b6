package ledger

import (
	"fmt"
	"time"
)

// State is where a lock is in its lifetime.
type State string

const (
	// Held: the holder's change is not on the base branch yet.
	Held State = "held"
	// Stale: the holder's change is on the base branch (merged by any
	// method), or its branch is gone without having applied anything:
	// any atoll command that meets it may release it.
	Stale State = "stale"
	// Orphaned: the holder's branch is gone, unmerged, after an apply:
	// production holds a change the base does not have. It keeps
	// blocking until the project is applied from the base again or
	// someone unlocks it with --force REASON.
	Orphaned State = "orphaned"
)

// Facts are what git knows about a lock's holder; the caller finds them.
type Facts struct {
	// BranchExists: the holder's branch still exists on the remote.
	BranchExists bool
	// Merged: the holder's change is on the base branch: its head is an
	// ancestor of the base's tip, or the project's inputs at the base's
	// tip equal the inputs the holder locked or applied (squash, rebase).
	Merged bool
	// AppliedByHolder: the ledger holds an apply from the holder's branch
	// since the lock was taken.
	AppliedByHolder bool
	// RestoredFromBase: the project's latest apply since the lock was
	// made from a commit of the base branch (main == production again).
	RestoredFromBase bool
}

// Verdict is a lock's state, why, and what to do about it.
type Verdict struct {
	State State  `json:"state"`
	Why   string `json:"why"`
	Do    string `json:"do"`
}

// Classify decides a lock's state from the facts.
func Classify(l *Lock, base string, f Facts) Verdict {
	switch {
	case f.Merged:
		return Verdict{Stale, fmt.Sprintf("branch %s is merged into %s", l.Branch, base), "released by the next atoll command, or now: atoll locks prune"}
	case !f.BranchExists && f.RestoredFromBase:
		return Verdict{Stale, fmt.Sprintf("branch %s is gone and the project was applied from %s since", l.Branch, base), "released by the next atoll command, or now: atoll locks prune"}
	case !f.BranchExists && !f.AppliedByHolder:
		return Verdict{Stale, fmt.Sprintf("branch %s is gone and never applied", l.Branch), "released by the next atoll command, or now: atoll locks prune"}
	case !f.BranchExists:
		return Verdict{Orphaned, fmt.Sprintf("branch %s was deleted unmerged after applying: production holds a change %s does not have", l.Branch, base),
			fmt.Sprintf("apply the project from %s again (main == production), or atoll unlock --force REASON %s", base, l.Dir)}
	}
	return Verdict{Held, fmt.Sprintf("held by branch %s", l.Branch), fmt.Sprintf("released when %s is merged into %s, or by atoll unlock on that branch", l.Branch, base)}
}

// Age renders how long ago t was, coarsely.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
