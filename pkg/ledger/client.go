package ledger

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Update is one compare-and-swap of a ref: Old "" means the ref must not
// exist, New "" deletes it.
type Update struct{ Ref, Old, New string }

// Pending is a ledger entry that could not be pushed, kept locally.
type Pending struct {
	Name string
	Data []byte
}

// Store reads and writes atoll's refs. pkg/git implements it over a git
// remote (or, with none, the local repository). Update applies all its
// updates or none, and fails with an error wrapping ErrConflict when a
// ref did not hold its expected old value.
type Store interface {
	// Where names the store in messages: "origin (file:///srv/infra.git)".
	Where() string
	// Fetch reads refs/atoll/* from the remote (objects included) and the
	// remote's branch names.
	Fetch(ctx context.Context) (refs map[string]string, branches map[string]bool, err error)
	// Cached returns refs/atoll/* as last fetched, without the network.
	Cached() (map[string]string, error)
	// Read returns an object written by Write.
	Read(id string) (data []byte, parents []string, err error)
	// Write stores data as a commit with the given parents.
	Write(data []byte, parents []string, message string) (string, error)
	Update(ctx context.Context, updates []Update) error
	SavePending(p Pending) error
	Pending() ([]Pending, error)
	DropPending(name string) error
}

// ErrConflict says a ref on the remote no longer holds the value read.
var ErrConflict = errors.New("the remote's ref changed since it was read")

// RemoteError says the store could not be read or written: the remote is
// unreachable, refused the credentials or rejected the push. Recorded
// says what was (and was not) recorded.
type RemoteError struct {
	Op       string
	Where    string
	Err      error
	Recorded string
}

