package git_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestLocalRefsAsGitReadsThem: the store reads its local refs in process;
// the answer must be git for-each-ref's whatever shape the refs are in:
// loose, packed, loose over packed, deleted from packed-refs, symbolic,
// a sibling namespace (refs/atollx/), a ref to a missing object, and a
// ref file git cannot parse (skipped with a warning).
func TestLocalRefsAsGitReadsThem(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	first := s.Git("rev-parse", "HEAD")
	s.Commit("second", map[string]string{"f": "1"})
	second := s.Git("rev-parse", "HEAD")
	for _, ref := range []string{"refs/atoll/locks/a", "refs/atoll/ledger/b", "refs/atoll/ledger/gone", "refs/atollx/c"} {
		s.Git("update-ref", ref, first)
	}
	s.Git("pack-refs", "--all")
	s.Git("update-ref", "refs/atoll/locks/a", second) // loose over packed
	s.Git("update-ref", "-d", "refs/atoll/ledger/gone")
	s.Git("update-ref", "refs/atoll/loose", second)
	s.Git("symbolic-ref", "refs/atoll/sym", "refs/heads/main")

	want := func() map[string]string {
		refs := map[string]string{}
		for _, l := range strings.Split(s.Git("for-each-ref", "--format=%(objectname) %(refname)", "refs/atoll/"), "\n") {
			if sha, ref, ok := strings.Cut(l, " "); ok {
				refs[ref] = sha
			}
		}
		return refs
	}
	check := func(what string) {
		t.Helper()
		// A new store each time, as each atoll run opens one.
		got, err := refStore(t, open(t, s.Work), "").Cached()
		if err != nil {
			t.Fatal(err)
		}
		if w := want(); !maps.Equal(got, w) {
			t.Errorf("%s: Cached() = %v\nwant (git for-each-ref) %v", what, got, w)
		}
	}
	check("packed, loose and symbolic refs")
	if got := want(); len(got) != 4 || got["refs/atoll/locks/a"] != second || got["refs/atoll/sym"] != second {
		t.Fatalf("the fixture is not what the test means: %v", got)
	}

	refs := filepath.Join(s.Work, ".git", "refs", "atoll")
	if err := os.WriteFile(filepath.Join(refs, "missing"), []byte(strings.Repeat("12", 20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a ref to a missing object")
	if err := os.WriteFile(filepath.Join(refs, "broken"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a ref file git cannot parse")

	// The local store's Fetch lists branches from the same read.
	_, branches, err := refStore(t, open(t, s.Work), "").Fetch(context.Background())
	if err != nil || !branches["main"] || len(branches) != 1 {
		t.Errorf("Fetch of the local store: branches %v, %v; want only main", branches, err)
	}
}
