package git

import (
	"container/heap"
	"errors"
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
// In a shallow clone a walk that needs a missing commit fails with
// *ShallowError instead of answering from partial history.
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
	if err := push(a, fromOne); err != nil {
		return Hash{}, err
	}
	if err := push(b, fromTwo); err != nil {
		return Hash{}, err
	}
	var found []Hash
	isResult := map[Hash]bool{}
	for q.hasNonStale(flags) {
		c := heap.Pop(&q).(queued).c
		f := flags[c.SHA] & (fromOne | fromTwo | stale)
		if f == fromOne|fromTwo {
			if !isResult[c.SHA] {
				isResult[c.SHA] = true
				found = append(found, c.SHA)
			}
			// Everything below a common ancestor is a worse answer.
			f |= stale
		}
		for _, p := range c.Parents {
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
	for _, h := range found {
		if flags[h]&stale == 0 {
			return h, nil
		}
	}
	return Hash{}, ErrUnrelated
}

type queued struct{ c Commit }

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
