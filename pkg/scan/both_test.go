package scan

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/project"
)

// The merge-base's discovery runs beside HEAD's: a parse it would share
// waits for HEAD's parses and takes their result; HEAD's error wins; and
// a HEAD that fails before it parses anything never leaves the merge-base
// waiting.
func TestBothGraphs(t *testing.T) {
	t.Parallel()
	calls := []project.Call{{Name: "m", Source: "../m", Line: 3}}
	within := func(t *testing.T, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("bothGraphs did not return: the merge-base's discovery was left waiting")
		}
	}

	t.Run("shared parse", func(t *testing.T) {
		t.Parallel()
		store := cache.Open(t.TempDir(), "test")
		var seen []project.Call
		var found bool
		within(t, func() {
			_, _, err := bothGraphs(store,
				func(c project.Cache, parsed func()) (*project.Graph, error) {
					time.Sleep(20 * time.Millisecond) // the merge-base asks first
					c.SetCalls("blob:native", calls)
					parsed()
					return &project.Graph{}, nil
				},
				func(c project.Cache) (*project.Graph, error) {
					seen, found = c.Calls("blob:native")
					return &project.Graph{}, nil
				})
			if err != nil {
				t.Error(err)
			}
		})
		if !found || !reflect.DeepEqual(seen, calls) {
			t.Errorf("the merge-base's lookup got %v, %v; want HEAD's parse %v", seen, found, calls)
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		headErr, baseErr := errors.New("head"), errors.New("base")
		for name, c := range map[string]struct {
			head, base, want error
		}{
			"head fails before parsing": {headErr, nil, headErr},
			"both fail":                 {headErr, baseErr, headErr},
			"base fails":                {nil, baseErr, baseErr},
		} {
			store := cache.Open(t.TempDir(), "test")
			within(t, func() {
				_, _, err := bothGraphs(store,
					func(project.Cache, func()) (*project.Graph, error) { return nil, c.head },
					func(pc project.Cache) (*project.Graph, error) {
						pc.Calls("never-parsed") // a miss: waits for HEAD
						return nil, c.base
					})
				if !errors.Is(err, c.want) {
					t.Errorf("%s: %v, want %v", name, err, c.want)
				}
			})
		}
	})

	t.Run("no cache", func(t *testing.T) {
		t.Parallel()
		within(t, func() {
			h, b, err := bothGraphs(nil,
				func(c project.Cache, parsed func()) (*project.Graph, error) {
					if c != nil {
						t.Error("a parse cache without a store")
					}
					return &project.Graph{Warnings: []string{"h"}}, nil
				},
				func(c project.Cache) (*project.Graph, error) {
					if c != nil {
						t.Error("a parse cache without a store")
					}
					return &project.Graph{Warnings: []string{"b"}}, nil
				})
			if err != nil || h.Warnings[0] != "h" || b.Warnings[0] != "b" {
				t.Errorf("got %v %v %v", h, b, err)
			}
		})
	})
}
