package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/ledger"
)

var (
	ctx0  = context.Background()
	t0    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sha   = "0123456789abcdef0123456789abcdef01234567"
	stale = func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{State: ledger.Stale}, nil
	}
	heldBy = func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{State: ledger.Held, Do: "wait for the merge"}, nil
	}
)

func fixed(m *memStore) *ledger.Client {
	return &ledger.Client{Store: m, Now: func() time.Time { return t0 }}
}

// put stores a raw document at a ref, as another writer (or another
// version of atoll) would have.
func put(t *testing.T, m *memStore, ref, doc string, parents ...string) string {
	t.Helper()
	id, err := m.Write([]byte(doc), parents, "")
	if err != nil {
		t.Fatal(err)
	}
	m.refs[ref] = id
	return id
}

// obj stores a raw document without pointing a ref at it (for a race
// function, which runs under the store's lock).
func obj(t *testing.T, m *memStore, doc string, parents ...string) string {
	t.Helper()
	id, err := m.Write([]byte(doc), parents, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSnapshotListsLocksAndKeysSorted(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	for _, d := range []string{"conf/c", "conf/a", "conf/b"} {
		if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: d, Branch: "f"}}, heldBy); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"conf/z", "conf/y"} {
		if _, err := c.Append(ctx0, &ledger.Entry{Dir: d, Result: ledger.Success}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := c.Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	locks, err := snap.Locks()
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, h := range locks {
		dirs = append(dirs, h.Lock.Dir)
		if h.Ref != ledger.LockRef(ledger.Key(h.Lock.Dir, "")) || h.ID != m.refs[h.Ref] {
			t.Errorf("lock %s: ref %s id %s", h.Lock.Dir, h.Ref, h.ID)
		}
	}
	if w := []string{"conf/a", "conf/b", "conf/c"}; !reflect.DeepEqual(dirs, w) {
		t.Errorf("locks %v, want %v (sorted, ledgers left out)", dirs, w)
	}
	if got, w := snap.Keys(), []string{"conf_y", "conf_z"}; !reflect.DeepEqual(got, w) {
		t.Errorf("keys %v, want %v (sorted, locks left out)", got, w)
	}
	if h, err := snap.Lock("conf_nothing"); h != nil || err != nil {
		t.Errorf("a key without a lock: %+v %v", h, err)
	}
	// A lock read once is not read again: the snapshot is one moment.
	a1, _ := snap.Lock("conf_a")
	m.readErr = map[string]error{a1.ID: errors.New("gone")}
	if a2, err := snap.Lock("conf_a"); err != nil || a2 != a1 {
		t.Errorf("second read: %+v %v", a2, err)
	}
}

func TestHistoryNewestFirstAndBounded(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	for _, r := range []string{ledger.Started, ledger.Success, ledger.ForceUnlocked} {
		if _, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a", Result: r, Head: r}); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := c.Load(ctx0)
	heads := func(n int) []string {
		hist, err := snap.History("conf_a", n)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hist {
			out = append(out, h.Entry.Head)
		}
		return out
	}
	all := []string{ledger.ForceUnlocked, ledger.Success, ledger.Started}
	if got := heads(0); !reflect.DeepEqual(got, all) {
		t.Errorf("History(0) = %v, want %v", got, all)
	}
	if got := heads(-1); !reflect.DeepEqual(got, all) {
		t.Errorf("History(-1) = %v, want %v", got, all)
	}
	if got := heads(2); !reflect.DeepEqual(got, all[:2]) {
		t.Errorf("History(2) = %v, want %v", got, all[:2])
	}
	if got := heads(1); !reflect.DeepEqual(got, all[:1]) {
		t.Errorf("History(1) = %v, want %v", got, all[:1])
	}
	if hist, err := snap.History("conf_none", 0); err != nil || len(hist) != 0 {
		t.Errorf("a key without a ledger: %v %v", hist, err)
	}
	// Latest skips the unlock: it is the newest apply.
	l, err := snap.Latest("conf_a")
	if err != nil || l == nil || l.Entry.Result != ledger.Success {
		t.Errorf("Latest = %+v, %v; want the success", l, err)
	}
	if l, err := snap.Latest("conf_none"); l != nil || err != nil {
		t.Errorf("Latest of nothing = %+v, %v", l, err)
	}
	// Only unlocks: no apply.
	if _, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/u", Result: ledger.ForceUnlocked}); err != nil {
		t.Fatal(err)
	}
	snap, _ = c.Load(ctx0)
	if l, err := snap.Latest("conf_u"); l != nil || err != nil {
		t.Errorf("Latest of only an unlock = %+v, %v", l, err)
	}
}

func TestUnreadableRecordsAreFormatErrors(t *testing.T) {
	t.Parallel()
	m := newMem()
	lockDoc := func(format int, kind string) string {
		return fmt.Sprintf(`{"format":%d,"kind":%q,"dir":"conf/a","branch":"f"}`, format, kind)
	}
	entryDoc := func(format int, kind string) string {
		return fmt.Sprintf(`{"format":%d,"kind":%q,"dir":"conf/a","result":"success"}`, format, kind)
	}
	put(t, m, ledger.LockRef("ok"), lockDoc(ledger.FormatVersion, "lock"))
	put(t, m, ledger.LockRef("newer"), lockDoc(ledger.FormatVersion+1, "lock"))
	put(t, m, ledger.LockRef("older"), lockDoc(ledger.FormatVersion-1, "lock"))
	put(t, m, ledger.LockRef("kind"), lockDoc(ledger.FormatVersion, "ledger"))
	put(t, m, ledger.LockRef("json"), "{")
	unreadable := put(t, m, ledger.LockRef("unreadable"), lockDoc(ledger.FormatVersion, "lock"))
	m.readErr = map[string]error{unreadable: errors.New("object missing")}
	put(t, m, ledger.LedgerRef("ok"), entryDoc(ledger.FormatVersion, "ledger"))
	put(t, m, ledger.LedgerRef("newer"), entryDoc(ledger.FormatVersion+1, "ledger"))
	put(t, m, ledger.LedgerRef("kind"), entryDoc(ledger.FormatVersion, "lock"))
	put(t, m, ledger.LedgerRef("json"), "[")
	// A good tip whose parent is another version's entry.
	bad := put(t, m, ledger.LedgerRef("parent"), entryDoc(ledger.FormatVersion+1, "ledger"))
	put(t, m, ledger.LedgerRef("parent"), entryDoc(ledger.FormatVersion, "ledger"), bad)
	gone := put(t, m, ledger.LedgerRef("unreadable"), entryDoc(ledger.FormatVersion, "ledger"))
	m.readErr[gone] = errors.New("object missing")

	snap, err := fixed(m).Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := snap.Lock("ok"); err != nil || h == nil || h.Lock.Dir != "conf/a" {
		t.Errorf("a good lock: %+v %v", h, err)
	}
	for _, k := range []string{"newer", "older", "kind", "json", "unreadable"} {
		_, err := snap.Lock(k)
		var fe *ledger.FormatError
		if !errors.As(err, &fe) || fe.Ref != ledger.LockRef(k) || !strings.Contains(err.Error(), ledger.LockRef(k)) {
			t.Errorf("lock %s: %v, want a FormatError naming the ref", k, err)
		}
	}
	if _, err := snap.Locks(); err == nil {
		t.Error("Locks hides an unreadable lock")
	}
	if h, err := snap.History("ok", 0); err != nil || len(h) != 1 {
		t.Errorf("a good ledger: %+v %v", h, err)
	}
	for _, k := range []string{"newer", "kind", "json", "parent", "unreadable"} {
		_, err := snap.History(k, 0)
		var fe *ledger.FormatError
		if !errors.As(err, &fe) || fe.Ref != ledger.LedgerRef(k) {
			t.Errorf("ledger %s: %v, want a FormatError naming the ref", k, err)
		}
		if _, err := snap.Latest(k); err == nil {
			t.Errorf("Latest of ledger %s: no error", k)
		}
	}
	// The message names the ref and the commit, shortened.
	_, err = snap.Lock("newer")
	if id := m.refs[ledger.LockRef("newer")]; !strings.Contains(err.Error(), id[:8]+")") || strings.Contains(err.Error(), id[:9]) {
		t.Errorf("message %q does not name commit %s by its first 8 characters", err, id)
	}
	if !strings.Contains(err.Error(), "format 2") {
		t.Errorf("message %q does not say which format it found", err)
	}
}

func TestUnlock(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine", Head: sha}, {Dir: "conf/b", Branch: "mine"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Project: "b", Dir: "conf/o", Workspace: "prod", Branch: "other", Head: sha, Who: ledger.Identity{User: "olga"}}}, heldBy); err != nil {
		t.Fatal(err)
	}
	other := ledger.Key("conf/o", "prod")

	// Own locks and a key with no lock: released, and said.
	un, err := c.Unlock(ctx0, []string{"conf_a", "conf_none"}, "mine", "", ledger.Identity{User: "me"})
	if err != nil || len(un.Released) != 1 || un.Released[0].Lock.Dir != "conf/a" || !reflect.DeepEqual(un.NotHeld, []string{"conf_none"}) {
		t.Fatalf("own unlock: %+v %v", un, err)
	}
	if _, ok := m.refs[ledger.LockRef("conf_a")]; ok {
		t.Error("conf/a is still locked")
	}
	if _, ok := m.refs[ledger.LedgerRef("conf_a")]; ok {
		t.Error("releasing one's own lock wrote a ledger entry")
	}
	// Nothing to do: no push.
	before := m.updates
	if un, err := c.Unlock(ctx0, []string{"conf_none"}, "mine", "", ledger.Identity{}); err != nil || len(un.Released) != 0 {
		t.Errorf("nothing held: %+v %v", un, err)
	}
	if m.updates != before {
		t.Error("an unlock of nothing pushed")
	}

	// Another branch's lock, with one's own: refused whole, naming holder.
	_, err = c.Unlock(ctx0, []string{"conf_b", other}, "mine", "", ledger.Identity{User: "me"})
	var nh *ledger.NotHolderError
	if !errors.As(err, &nh) || len(nh.Held) != 1 || nh.Held[0].Lock.Branch != "other" {
		t.Fatalf("another's lock: %v", err)
	}
	for _, w := range []string{"conf/o", "branch other", "01234567", "olga"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not say %q", err, w)
		}
	}
	if _, ok := m.refs[ledger.LockRef("conf_b")]; !ok {
		t.Error("conf/b was released although the unlock was refused")
	}

	// Forced: released, with a ledger entry on the project's ledger.
	un, err = c.Unlock(ctx0, []string{other}, "mine", "INC-7", ledger.Identity{User: "me"})
	if err != nil || len(un.Released) != 1 {
		t.Fatalf("forced: %+v %v", un, err)
	}
	if _, ok := m.refs[ledger.LockRef(other)]; ok {
		t.Error("the forced lock is still there")
	}
	snap, _ := c.Load(ctx0)
	hist, err := snap.History(other, 0)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %+v %v", hist, err)
	}
	e := hist[0].Entry
	if e.Result != ledger.ForceUnlocked || e.Force != "INC-7" || e.Who.User != "me" || e.Branch != "mine" || e.Dir != "conf/o" ||
		e.Workspace != "prod" || e.Project != "b" || e.Head != sha || e.Lock == nil || e.Lock.Branch != "other" || !e.Time.Equal(t0) ||
		e.ID == "" || e.Format != ledger.FormatVersion || e.Kind != "ledger" {
		t.Errorf("entry %+v", e)
	}
	// A second forced unlock appends on the tip.
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/o", Workspace: "prod", Branch: "other"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unlock(ctx0, []string{other}, "mine", "INC-8", ledger.Identity{}); err != nil {
		t.Fatal(err)
	}
	snap, _ = c.Load(ctx0)
	if hist, _ := snap.History(other, 0); len(hist) != 2 || hist[0].Entry.Force != "INC-8" || hist[1].Entry.Force != "INC-7" {
		t.Errorf("second forced unlock: %+v", hist)
	}
}

