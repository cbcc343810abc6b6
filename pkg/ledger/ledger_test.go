package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/ledger"
)

// validComponent checks git's rules for one ref component
// (git check-ref-format), as far as a key can break them.
func validComponent(k string) bool {
	if k == "" || k == "@" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.HasSuffix(k, ".lock") ||
		strings.Contains(k, "..") || strings.Contains(k, "@{") || strings.Contains(k, "/") {
		return false
	}
	for _, c := range []byte(k) {
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	return true
}

func TestKeyIsInjectiveAndValid(t *testing.T) {
	t.Parallel()
	cases := [][2]string{
		{"conf/prod/vpc", ""}, {"conf/prod", ""}, {"conf_prod", ""}, {"conf%2Fprod", ""}, {".", ""}, {"", ""},
		{"conf/a", "default"}, {"conf/a", "staging"}, {"conf/a@staging", ""}, {"a b/c~d^e:f?g*h[i\\j", ""},
		{"x.lock", ""}, {"..", ""}, {"@{u}", ""}, {"conf/é", "ws/1"}, {"-", ""}, {"%", ""},
	}
	// Random directories too, bytes of every kind.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.Intn(12))
		for j := range b {
			b[j] = byte(r.Intn(256))
		}
		cases = append(cases, [2]string{string(b), []string{"", "w", "w@x"}[r.Intn(3)]})
	}
	seen := map[string][2]string{}
	for _, c := range cases {
		k := ledger.Key(c[0], c[1])
		if !validComponent(k) {
			t.Errorf("Key(%q, %q) = %q is not a valid ref component", c[0], c[1], k)
		}
		norm := c
		if norm[1] == "default" {
			norm[1] = ""
		}
		if prev, ok := seen[k]; ok && prev != norm {
			t.Errorf("Key(%q) == Key(%q) == %q", prev, norm, k)
		}
		seen[k] = norm
		d, w, ok := ledger.ParseKey(k)
		if !ok || d != norm[0] || w != norm[1] {
			t.Errorf("ParseKey(%q) = %q, %q, %v; want %q", k, d, w, ok, norm)
		}
	}
	if got := ledger.Key("conf/prod/vpc", ""); got != "conf_prod_vpc" {
		t.Errorf("readable keys: %q", got)
	}
}

