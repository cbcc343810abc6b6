package git

import (
	"container/heap"
	"errors"
	"math"
)

// ErrUnrelated is returned by MergeBase when two commits share no history.
var ErrUnrelated = errors.New("the commits share no history (unrelated histories)")

const (
	fromOne = 1 << iota
	fromTwo
	stale
)

// MergeBase returns the best common ancestor of a and b, walking history
// newest-first and stopping as soon as every open path is known to lead to a
// common ancestor (git's paint-down), so a branch a few commits off its base
// reads a few commits, not the whole history.
//
// In a shallow clone the walk stops at the boundary commits (.git/shallow),
// whose parents are not in the clone: a missing parent waits at the bottom
// of the queue, and the walk fails with *ShallowError only when the answer
// depends on what lies below (see answerNeedsMissing).
func (r *Repo) MergeBase(a, b Hash) (Hash, error) {
	if a == b {
		return a, nil
	}
	flags := map[Hash]int{}
	commits := map[Hash]Commit{}
	var q commitQueue
	push := func(h Hash, f int) error {
		c, ok := commits[h]
		if !ok {
			var err error
			if c, err = r.Commit(h); err != nil {
				return err
			}
			commits[h] = c
		}
		heap.Push(&q, queued{c: c})
		flags[h] |= f
		return nil
	}
	// pushMissing queues a parent cut off by the shallow boundary, after
	// every commit that is present.
	pushMissing := func(h Hash) {
		if _, ok := commits[h]; !ok {
			commits[h] = Commit{SHA: h, When: math.MinInt64}
		}
		heap.Push(&q, queued{c: commits[h], missing: true})
	}
	if err := push(a, fromOne); err != nil {
		return Hash{}, err
	}
	if err := push(b, fromTwo); err != nil {
		return Hash{}, err
	}
	var found []Hash
	isResult := map[Hash]bool{}
	cut := false
	for q.hasNonStale(flags) {
		e := heap.Pop(&q).(queued)
		c := e.c
		f := flags[c.SHA] & (fromOne | fromTwo | stale)
		if e.missing {
			continue
		}
		if f == fromOne|fromTwo {
			if !isResult[c.SHA] {
				isResult[c.SHA] = true
				found = append(found, c.SHA)
			}
			// Everything below a common ancestor is a worse answer.
			f |= stale
		}
		parents, missing, err := r.knownParents(c)
		if err != nil {
			return Hash{}, err
		}
		for _, p := range missing {
			if flags[p]&f == f {
				continue
			}
			flags[p] |= f
			cut = true
			pushMissing(p)
		}
		for _, p := range parents {
			if flags[p]&f == f {
				continue
			}
			flags[p] |= f
			if err := push(p, 0); err != nil {
				return Hash{}, err
			}
		}
	}
	// A result reached later from a better result is stale: drop it.
	var best []Hash
	for _, h := range found {
		if flags[h]&stale == 0 {
			best = append(best, h)
		}
	}
	if cut {
		if h, ok := answerNeedsMissing(best, flags, commits); ok {
			return Hash{}, &ShallowError{Missing: h}
		}
	}
	if len(best) == 0 {
		return Hash{}, ErrUnrelated
	}
	return best[0], nil
}

// answerNeedsMissing decides, after a walk that ran into the shallow
// boundary, whether the history beyond it could change the answer, and
// names a missing commit for the message. History below the boundary is
// taken to be the boundary's own (what git assumes too), so it matters
// when both sides run on into it unmet (they may meet there), when a
// missing commit is reached from both sides, or when several candidates
// are left that it could order.
func answerNeedsMissing(best []Hash, flags map[Hash]int, commits map[Hash]Commit) (Hash, bool) {
	var one, two, both []Hash
	for h, c := range commits {
		f := flags[h]
		if c.When != math.MinInt64 || f&stale != 0 {
			continue
		}
		switch f & (fromOne | fromTwo) {
		case fromOne:
			one = append(one, h)
		case fromTwo:
			two = append(two, h)
		case fromOne | fromTwo:
			both = append(both, h)
		}
	}
	first := func(hs ...[]Hash) Hash {
		var out Hash
		for _, l := range hs {
			for _, h := range l {
				if out.IsZero() || string(h[:]) < string(out[:]) {
					out = h
				}
			}
		}
		return out
	}
	if len(both) > 0 {
		return first(both), true
	}
	if len(one) > 0 && len(two) > 0 {
		return first(one, two), true
	}
	if len(best) == 0 && len(one)+len(two) > 0 {
		return first(one, two), true
	}
	if len(best) > 1 {
		var all []Hash
		for h, c := range commits {
			if c.When == math.MinInt64 {
				all = append(all, h)
			}
		}
		return first(all), true
	}
	return Hash{}, false
}

// knownParents splits c's parents into those the walk can read and those
// the shallow boundary cut off (c is in .git/shallow and the parent is not
// in the clone). A parent missing anywhere else is an error, as before.
func (r *Repo) knownParents(c Commit) (present, missing []Hash, err error) {
	if !r.isBoundary(c.SHA) {
		return c.Parents, nil, nil
	}
	for _, p := range c.Parents {
		if r.hasObject(p) {
			present = append(present, p)
		} else {
			missing = append(missing, p)
		}
	}
	return present, missing, nil
}

type queued struct {
	c Commit
	// missing marks a parent beyond the shallow boundary.
	missing bool
}

type commitQueue []queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	if q[i].c.When != q[j].c.When {
		return q[i].c.When > q[j].c.When
	}
	return string(q[i].c.SHA[:]) < string(q[j].c.SHA[:])
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// all reports whether every queued commit is in set.
func (q commitQueue) all(set map[Hash]bool) bool {
	for _, e := range q {
		if !set[e.c.SHA] {
			return false
		}
	}
	return true
}

func (q commitQueue) hasNonStale(flags map[Hash]int) bool {
	for _, e := range q {
		if flags[e.c.SHA]&stale == 0 {
			return true
		}
	}
	return false
}

// IsAncestor reports whether a is an ancestor of (or equal to) b.
func (r *Repo) IsAncestor(a, b Hash) (bool, error) {
	mb, err := r.MergeBase(a, b)
	if errors.Is(err, ErrUnrelated) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return mb == a, nil
}