func TestUnlockRetriesAndFails(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	// Another writer re-takes the lock between the read and the push,
	// once: the unlock reads again and releases the new lock.
	again := obj(t, m, `{"format":1,"kind":"lock","dir":"conf/a","branch":"mine","nonce":"n2"}`)
	m.race = func(refs map[string]string) {
		m.race = nil
		refs[ledger.LockRef("conf_a")] = again
	}
	un, err := c.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{})
	if err != nil || len(un.Released) != 1 || un.Released[0].Lock.Nonce != "n2" {
		t.Fatalf("after a lost race: %+v %v", un, err)
	}
	if _, ok := m.refs[ledger.LockRef("conf_a")]; ok {
		t.Error("still locked")
	}
	m.race = nil

	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	m.updateErr = errors.New("permission denied")
	_, err = c.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{})
	var re *ledger.RemoteError
	if !errors.As(err, &re) || re.Op != "release the locks" || !strings.Contains(err.Error(), "no lock was released") || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("push refused: %v", err)
	}
	m.updateErr = nil
	m.down = true
	if _, err := c.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{}); !errors.As(err, &re) || re.Op != "read locks and ledger" {
		t.Errorf("remote down: %v", err)
	}
	m.down = false
	m.readErr = map[string]error{m.refs[ledger.LockRef("conf_a")]: errors.New("object missing")}
	var fe *ledger.FormatError
	if _, err := c.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{}); !errors.As(err, &fe) {
		t.Errorf("unreadable lock: %v", err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	if got, err := c.Release(ctx0, nil); got != nil || err != nil {
		t.Errorf("nothing to release: %v %v", got, err)
	}
	if m.updates != 0 {
		t.Error("releasing nothing pushed")
	}
	take := func() []*ledger.HeldLock {
		if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "x"}, {Dir: "conf/b", Branch: "x"}, {Dir: "conf/c", Branch: "x"}}, stale); err != nil {
			t.Fatal(err)
		}
		snap, _ := c.Load(ctx0)
		locks, err := snap.Locks()
		if err != nil || len(locks) != 3 {
			t.Fatalf("locks %v %v", locks, err)
		}
		return locks
	}
	locks := take()
	got, err := c.Release(ctx0, locks)
	if err != nil || len(got) != 3 || len(m.refs) != 0 {
		t.Fatalf("all stale: %v %v, refs left %v", got, err, m.refs)
	}

	// conf/b was taken again meanwhile: the others are released, it stays.
	locks = take()
	retaken := put(t, m, ledger.LockRef("conf_b"), `{"format":1,"kind":"lock","dir":"conf/b","branch":"y"}`)
	got, err = c.Release(ctx0, locks)
	if err != nil || len(got) != 2 || got[0].Lock.Dir != "conf/a" || got[1].Lock.Dir != "conf/c" {
		t.Fatalf("one changed: %+v %v", got, err)
	}
	if len(m.refs) != 1 || m.refs[ledger.LockRef("conf_b")] != retaken {
		t.Errorf("refs after: %v", m.refs)
	}

	m.updateErr = errors.New("permission denied")
	var re *ledger.RemoteError
	if _, err := c.Release(ctx0, locks); !errors.As(err, &re) || !strings.Contains(err.Error(), "no lock was released") {
		t.Errorf("push refused: %v", err)
	}
	// Refused after a conflict: what was released so far, and the error.
	m.updateErr = nil
	for k := range m.refs {
		delete(m.refs, k)
	}
	locks = take()
	put(t, m, ledger.LockRef("conf_a"), `{}`)
	calls := 0
	m.race = func(map[string]string) {
		calls++
		if calls == 3 {
			m.updateErr = errors.New("permission denied")
		}
	}
	got, err = c.Release(ctx0, locks)
	if !errors.As(err, &re) || len(got) != 1 || got[0].Lock.Dir != "conf/b" {
		t.Errorf("refused midway: %+v %v", got, err)
	}
}

