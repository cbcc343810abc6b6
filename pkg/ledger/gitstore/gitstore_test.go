package gitstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
)

func TestMain(m *testing.M) {
	// The store runs the git binary with the process's environment.
	for _, kv := range sandbox.Env() {
		k, v, _ := cut(kv)
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// clone makes another clone of the sandbox's origin, on its own branch.
func clone(t *testing.T, origin, branch string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	// The process's environment (hermetic, see TestMain), so that a test's
	// credential helper reaches the clone.
	if out, err := exec.Command("git", "clone", "-q", origin, dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone %s: %v: %s", origin, err, out)
	}
	if _, err := sandbox.Git(dir, "checkout", "-q", "-b", branch); err != nil {
		t.Fatal(err)
	}
	return dir
}

func client(t *testing.T, dir string) *ledger.Client {
	t.Helper()
	repo, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	s, err := gitstore.Open(repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	return &ledger.Client{Store: s}
}

func lock(dir, branch string) *ledger.Lock {
	return &ledger.Lock{Project: dir, Dir: dir, Branch: branch, Head: "0123456789abcdef0123456789abcdef01234567"}
}

func held(h *ledger.HeldLock, _ *ledger.Snapshot) (ledger.Verdict, error) {
	return ledger.Verdict{State: ledger.Held, Do: "wait"}, nil
}

func TestLocksOverFileRemote(t *testing.T) {
	sb := sandbox.New(t, map[string]string{"conf/a/main.tf": "", "conf/b/main.tf": ""})
	ctx := context.Background()
	a := client(t, clone(t, "file://"+sb.Origin, "feature-a"))
	b := client(t, clone(t, "file://"+sb.Origin, "feature-b"))

	got, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/a", "feature-a"), lock("conf/b", "feature-a")}, held)
	if err != nil || len(got.Taken) != 2 {
		t.Fatalf("first acquire: %+v, %v", got, err)
	}
	// Same branch again: a no-op.
	got, err = a.Acquire(ctx, []*ledger.Lock{lock("conf/a", "feature-a")}, held)
	if err != nil || len(got.Already) != 1 || len(got.Taken) != 0 {
		t.Fatalf("re-acquire: %+v, %v", got, err)
	}
	// Another branch, another clone: refused, naming the holder.
	_, err = b.Acquire(ctx, []*ledger.Lock{lock("conf/a", "feature-b")}, held)
	var le *ledger.LockedError
	if !errors.As(err, &le) || le.Blocked[0].Held.Lock.Branch != "feature-a" {
		t.Fatalf("second branch: %v", err)
	}
	// Not the holder: unlock refused without --force.
	_, err = b.Unlock(ctx, []string{ledger.Key("conf/a", "")}, "feature-b", "", ledger.Identity{User: "bob"})
	var nh *ledger.NotHolderError
	if !errors.As(err, &nh) {
		t.Fatalf("unlock by another branch: %v", err)
	}
	// Forced: released, and the ledger says so.
	un, err := b.Unlock(ctx, []string{ledger.Key("conf/a", "")}, "feature-b", "INC-1", ledger.Identity{User: "bob"})
	if err != nil || len(un.Released) != 1 {
		t.Fatalf("forced unlock: %+v %v", un, err)
	}
	snap, err := a.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := snap.Lock(ledger.Key("conf/a", "")); h != nil {
		t.Fatalf("conf/a still locked: %+v", h.Lock)
	}
	hist, err := snap.History(ledger.Key("conf/a", ""), 0)
	if err != nil || len(hist) != 1 || hist[0].Entry.Result != ledger.ForceUnlocked || hist[0].Entry.Force != "INC-1" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	// Several projects, one of them held: all or nothing.
	_, err = b.Acquire(ctx, []*ledger.Lock{lock("conf/a", "feature-b"), lock("conf/b", "feature-b")}, held)
	if !errors.As(err, &le) {
		t.Fatalf("want conf/b held: %v", err)
	}
	snap, _ = b.Load(ctx)
	if h, _ := snap.Lock(ledger.Key("conf/a", "")); h != nil {
		t.Fatalf("conf/a was taken although conf/b was not: %+v", h.Lock)
	}
}

func TestLocalStoreWithoutRemote(t *testing.T) {
	dir := t.TempDir()
	if _, err := sandbox.Git(dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.Git(dir, "commit", "-q", "--allow-empty", "-m", "x"); err != nil {
		t.Fatal(err)
	}
	c := client(t, dir)
	if c.Store.Where() != "this repository (no remote)" {
		t.Fatal(c.Store.Where())
	}
	ctx := context.Background()
	if _, err := c.Acquire(ctx, []*ledger.Lock{lock("conf/a", "x")}, held); err != nil {
		t.Fatal(err)
	}
	_, err := c.Acquire(ctx, []*ledger.Lock{lock("conf/a", "y")}, held)
	var le *ledger.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("want locked: %v", err)
	}
	out, _ := sandbox.Git(dir, "for-each-ref", "refs/atoll/")
	if out == "" {
		t.Fatal("no refs/atoll in the local repository")
	}
}

// Eight appenders, each its own git push: eight entries, none lost, in
// the order the remote accepted them (each one's parent is the entry
// accepted before it). Eight is enough for pushes to race; twenty took
// minutes of git processes on a loaded machine.
func TestConcurrentAppenders(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(t, map[string]string{"conf/a/main.tf": ""})
	ctx := context.Background()
	const n = 8
	clients := make([]*ledger.Client, n)
	for i := range clients {
		clients[i] = client(t, clone(t, "file://"+sb.Origin, fmt.Sprintf("b%d", i)))
	}
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id, err := clients[i].Append(ctx, &ledger.Entry{Dir: "conf/a", Project: "conf/a", Branch: fmt.Sprintf("b%d", i), Head: "0123456789abcdef0123456789abcdef01234567", Result: ledger.Success})
			ids[i] = id
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	snap, err := clients[0].Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := snap.History(ledger.Key("conf/a", ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != n {
		t.Fatalf("%d entries, want %d", len(hist), n)
	}
	seen := map[string]bool{}
	for _, h := range hist {
		seen[h.ID] = true
	}
	for i, id := range ids {
		if !seen[id] {
			t.Errorf("appender %d's entry %s is not in the ledger", i, id)
		}
	}
}