// TestKeysAreStable: keys name refs that other versions of atoll (and
// other machines) read and write, so the encoding itself is fixed: every
// letter, digit and '-' as it is, '/' as '_', each other byte as %XX.
func TestKeysAreStable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ dir, ws, want string }{
		{"conf/prod-eks/vpc", "", "conf_prod-eks_vpc"},
		{"azAZ09-/_x", "", "azAZ09-_%5Fx"},
		{"conf/a.b c", "blue-2", "conf_a%2Eb%20c@blue-2"},
		{"conf/a", "Staging9", "conf_a@Staging9"},
		{"conf/é", "w/1", "conf_%C3%A9@w_1"},
		{"", "", "%"},
		{"@%", "default", "%40%25"},
	} {
		if got := ledger.Key(c.dir, c.ws); got != c.want {
			t.Errorf("Key(%q, %q) = %q, want %q", c.dir, c.ws, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	l := &ledger.Lock{Dir: "conf/a", Branch: "feature"}
	for _, c := range []struct {
		name string
		f    ledger.Facts
		want ledger.State
	}{
		{"branch open, not merged", ledger.Facts{BranchExists: true}, ledger.Held},
		{"branch open, applied, not merged", ledger.Facts{BranchExists: true, AppliedByHolder: true}, ledger.Held},
		{"merged", ledger.Facts{BranchExists: true, Merged: true}, ledger.Stale},
		{"merged and deleted", ledger.Facts{Merged: true, AppliedByHolder: true}, ledger.Stale},
		{"deleted unmerged after an apply", ledger.Facts{AppliedByHolder: true}, ledger.Orphaned},
		{"deleted unmerged, never applied", ledger.Facts{}, ledger.Stale},
		{"orphaned, then applied from the base", ledger.Facts{AppliedByHolder: true, RestoredFromBase: true}, ledger.Stale},
	} {
		v := ledger.Classify(l, "main", c.f)
		if v.State != c.want || v.Why == "" || v.Do == "" {
			t.Errorf("%s: %+v, want %s", c.name, v, c.want)
		}
	}
}

// memStore is a Store in memory with the same compare-and-swap rules.
type memStore struct {
	mu      sync.Mutex
	refs    map[string]string
	objects map[string][2]any
	n       int
	pending map[string][]byte
	down    bool

	// Counters and faults for the tests of the client's rules.
	fetches, updates int
	// race, when set, runs before an Update is judged: another writer
	// moving refs between the client's read and its push.
	race       func(refs map[string]string)
	updateErr  error // a non-conflict failure of every Update
	pendingErr error // Pending fails
	saveErr    error // SavePending fails
	readErr    map[string]error
}

func newMem() *memStore {
	return &memStore{refs: map[string]string{}, objects: map[string][2]any{}, pending: map[string][]byte{}}
}

func (m *memStore) Where() string { return "memory" }
func (m *memStore) Fetch(context.Context) (map[string]string, map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetches++
	if m.down {
		return nil, nil, errors.New("connection refused")
	}
	out := map[string]string{}
	for k, v := range m.refs {
		out[k] = v
	}
	return out, map[string]bool{"feature": true}, nil
}
func (m *memStore) Cached() (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.refs {
		out[k] = v
	}
	return out, nil
}
func (m *memStore) Read(id string) ([]byte, []string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readErr[id]; err != nil {
		return nil, nil, err
	}
	o, ok := m.objects[id]
	if !ok {
		return nil, nil, fmt.Errorf("no object %s", id)
	}
	return o[0].([]byte), o[1].([]string), nil
}
func (m *memStore) Write(data []byte, parents []string, _ string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	id := fmt.Sprintf("%040d", m.n)
	m.objects[id] = [2]any{data, parents}
	return id, nil
}
func (m *memStore) Update(_ context.Context, ups []ledger.Update) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates++
	if m.down {
		return errors.New("connection refused")
	}
	if m.updateErr != nil {
		return m.updateErr
	}
	if m.race != nil {
		m.race(m.refs)
	}
	for _, u := range ups {
		if m.refs[u.Ref] != u.Old {
			return fmt.Errorf("%s: %w", u.Ref, ledger.ErrConflict)
		}
	}
	for _, u := range ups {
		if u.New == "" {
			delete(m.refs, u.Ref)
		} else {
			m.refs[u.Ref] = u.New
		}
	}
	return nil
}
func (m *memStore) SavePending(p ledger.Pending) error {
	if m.saveErr != nil {
		return m.saveErr
	}
	m.pending[p.Name] = p.Data
	return nil
}

// Pending lists the kept entries oldest (by name) first, as pkg/git does.
func (m *memStore) Pending() ([]ledger.Pending, error) {
	if m.pendingErr != nil {
		return nil, m.pendingErr
	}
	var out []ledger.Pending
	for _, k := range slices.Sorted(maps.Keys(m.pending)) {
		out = append(out, ledger.Pending{Name: k, Data: m.pending[k]})
	}
	return out, nil
}
func (m *memStore) DropPending(name string) error { delete(m.pending, name); return nil }

func TestAppendRetriesAndKeepsWhatCannotBePushed(t *testing.T) {
	t.Parallel()
	m := newMem()
	var warnings []string
	c := &ledger.Client{Store: m, Warn: func(s string) { warnings = append(warnings, s) }}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := c.Append(ctx, &ledger.Entry{Dir: "conf/a", Head: fmt.Sprint(i), Result: ledger.Success}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	snap, _ := c.Load(ctx)
	if hist, _ := snap.History(ledger.Key("conf/a", ""), 0); len(hist) != 20 {
		t.Fatalf("%d entries, want 20", len(hist))
	}
	// The remote is down: the entry is kept, said loudly, not reported.
	m.down = true
	id, kept, err := c.AppendOrKeep(ctx, &ledger.Entry{Dir: "conf/a", Head: "x", Result: ledger.Failed, Time: time.Now()})
	if err != nil || !kept || id != "" || len(warnings) != 1 || !strings.Contains(warnings[0], "NOT recorded") {
		t.Fatalf("down: id %q kept %v err %v warnings %q", id, kept, err, warnings)
	}
	// Back up: the next command pushes it, once.
	m.down = false
	snap, _ = c.Load(ctx)
	hist, _ := snap.History(ledger.Key("conf/a", ""), 0)
	if len(hist) != 21 || hist[0].Entry.Head != "x" || len(m.pending) != 0 {
		t.Fatalf("after recovery: %d entries, tip %+v, pending %d", len(hist), hist[0].Entry, len(m.pending))
	}
	// A pending entry the remote already holds (accepted, not confirmed)
	// is not appended twice.
	m.pending["again"] = mustJSON(t, hist[0].Entry)
	snap, _ = c.Load(ctx)
	if again, _ := snap.History(ledger.Key("conf/a", ""), 0); len(again) != 21 {
		t.Fatalf("duplicate appended: %d entries", len(again))
	}
}

func TestAcquireIsAllOrNothing(t *testing.T) {
	t.Parallel()
	m := newMem()
	c := &ledger.Client{Store: m}
	ctx := context.Background()
	held := func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{State: ledger.Held}, nil
	}
	stale := func(*ledger.HeldLock, *ledger.Snapshot) (ledger.Verdict, error) {
		return ledger.Verdict{State: ledger.Stale}, nil
	}
	if _, err := c.Acquire(ctx, []*ledger.Lock{{Dir: "conf/b", Branch: "other"}}, held); err != nil {
		t.Fatal(err)
	}
	_, err := c.Acquire(ctx, []*ledger.Lock{{Dir: "conf/a", Branch: "feature"}, {Dir: "conf/b", Branch: "feature"}}, held)
	var le *ledger.LockedError
	if !errors.As(err, &le) || len(le.Blocked) != 1 {
		t.Fatalf("want conf/b blocked: %v", err)
	}
	if _, ok := m.refs[ledger.LockRef("conf_a")]; ok {
		t.Fatal("conf/a was locked although conf/b was not")
	}
	// The same, once conf/b's lock is stale: replaced, both taken.
	got, err := c.Acquire(ctx, []*ledger.Lock{{Dir: "conf/a", Branch: "feature"}, {Dir: "conf/b", Branch: "feature"}}, stale)
	if err != nil || len(got.Taken) != 2 || len(got.Released) != 1 {
		t.Fatalf("stale: %+v %v", got, err)
	}
}

func mustJSON(t *testing.T, e *ledger.Entry) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