func TestAcquire(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	// Free locks: one push, no read of the remote.
	got, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "f", Head: sha}}, heldBy)
	if err != nil || len(got.Taken) != 1 {
		t.Fatal(got, err)
	}
	if m.fetches != 0 || m.updates != 1 {
		t.Errorf("free locks took %d fetches and %d pushes, want 0 and 1", m.fetches, m.updates)
	}
	snap, _ := c.Load(ctx0)
	h, _ := snap.Lock("conf_a")
	if h.Lock.Format != ledger.FormatVersion || h.Lock.Kind != "lock" || h.Lock.Nonce == "" {
		t.Errorf("lock as stored: %+v", h.Lock)
	}
	// A nonce given is kept.
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/n", Branch: "f", Nonce: "given"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	snap, _ = c.Load(ctx0)
	if h, _ := snap.Lock("conf_n"); h.Lock.Nonce != "given" {
		t.Errorf("nonce %q", h.Lock.Nonce)
	}

	// Held by the same branch, with a free one: the free one is taken.
	got, err = c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "f"}, {Dir: "conf/b", Branch: "f"}}, heldBy)
	if err != nil || len(got.Already) != 1 || got.Already[0].Lock.Dir != "conf/a" || len(got.Taken) != 1 || got.Taken[0].Dir != "conf/b" {
		t.Fatalf("mixed: %+v %v", got, err)
	}
	// Only already held: nothing pushed.
	before := m.updates
	got, err = c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "f"}}, heldBy)
	if err != nil || len(got.Already) != 1 || len(got.Taken) != 0 || m.updates != before {
		t.Errorf("already held: %+v %v, %d pushes", got, err, m.updates-before)
	}

	// Another branch's: blocked, with the verdict; an orphan says so.
	orphaned := func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{State: ledger.Orphaned, Do: "apply from main"}, nil
	}
	for _, cl := range []struct {
		classify ledger.Classifier
		what     string
	}{{heldBy, "is locked by"}, {orphaned, "is locked (orphaned) by"}} {
		_, err = c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, cl.classify)
		var le *ledger.LockedError
		if !errors.As(err, &le) || len(le.Blocked) != 1 || !le.Now.Equal(t0) {
			t.Fatalf("blocked: %v", err)
		}
		v, _ := cl.classify(nil, nil)
		for _, w := range []string{"conf/a " + cl.what + " branch f (01234567)", v.Do} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message %q does not say %q", err, w)
			}
		}
	}
	// The classifier's error is the call's.
	boom := errors.New("cannot tell")
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{}, boom
	}); !errors.Is(err, boom) {
		t.Errorf("classifier error: %v", err)
	}
	// Stale: replaced, in the same push as its compare-and-swap.
	old := m.refs[ledger.LockRef("conf_a")]
	got, err = c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, stale)
	if err != nil || len(got.Released) != 1 || got.Released[0].ID != old || len(got.Taken) != 1 || m.refs[ledger.LockRef("conf_a")] == old {
		t.Errorf("stale: %+v %v", got, err)
	}
}

