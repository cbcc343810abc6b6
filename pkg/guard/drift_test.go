package guard_test

import (
	"context"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ledger"
)

// TestLastApply: the apply drift blames is the latest one that may have
// changed production; the base contains it or not.
func TestLastApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	feature, main := f.rev("feature"), f.rev("main")
	ctx := context.Background()
	last := func() (*ledger.Stored, bool) {
		t.Helper()
		repo := f.repo()
		cfg, err := config.Load(repo.Root, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		cmp, err := repo.ResolveBase("")
		if err != nil {
			t.Fatal(err)
		}
		r, err := guard.OpenRemote(ctx, f.ledger(repo), repo, cfg, nil, cmp.Base)
		if err != nil {
			t.Fatal(err)
		}
		st, onBase, err := r.LastApply("conf/b", "")
		if err != nil {
			t.Fatal(err)
		}
		return st, onBase
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	inputs := ""
	add := func(branch, head, result string, counts ledger.Counts, completes string) string {
		t.Helper()
		at = at.Add(time.Minute)
		id, err := f.ledger(f.repo()).Append(ctx, &ledger.Entry{Project: "conf/b", Dir: "conf/b", Branch: branch, Head: head,
			Result: result, Counts: counts, Completes: completes, Time: at, InputsHash: inputs})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	want := func(what, id, result string, onBase bool) {
		t.Helper()
		st, on := last()
		switch {
		case st == nil && id != "":
			t.Fatalf("%s: no apply, want %s", what, id)
		case st != nil && (st.ID != id || st.Entry.Result != result || on != onBase):
			t.Fatalf("%s: %s %s on base %v, want %s %s %v", what, st.ID, st.Entry.Result, on, id, result, onBase)
		}
	}
	want("never applied", "", "", false)

	started := add("feature", feature, ledger.Started, ledger.Counts{}, "")
	want("started, never completed", started, ledger.Started, false)
	done := add("feature", feature, ledger.Success, ledger.Counts{Change: 1}, started)
	want("feature applied", done, ledger.Success, false)

	// Later applies from main that changed nothing do not hide it.
	s2 := add("main", main, ledger.Started, ledger.Counts{}, "")
	add("main", main, ledger.Refused, ledger.Counts{}, s2)
	s3 := add("main", main, ledger.Started, ledger.Counts{}, "")
	add("main", main, ledger.Failed, ledger.Counts{}, s3)
	want("refused and empty failed applies from main", done, ledger.Success, false)

	// A failed apply from main that changed something is what runs now.
	s4 := add("main", main, ledger.Started, ledger.Counts{}, "")
	failed := add("main", main, ledger.Failed, ledger.Counts{Add: 1}, s4)
	want("failed apply from main with changes", failed, ledger.Failed, true)

	// Merged by squash: a commit main lacks, with the inputs main has.
	inputs = f.inputs(feature, "conf/b")
	squash := add("feature", feature, ledger.Success, ledger.Counts{Change: 1}, "")
	want("feature's conf/b equals main's", squash, ledger.Success, true)
}
