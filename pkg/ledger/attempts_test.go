package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// busyStore is a remote on which every push loses its race: another
// writer always moved the ref first.
type busyStore struct{ pushes int }

func (b *busyStore) Where() string { return "busy" }
func (b *busyStore) Fetch(context.Context) (map[string]string, map[string]bool, error) {
	// A lock exists and a ledger tip, each changing at every read.
	return map[string]string{LockRef("conf_a"): "l", LedgerRef("conf_a"): "e"}, nil, nil
}
func (b *busyStore) Cached() (map[string]string, error) { return nil, errors.New("never fetched") }
func (b *busyStore) Read(id string) ([]byte, []string, error) {
	return []byte(`{"format":1,"kind":"lock","dir":"conf/a","branch":"x"}`), nil, nil
}
func (b *busyStore) Write([]byte, []string, string) (string, error) { return "w", nil }
func (b *busyStore) Update(context.Context, []Update) error {
	b.pushes++
	return ErrConflict
}
func (b *busyStore) SavePending(Pending) error     { return nil }
func (b *busyStore) Pending() ([]Pending, error)   { return nil, nil }
func (b *busyStore) DropPending(name string) error { return nil }

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stale := func(*HeldLock, *Snapshot) (Verdict, error) { return Verdict{State: Stale}, nil }
	for name, run := range map[string]func(c *Client) error{
		"acquire": func(c *Client) error {
			_, err := c.Acquire(ctx, []*Lock{{Dir: "conf/a", Branch: "y"}}, stale)
			return err
		},
		"unlock": func(c *Client) error {
			_, err := c.Unlock(ctx, []string{"conf_a"}, "x", "", Identity{})
			return err
		},
		"append": func(c *Client) error {
			_, err := c.Append(ctx, &Entry{Dir: "conf/a"})
			return err
		},
	} {
		s := &busyStore{}
		c := &Client{Store: s, attempts: 3}
		err := run(c)
		var re *RemoteError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "other writers kept") || s.pushes != 3 {
			t.Errorf("%s: %v after %d pushes, want a RemoteError after 3", name, err, s.pushes)
		}
	}
	if (&Client{}).maxAttempts() != 100 {
		t.Error("the default bound on retries changed")
	}
}

func TestBackoffGrowsToASecond(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{0: 0, 1: 30 * time.Millisecond, 2: 60 * time.Millisecond, 33: 990 * time.Millisecond, 34: time.Second, 1000: time.Second} {
		if got := backoffLimit(attempt); got != want {
			t.Errorf("backoffLimit(%d) = %s, want %s", attempt, got, want)
		}
	}
	// A cancelled run does not wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	backoff(ctx, 1000)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("a cancelled backoff waited %s", d)
	}
}