func TestAcquireFailures(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	var re *ledger.RemoteError
	// Refused on the fast path (free locks).
	m.updateErr = errors.New("permission denied")
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "f"}}, heldBy); !errors.As(err, &re) || re.Op != "take the locks" || !strings.Contains(err.Error(), "no lock was taken") {
		t.Errorf("fast path refused: %v", err)
	}
	m.updateErr = nil
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "f"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	// Refused on the slow path (a lock exists, stale).
	m.updateErr = errors.New("permission denied")
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, stale); !errors.As(err, &re) || !strings.Contains(err.Error(), "no lock was taken") {
		t.Errorf("slow path refused: %v", err)
	}
	m.updateErr = nil
	// The remote cannot be read.
	m.down = true
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, stale); !errors.As(err, &re) || re.Op != "read locks and ledger" || !strings.Contains(err.Error(), "memory") {
		t.Errorf("down: %v", err)
	}
	m.down = false
	// A lock that cannot be read.
	m.readErr = map[string]error{m.refs[ledger.LockRef("conf_a")]: errors.New("object missing")}
	var fe *ledger.FormatError
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "g"}}, stale); !errors.As(err, &fe) {
		t.Errorf("unreadable: %v", err)
	}
	m.readErr = nil

	// Lost the race on the fast path: decided on a fresh read, where the
	// winner's lock (another branch, held) blocks.
	m2 := newMem()
	c2 := fixed(m2)
	winner := obj(t, m2, `{"format":1,"kind":"lock","dir":"conf/r","branch":"winner"}`)
	m2.race = func(refs map[string]string) {
		m2.race = nil
		refs[ledger.LockRef("conf_r")] = winner
	}
	_, err := c2.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/r", Branch: "f"}}, heldBy)
	var le *ledger.LockedError
	if !errors.As(err, &le) || le.Blocked[0].Held.Lock.Branch != "winner" {
		t.Errorf("lost race: %v", err)
	}
	// Lost the race on the slow path: read again, the second try wins.
	n := 0
	winner2 := obj(t, m2, `{"format":1,"kind":"lock","dir":"conf/r","branch":"winner2"}`)
	m2.race = func(refs map[string]string) {
		if n++; n == 1 {
			refs[ledger.LockRef("conf_r")] = winner2
		}
	}
	got, err := c2.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/r", Branch: "f"}}, stale)
	if err != nil || len(got.Taken) != 1 || n != 2 {
		t.Errorf("slow path race: %+v %v after %d pushes", got, err, n)
	}
}