func (e *RemoteError) Error() string {
	s := fmt.Sprintf("could not %s on %s: %v", e.Op, e.Where, e.Err)
	if e.Recorded != "" {
		s += "; " + e.Recorded
	}
	return s
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Client applies the lock and ledger rules over a Store.
type Client struct {
	Store Store
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Warn receives loud messages (pending entries kept or pushed).
	Warn func(string)
	// attempts bounds the retries of a lost compare-and-swap.
	attempts int
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) warn(format string, args ...any) {
	if c.Warn != nil {
		c.Warn(fmt.Sprintf(format, args...))
	}
}

func (c *Client) maxAttempts() int {
	if c.attempts > 0 {
		return c.attempts
	}
	return 100
}

// HeldLock is a lock as found on the remote.
type HeldLock struct {
	ID   string `json:"id"`
	Ref  string `json:"ref"`
	Lock *Lock  `json:"lock"`
}

// Snapshot is the remote's refs/atoll/* at one moment.
type Snapshot struct {
	Where    string
	Refs     map[string]string
	Branches map[string]bool
	c        *Client
	mu       sync.Mutex
	locks    map[string]*HeldLock
}

// Load fetches the remote's refs, after pushing any pending entries.
func (c *Client) Load(ctx context.Context) (*Snapshot, error) {
	c.flushPending(ctx)
	return c.fetch(ctx)
}

func (c *Client) fetch(ctx context.Context) (*Snapshot, error) {
	refs, branches, err := c.Store.Fetch(ctx)
	if err != nil {
		return nil, &RemoteError{Op: "read locks and ledger", Where: c.Store.Where(), Err: err}
	}
	return &Snapshot{Where: c.Store.Where(), Refs: refs, Branches: branches, c: c, locks: map[string]*HeldLock{}}, nil
}

// Lock returns the lock of a key, nil when there is none.
func (s *Snapshot) Lock(key string) (*HeldLock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.locks[key]; ok {
		return h, nil
	}
	ref := LockRef(key)
	id, ok := s.Refs[ref]
	if !ok {
		s.locks[key] = nil
		return nil, nil
	}
	data, _, err := s.c.Store.Read(id)
	if err != nil {
		return nil, &FormatError{Ref: ref, ID: id, Err: err}
	}
	l, err := parseLock(ref, id, data)
	if err != nil {
		return nil, err
	}
	h := &HeldLock{ID: id, Ref: ref, Lock: l}
	s.locks[key] = h
	return h, nil
}

// Locks returns every lock, sorted by project directory.
func (s *Snapshot) Locks() ([]*HeldLock, error) {
	var out []*HeldLock
	for ref := range s.Refs {
		key, ok := strings.CutPrefix(ref, LocksPrefix)
		if !ok {
			continue
		}
		h, err := s.Lock(key)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// Keys lists the keys that have a ledger.
func (s *Snapshot) Keys() []string {
	var out []string
	for ref := range s.Refs {
		if key, ok := strings.CutPrefix(ref, LedgerPrefix); ok {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// Stored is a ledger entry with its commit id.
type Stored struct {
	ID    string `json:"id"`
	Entry *Entry `json:"entry"`
}

// History walks a key's ledger from its tip, newest first, at most n
// entries (n <= 0: all).
func (s *Snapshot) History(key string, n int) ([]Stored, error) {
	ref := LedgerRef(key)
	id, ok := s.Refs[ref]
	var out []Stored
	for ok && (n <= 0 || len(out) < n) {
		data, parents, err := s.c.Store.Read(id)
		if err != nil {
			return nil, &FormatError{Ref: ref, ID: id, Err: err}
		}
		e, err := parseEntry(ref, id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, Stored{ID: id, Entry: e})
		if len(parents) == 0 {
			break
		}
		id = parents[0]
	}
	return out, nil
}

// Latest is the newest entry of a key that records an apply (unlocks
// skipped), nil when there is none.
func (s *Snapshot) Latest(key string) (*Stored, error) {
	hist, err := s.History(key, 0)
	if err != nil {
		return nil, err
	}
	for i := range hist {
		if hist[i].Entry.Apply() {
			return &hist[i], nil
		}
	}
	return nil, nil
}

// backoff waits a random while, longer with each lost race, so that many
// writers of one ref do not retry in lockstep.
func backoff(ctx context.Context, attempt int) {
	limit := backoffLimit(attempt)
	if limit <= 0 {
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	d := time.Duration(binary.LittleEndian.Uint64(b[:]) % uint64(limit))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// backoffLimit bounds the wait before an attempt: none before the first,
// 30ms more for each lost race, never more than a second.
func backoffLimit(attempt int) time.Duration {
	return min(time.Duration(attempt)*30*time.Millisecond, time.Second)
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Client) writeLock(l *Lock) (string, error) {
	l.Format, l.Kind = FormatVersion, "lock"
	if l.Nonce == "" {
		l.Nonce = nonce()
	}
	b, err := marshal(l)
	if err != nil {
		return "", err
	}
	return c.Store.Write(b, nil, "atoll lock "+l.Dir+" ("+l.Branch+")")
}

func (c *Client) writeEntry(e *Entry, parent string) (string, error) {
	b, err := marshal(e)
	if err != nil {
		return "", err
	}
	var parents []string
	if parent != "" {
		parents = []string{parent}
	}
	return c.Store.Write(b, parents, "atoll "+e.Result+" "+e.Dir+" at "+short(e.Head))
}

// Blocked is a lock held by another branch, with its verdict.
type Blocked struct {
	Held    *HeldLock
	Verdict Verdict
}

// LockedError says locks are held by other branches.
type LockedError struct {
	Blocked []Blocked
	Now     time.Time
}

func (e *LockedError) Error() string {
	var lines []string
	for _, b := range e.Blocked {
		l := b.Held.Lock
		what := "locked"
		if b.Verdict.State == Orphaned {
			what = "locked (orphaned)"
		}
		lines = append(lines, fmt.Sprintf("%s is %s by branch %s (%s), held by %s for %s: %s",
			l.Dir, what, l.Branch, short(l.Head), l.Who, Age(e.Now, l.Time), b.Verdict.Do))
	}
	return strings.Join(lines, "\n")
}

// Classifier decides the state of a lock held by another branch.
type Classifier func(h *HeldLock, snap *Snapshot) (Verdict, error)

// Acquired says what Acquire did for each lock asked for.
type Acquired struct {
	Taken    []*Lock     // newly taken
	Already  []*HeldLock // held by the same branch already: nothing done
	Released []*HeldLock // stale locks released to take them
}

// Acquire takes the locks of want, all or none, in one atomic push. A
// lock the same branch holds is left as it is; a stale lock is replaced;
// a lock held (or orphaned) by another branch fails the whole call with
// a LockedError.
func (c *Client) Acquire(ctx context.Context, want []*Lock, classify Classifier) (*Acquired, error) {
	c.flushPending(ctx)
	// First try on the refs as last fetched: when none of the locks
	// exists, a push that must create them all decides with one round
	// trip. Anything else is decided on a fresh read.
	if cached, err := c.Store.Cached(); err == nil {
		free := true
		for _, l := range want {
			if _, ok := cached[LockRef(l.Key())]; ok {
				free = false
			}
		}
		if free {
			var ups []Update
			for _, l := range want {
				id, err := c.writeLock(l)
				if err != nil {
					return nil, err
				}
				ups = append(ups, Update{Ref: LockRef(l.Key()), New: id})
			}
			err := c.Store.Update(ctx, ups)
			if err == nil {
				return &Acquired{Taken: want}, nil
			}
			if !errors.Is(err, ErrConflict) {
				return nil, &RemoteError{Op: "take the locks", Where: c.Store.Where(), Err: err, Recorded: "no lock was taken"}
			}
		}
	}
	return c.acquire(ctx, nil, want, classify)
}

// Acquire is Client.Acquire decided first on this snapshot, which Load
// read a moment ago (and the guard judged), instead of on a new read of
// the remote: one round trip less. A lock that changed since is met by
// the push's compare-and-swap, and then the remote is read again.
func (s *Snapshot) Acquire(ctx context.Context, want []*Lock, classify Classifier) (*Acquired, error) {
	return s.c.acquire(ctx, s, want, classify)
}

func (c *Client) acquire(ctx context.Context, first *Snapshot, want []*Lock, classify Classifier) (*Acquired, error) {
	var res *Acquired
	err := c.update(ctx, first, "take the locks", "no lock was taken", func(snap *Snapshot) ([]Update, error) {
		res = &Acquired{}
		var ups []Update
		var blocked []Blocked
		for _, l := range want {
			cur, err := snap.Lock(l.Key())
			if err != nil {
				return nil, err
			}
			if cur != nil && cur.Lock.Branch == l.Branch {
				res.Already = append(res.Already, cur)
				continue
			}
			old := ""
			if cur != nil {
				v, err := classify(cur, snap)
				if err != nil {
					return nil, err
				}
				if v.State != Stale {
					blocked = append(blocked, Blocked{Held: cur, Verdict: v})
					continue
				}
				old = cur.ID
				res.Released = append(res.Released, cur)
			}
			id, err := c.writeLock(l)
			if err != nil {
				return nil, err
			}
			ups = append(ups, Update{Ref: LockRef(l.Key()), Old: old, New: id})
			res.Taken = append(res.Taken, l)
		}
		if len(blocked) > 0 {
			return nil, &LockedError{Blocked: blocked, Now: c.now()}
		}
		return ups, nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// update reads the remote afresh, lets plan turn that snapshot into ref
// updates, and pushes them in one atomic compare-and-swap; when another
// writer got there first it starts again on a new snapshot. A plan with
// no updates ends it without a push. first, when not nil, is a snapshot
// this process just read: the first attempt plans on it instead of
// reading again (the compare-and-swap refuses it if it is out of date).
// op and recorded word the RemoteError: what was being done, and what
// that means was not done.
func (c *Client) update(ctx context.Context, first *Snapshot, op, recorded string, plan func(*Snapshot) ([]Update, error)) error {
	for attempt := 0; attempt < c.maxAttempts(); attempt++ {
		backoff(ctx, attempt)
		snap := first
		first = nil
		if snap == nil {
			var err error
			if snap, err = c.fetch(ctx); err != nil {
				return err
			}
		}
		ups, err := plan(snap)
		if err != nil || len(ups) == 0 {
			return err
		}
		err = c.Store.Update(ctx, ups)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return &RemoteError{Op: op, Where: c.Store.Where(), Err: err, Recorded: recorded}
		}
		return nil
	}
	return &RemoteError{Op: op, Where: c.Store.Where(), Err: errors.New("other writers kept changing them"), Recorded: recorded}
}

// NotHolderError says an unlock was asked of a lock another branch holds.
type NotHolderError struct{ Held []*HeldLock }

func (e *NotHolderError) Error() string {
	var lines []string
	for _, h := range e.Held {
		lines = append(lines, fmt.Sprintf("%s is locked by branch %s (%s), held by %s, not by this branch", h.Lock.Dir, h.Lock.Branch, short(h.Lock.Head), h.Lock.Who))
	}
	return strings.Join(lines, "\n")
}

// Unlocked says what Unlock did.
type Unlocked struct {
	Released []*HeldLock
	NotHeld  []string // keys with no lock
}

// Unlock releases the locks of keys held by branch. Locks of another
// branch are released only with a force reason, and each such release
// is appended to the project's ledger in the same atomic push.
func (c *Client) Unlock(ctx context.Context, keys []string, branch, force string, who Identity) (*Unlocked, error) {
	c.flushPending(ctx)
	return c.unlock(ctx, nil, keys, branch, force, who)
}

// Unlock is Client.Unlock planned first on this snapshot, which Load read
// a moment ago, instead of on a new read of the remote: one round trip
// less. A lock that changed since is met by the push's compare-and-swap,
// and then the remote is read again.
func (s *Snapshot) Unlock(ctx context.Context, keys []string, branch, force string, who Identity) (*Unlocked, error) {
	return s.c.unlock(ctx, s, keys, branch, force, who)
}

func (c *Client) unlock(ctx context.Context, first *Snapshot, keys []string, branch, force string, who Identity) (*Unlocked, error) {
	var res *Unlocked
	err := c.update(ctx, first, "release the locks", "no lock was released", func(snap *Snapshot) ([]Update, error) {
		res = &Unlocked{}
		var ups []Update
		var notMine []*HeldLock
		for _, k := range keys {
			cur, err := snap.Lock(k)
			if err != nil {
				return nil, err
			}
			if cur == nil {
				res.NotHeld = append(res.NotHeld, k)
				continue
			}
			if cur.Lock.Branch != branch {
				if force == "" {
					notMine = append(notMine, cur)
					continue
				}
				e := &Entry{Project: cur.Lock.Project, Dir: cur.Lock.Dir, Workspace: cur.Lock.Workspace, Branch: branch,
					Head: cur.Lock.Head, Result: ForceUnlocked, Who: who, Time: c.now().UTC(), Force: force, Lock: cur.Lock}
				c.fillEntry(e)
				tip := snap.Refs[LedgerRef(k)]
				id, err := c.writeEntry(e, tip)
				if err != nil {
					return nil, err
				}
				ups = append(ups, Update{Ref: LedgerRef(k), Old: tip, New: id})
			}
			ups = append(ups, Update{Ref: cur.Ref, Old: cur.ID})
			res.Released = append(res.Released, cur)
		}
		if len(notMine) > 0 {
			return nil, &NotHolderError{Held: notMine}
		}
		return ups, nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Release deletes stale locks, each only if it still is the lock read.
// It returns the ones released; a lock that changed meanwhile is left.
func (c *Client) Release(ctx context.Context, locks []*HeldLock) ([]*HeldLock, error) {
	if len(locks) == 0 {
		return nil, nil
	}
	var ups []Update
	for _, h := range locks {
		ups = append(ups, Update{Ref: h.Ref, Old: h.ID})
	}
	err := c.Store.Update(ctx, ups)
	if err == nil {
		return locks, nil
	}
	if !errors.Is(err, ErrConflict) {
		return nil, &RemoteError{Op: "release stale locks", Where: c.Store.Where(), Err: err, Recorded: "no lock was released"}
	}
	// One changed: release the others one by one.
	var out []*HeldLock
	for _, h := range locks {
		if err := c.Store.Update(ctx, []Update{{Ref: h.Ref, Old: h.ID}}); err == nil {
			out = append(out, h)
		} else if !errors.Is(err, ErrConflict) {
			return out, &RemoteError{Op: "release stale locks", Where: c.Store.Where(), Err: err}
		}
	}
	return out, nil
}

func (c *Client) fillEntry(e *Entry) {
	e.Format, e.Kind = FormatVersion, "ledger"
	if e.ID == "" {
		e.ID = nonce()
	}
	if e.Time.IsZero() {
		e.Time = c.now().UTC()
	}
}

// Append adds an entry to its project's ledger. A lost compare-and-swap
// (another writer appended first) is retried on the new tip, so no entry
// is lost. It returns the entry's commit id.
func (c *Client) Append(ctx context.Context, e *Entry) (string, error) {
	c.fillEntry(e)
	ref := LedgerRef(e.Key())
	// First try on the tip as last fetched; a conflict means a fresh read.
	var tip string
	if cached, err := c.Store.Cached(); err == nil {
		tip = cached[ref]
	}
	for attempt := 0; attempt < c.maxAttempts(); attempt++ {
		if attempt > 0 {
			backoff(ctx, attempt)
			refs, _, err := c.Store.Fetch(ctx)
			if err != nil {
				return "", &RemoteError{Op: "append to the ledger", Where: c.Store.Where(), Err: err, Recorded: "the entry was not recorded"}
			}
			tip = refs[ref]
		}
		id, err := c.writeEntry(e, tip)
		if err != nil {
			return "", err
		}
		err = c.Store.Update(ctx, []Update{{Ref: ref, Old: tip, New: id}})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return "", &RemoteError{Op: "append to the ledger", Where: c.Store.Where(), Err: err, Recorded: "the entry was not recorded"}
		}
		return id, nil
	}
	return "", &RemoteError{Op: "append to the ledger", Where: c.Store.Where(), Err: errors.New("other writers kept appending"), Recorded: "the entry was not recorded"}
}

// AppendOrKeep appends an entry; when the remote cannot take it, the
// entry is kept locally (said loudly) for the next command to push.
func (c *Client) AppendOrKeep(ctx context.Context, e *Entry) (id string, kept bool, err error) {
	id, err = c.Append(ctx, e)
	if err == nil {
		return id, false, nil
	}
	b, merr := marshal(e)
	if merr != nil {
		return "", false, errors.Join(err, merr)
	}
	name := fmt.Sprintf("%s-%s.json", e.Time.UTC().Format("20060102T150405.000000000Z"), e.ID)
	if perr := c.Store.SavePending(Pending{Name: name, Data: b}); perr != nil {
		return "", false, errors.Join(err, fmt.Errorf("and it could not be kept locally either: %w", perr))
	}
	c.warn("the ledger entry (%s of %s at %s) was NOT recorded on %s: %v. It is kept locally and the next atoll command that reaches the remote pushes it.",
		e.Result, e.Dir, short(e.Head), c.Store.Where(), err)
	return "", true, nil
}

// flushPending pushes entries kept locally, oldest first. An entry the
// remote already holds (its push was accepted but not confirmed) is not
// appended twice.
func (c *Client) flushPending(ctx context.Context) {
	pend, err := c.Store.Pending()
	if err != nil || len(pend) == 0 {
		return
	}
	snap, err := c.fetch(ctx)
	if err != nil {
		c.warn("%d ledger entr%s kept locally could not be pushed yet: %v", len(pend), map[bool]string{true: "y", false: "ies"}[len(pend) == 1], err)
		return
	}
	for _, p := range pend {
		var e Entry
		if err := json.Unmarshal(p.Data, &e); err != nil {
			c.warn("pending ledger entry %s is unreadable (%v): left in place", p.Name, err)
			continue
		}
		if hist, err := snap.History(e.Key(), 50); err == nil {
			found := false
			for _, h := range hist {
				found = found || h.Entry.ID == e.ID
			}
			if found {
				_ = c.Store.DropPending(p.Name)
				continue
			}
		}
		if _, err := c.Append(ctx, &e); err != nil {
			c.warn("the ledger entry kept locally (%s of %s) could still not be pushed: %v", e.Result, e.Dir, err)
			return
		}
		_ = c.Store.DropPending(p.Name)
		c.warn("pushed the ledger entry kept locally: %s of %s at %s", e.Result, e.Dir, short(e.Head))
	}
}