func TestAppend(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	id, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a", Result: ledger.Started})
	if err != nil {
		t.Fatal(err)
	}
	// On the tip as last fetched: one push, no read.
	if m.fetches != 0 || m.updates != 1 {
		t.Errorf("%d fetches, %d pushes; want 0 and 1", m.fetches, m.updates)
	}
	e := &ledger.Entry{Dir: "conf/a", Result: ledger.Success, ID: "mine", Time: t0.Add(-time.Hour)}
	id2, err := c.Append(ctx0, e)
	if err != nil {
		t.Fatal(err)
	}
	// Also on a ref that exists: the cached tip is the old side of the push.
	if m.fetches != 0 || m.updates != 2 {
		t.Errorf("second append: %d fetches, %d pushes; want 0 and 2", m.fetches, m.updates)
	}
	snap, _ := c.Load(ctx0)
	hist, _ := snap.History("conf_a", 0)
	if len(hist) != 2 || hist[0].ID != id2 || hist[1].ID != id {
		t.Fatalf("history %+v", hist)
	}
	if got := hist[0].Entry; got.ID != "mine" || !got.Time.Equal(t0.Add(-time.Hour)) || got.Format != ledger.FormatVersion || got.Kind != "ledger" {
		t.Errorf("given ID and time not kept: %+v", got)
	}
	if got := hist[1].Entry; got.ID == "" || !got.Time.Equal(t0) {
		t.Errorf("ID and time not filled: %+v", got)
	}
	// Another writer appended meanwhile: read again, append on its entry.
	other := obj(t, m, `{"format":1,"kind":"ledger","dir":"conf/a","result":"failed"}`, id2)
	m.race = func(refs map[string]string) {
		m.race = nil
		refs[ledger.LedgerRef("conf_a")] = other
	}
	fetches := m.fetches
	id3, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a", Result: ledger.Success})
	if err != nil || m.fetches != fetches+1 {
		t.Fatalf("lost race: %v, %d fetches", err, m.fetches-fetches)
	}
	snap, _ = c.Load(ctx0)
	hist, _ = snap.History("conf_a", 0)
	if len(hist) != 4 || hist[0].ID != id3 || hist[1].ID != other {
		t.Errorf("after the race: %+v", hist)
	}
	// Failures name what was not recorded.
	var re *ledger.RemoteError
	m.updateErr = errors.New("permission denied")
	if _, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a"}); !errors.As(err, &re) || re.Op != "append to the ledger" || !strings.Contains(err.Error(), "the entry was not recorded") {
		t.Errorf("refused: %v", err)
	}
	m.updateErr = nil
	// Lost the race, then the remote cannot be read.
	m.race = func(refs map[string]string) {
		refs[ledger.LedgerRef("conf_a")] = "moved"
		m.down = true
	}
	if _, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a"}); !errors.As(err, &re) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "the entry was not recorded") {
		t.Errorf("down after a race: %v", err)
	}
}

func TestAppendOrKeepAndFlush(t *testing.T) {
	t.Parallel()
	m := newMem()
	var warnings []string
	c := &ledger.Client{Store: m, Now: func() time.Time { return t0 }, Warn: func(s string) { warnings = append(warnings, s) }}
	// Recorded: nothing kept, nothing said.
	id, kept, err := c.AppendOrKeep(ctx0, &ledger.Entry{Dir: "conf/a", Result: ledger.Success, Head: sha})
	if err != nil || kept || id == "" || len(warnings) != 0 {
		t.Fatalf("up: %q %v %v %q", id, kept, err, warnings)
	}
	// Down: two entries kept, named by time so that they replay in order.
	m.down = true
	for i, r := range []string{ledger.Started, ledger.Failed} {
		e := &ledger.Entry{Dir: "conf/a", Result: r, Head: sha, Time: t0.Add(time.Duration(i) * time.Second)}
		if _, kept, err := c.AppendOrKeep(ctx0, e); err != nil || !kept {
			t.Fatalf("down: %v %v", kept, err)
		}
	}
	if len(m.pending) != 2 {
		t.Fatalf("pending %v", m.pending)
	}
	for _, w := range []string{"started of conf/a at 01234567", "NOT recorded on memory", "connection refused"} {
		if !strings.Contains(warnings[0], w) {
			t.Errorf("warning %q does not say %q", warnings[0], w)
		}
	}
	// Still down: the next command says they wait.
	warnings = nil
	if _, err := c.Load(ctx0); err == nil {
		t.Fatal("loaded from a remote that is down")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "2 ledger entries kept locally could not be pushed yet") {
		t.Errorf("warnings %q", warnings)
	}
	// Back: pushed oldest first, each said.
	m.down = false
	warnings = nil
	snap, err := c.Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := snap.History("conf_a", 0)
	if len(hist) != 3 || hist[0].Entry.Result != ledger.Failed || hist[1].Entry.Result != ledger.Started || len(m.pending) != 0 {
		t.Fatalf("replayed: %+v, pending %d", hist, len(m.pending))
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "pushed the ledger entry kept locally: started of conf/a at 01234567") {
		t.Errorf("warnings %q", warnings)
	}

	// One kept entry: "entry", singular.
	m.pending["x.json"] = []byte(`{"dir":"conf/a"}`)
	m.down = true
	warnings = nil
	_, _ = c.Load(ctx0)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "1 ledger entry kept locally") {
		t.Errorf("warnings %q", warnings)
	}
	// Unreadable kept entries are left alone, the others pushed.
	m.down = false
	m.pending = map[string][]byte{"a.json": []byte("{"), "b.json": []byte(`{"dir":"conf/a","id":"b","result":"success"}`)}
	warnings = nil
	if _, err := c.Load(ctx0); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.pending["a.json"]; !ok || len(m.pending) != 1 || len(warnings) != 2 || !strings.Contains(warnings[0], "pending ledger entry a.json is unreadable") {
		t.Errorf("unreadable: pending %v, warnings %q", m.pending, warnings)
	}
	// Refused by the remote: kept, said, and the rest wait their turn.
	m.pending = map[string][]byte{"a.json": []byte(`{"dir":"conf/a","id":"a"}`), "b.json": []byte(`{"dir":"conf/a","id":"b2"}`)}
	m.updateErr = errors.New("permission denied")
	warnings = nil
	_, _ = c.Load(ctx0)
	if len(m.pending) != 2 || len(warnings) != 1 || !strings.Contains(warnings[0], "could still not be pushed") {
		t.Errorf("refused: pending %v, warnings %q", m.pending, warnings)
	}
	m.updateErr = nil
	m.pending = map[string][]byte{}

	// Kept nowhere: both failures reported.
	m.down, m.saveErr = true, errors.New("disk full")
	if _, kept, err := c.AppendOrKeep(ctx0, &ledger.Entry{Dir: "conf/a"}); kept || err == nil || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "could not be kept locally either: disk full") {
		t.Errorf("nowhere: %v %v", kept, err)
	}
	// A store whose pending list cannot be read: no replay, no warning.
	m.down, m.saveErr, m.pendingErr = false, nil, errors.New("unreadable directory")
	warnings = nil
	fetches := m.fetches
	if _, err := c.Load(ctx0); err != nil || len(warnings) != 0 || m.fetches != fetches+1 {
		t.Errorf("pending unreadable: %v, warnings %q, %d fetches", err, warnings, m.fetches-fetches)
	}
	// Nothing pending: one read of the remote, nothing said.
	m.pendingErr = nil
	fetches = m.fetches
	if _, err := c.Load(ctx0); err != nil || len(warnings) != 0 || m.fetches != fetches+1 {
		t.Errorf("nothing pending: %v, warnings %q, %d fetches", err, warnings, m.fetches-fetches)
	}
}

func TestErrorsAndIdentity(t *testing.T) {
	t.Parallel()
	inner := errors.New("timeout")
	re := &ledger.RemoteError{Op: "take the locks", Where: "origin", Err: inner}
	if re.Error() != "could not take the locks on origin: timeout" || !errors.Is(re, inner) {
		t.Errorf("%q", re.Error())
	}
	re.Recorded = "no lock was taken"
	if re.Error() != "could not take the locks on origin: timeout; no lock was taken" {
		t.Errorf("%q", re.Error())
	}

	for _, c := range []struct {
		id   ledger.Identity
		want string
	}{
		{ledger.Identity{User: "ana", Host: "laptop"}, "ana@laptop"},
		{ledger.Identity{User: "ana"}, "ana"},
		{ledger.Identity{Host: "laptop"}, "unknown@laptop"},
		{ledger.Identity{User: "ana", CI: "github", RunURL: "https://x/runs/1", Host: "runner"}, "ana (github https://x/runs/1)"},
		{ledger.Identity{User: "ana", CI: "gitlab"}, "ana (gitlab)"},
	} {
		if got := c.id.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.id, got, c.want)
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name    string
		env     map[string]string
		gitUser string
		want    ledger.Identity
	}{
		{"git user", map[string]string{"USER": "root"}, " ana ", ledger.Identity{User: "ana", Host: "h"}},
		{"USER", map[string]string{"USER": "root"}, "", ledger.Identity{User: "root", Host: "h"}},
		// The CI's actor and run are the caller's to add (pkg/ci, pkg/cli):
		// the CI's variables alone change nothing here.
		{"CI variables", map[string]string{"GITHUB_ACTOR": "octo", "GITLAB_USER_LOGIN": "gl", "USER": "root"}, "ana", ledger.Identity{User: "ana", Host: "h"}},
	} {
		if got := ledger.IdentityFrom(env(c.env), c.gitUser, "h"); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestEntryKindsAndAge(t *testing.T) {
	t.Parallel()
	for r, want := range map[string][2]bool{
		ledger.Started: {false, true}, ledger.Success: {true, true}, ledger.Failed: {true, true}, ledger.Interrupted: {true, true},
		ledger.Refused: {false, true}, ledger.ForceUnlocked: {false, false},
	} {
		e := &ledger.Entry{Result: r}
		if e.Completed() != want[0] || e.Apply() != want[1] {
			t.Errorf("%s: completed %v apply %v, want %v", r, e.Completed(), e.Apply(), want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", time.Minute: "1m", 59*time.Minute + 59*time.Second: "59m", time.Hour: "1h",
		47 * time.Hour: "47h", 48 * time.Hour: "2d", 49 * time.Hour: "2d", 72 * time.Hour: "3d",
	} {
		if got := ledger.Age(t0.Add(d), t0); got != want {
			t.Errorf("Age(%s) = %q, want %q", d, got, want)
		}
	}
	l := &ledger.Lock{Dir: "conf/a", Branch: "feature"}
	v := ledger.Classify(l, "main", ledger.Facts{AppliedByHolder: true})
	for _, w := range []string{"feature", "main", "atoll unlock --force REASON conf/a"} {
		if !strings.Contains(v.Why+v.Do, w) {
			t.Errorf("orphaned verdict %+v does not say %q", v, w)
		}
	}
	// Applied from the base since, but the holder's branch is still open:
	// it is the holder's.
	if v := ledger.Classify(l, "main", ledger.Facts{BranchExists: true, RestoredFromBase: true}); v.State != ledger.Held {
		t.Errorf("open branch, restored from base: %s", v.State)
	}
}

func TestParseKeyRefusesMalformed(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"conf%2", "conf%", "%4", "a%ZZ", "a%2G", "a@b%1", "a@%zz"} {
		if d, w, ok := ledger.ParseKey(k); ok {
			t.Errorf("ParseKey(%q) = %q, %q, ok", k, d, w)
		}
	}
	for k, want := range map[string][2]string{"%41": {"A", ""}, "a@%": {"a", ""}, "%@%": {"", ""}, "a_b%2E@w%40": {"a/b.", "w@"}} {
		if d, w, ok := ledger.ParseKey(k); !ok || d != want[0] || w != want[1] {
			t.Errorf("ParseKey(%q) = %q, %q, %v; want %q", k, d, w, ok, want)
		}
	}
}

// TestFlushDoesNotRepeatAnEntryBelowTheTip: a kept entry whose push was
// in fact accepted, with other entries appended on top since, is dropped,
// not appended a second time.
func TestFlushDoesNotRepeatAnEntryBelowTheTip(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	kept := &ledger.Entry{Dir: "conf/a", ID: "accepted", Result: ledger.Success, Head: sha}
	if _, err := c.Append(ctx0, kept); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Append(ctx0, &ledger.Entry{Dir: "conf/a", Result: ledger.Started, Head: sha}); err != nil {
			t.Fatal(err)
		}
	}
	m.pending["kept.json"] = mustJSON(t, kept)
	snap, err := c.Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := snap.History("conf_a", 0)
	if err != nil || len(hist) != 4 || len(m.pending) != 0 {
		t.Errorf("history %d entries (want 4), pending %v, %v", len(hist), m.pending, err)
	}
}

// TestFormatErrorNamesRefAndShortID: commit ids are cut to 8 characters,
// shorter ones shown whole.
func TestFormatErrorNamesRefAndShortID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		sha:         "refs/atoll/locks/conf_a (01234567) holds no atoll record: bad",
		"012345678": "refs/atoll/locks/conf_a (01234567) holds no atoll record: bad",
		"01234567":  "refs/atoll/locks/conf_a (01234567) holds no atoll record: bad",
		"abc":       "refs/atoll/locks/conf_a (abc) holds no atoll record: bad",
	} {
		e := &ledger.FormatError{Ref: "refs/atoll/locks/conf_a", ID: id, Err: errors.New("bad")}
		if got := e.Error(); got != want {
			t.Errorf("id %q: %q, want %q", id, got, want)
		}
	}
}

// TestSnapshotUnlockReadsOnce: an unlock planned on the snapshot just
// loaded reads the remote no more; when the lock changed after that read,
// the compare-and-swap refuses the push and the unlock reads again and
// releases the lock as it now is.
func TestSnapshotUnlockReadsOnce(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	before := m.fetches
	un, err := snap.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{})
	if err != nil || len(un.Released) != 1 {
		t.Fatalf("unlock on the snapshot: %+v %v", un, err)
	}
	if m.fetches != before {
		t.Errorf("the unlock read the remote %d more times, want none", m.fetches-before)
	}
	if _, ok := m.refs[ledger.LockRef("conf_a")]; ok {
		t.Error("still locked")
	}

	// The lock re-taken after the snapshot: one refused push, one read.
	if _, err := c.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine"}}, heldBy); err != nil {
		t.Fatal(err)
	}
	if snap, err = c.Load(ctx0); err != nil {
		t.Fatal(err)
	}
	put(t, m, ledger.LockRef("conf_a"), `{"format":1,"kind":"lock","dir":"conf/a","branch":"mine","nonce":"n3"}`)
	before = m.fetches
	un, err = snap.Unlock(ctx0, []string{"conf_a"}, "mine", "", ledger.Identity{})
	if err != nil || len(un.Released) != 1 || un.Released[0].Lock.Nonce != "n3" {
		t.Fatalf("unlock on an old snapshot: %+v %v", un, err)
	}
	if m.fetches != before+1 {
		t.Errorf("after the refused push the unlock read the remote %d times, want 1", m.fetches-before)
	}
	if _, ok := m.refs[ledger.LockRef("conf_a")]; ok {
		t.Error("still locked after the retry")
	}
}

// TestSnapshotAcquireReadsOnce: locks taken on the snapshot just loaded
// cost one push and no read; a lock another branch took after that read
// makes the push fail its compare-and-swap, and the fresh read refuses.
func TestSnapshotAcquireReadsOnce(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := fixed(m)
	snap, err := c.Load(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	before, pushes := m.fetches, m.updates
	got, err := snap.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/a", Branch: "mine"}}, heldBy)
	if err != nil || len(got.Taken) != 1 {
		t.Fatalf("acquire on the snapshot: %+v %v", got, err)
	}
	if m.fetches != before || m.updates != pushes+1 {
		t.Errorf("the acquire read the remote %d times and pushed %d times, want 0 and 1", m.fetches-before, m.updates-pushes)
	}

	// conf/b is free in the snapshot, then another branch takes it.
	if snap, err = c.Load(ctx0); err != nil {
		t.Fatal(err)
	}
	put(t, m, ledger.LockRef("conf_b"), `{"format":1,"kind":"lock","dir":"conf/b","branch":"theirs","nonce":"t1"}`)
	before = m.fetches
	_, err = snap.Acquire(ctx0, []*ledger.Lock{{Dir: "conf/b", Branch: "mine"}}, heldBy)
	var le *ledger.LockedError
	if !errors.As(err, &le) || len(le.Blocked) != 1 || le.Blocked[0].Held.Lock.Branch != "theirs" {
		t.Fatalf("acquire on an old snapshot: %v, want the lock of branch theirs", err)
	}
	if m.fetches != before+1 {
		t.Errorf("after the refused push the acquire read the remote %d times, want 1", m.fetches-before)
	}
}
