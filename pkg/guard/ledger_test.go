package guard_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
)

// lockTime is when the locks of these tests were taken; entries are
// placed around it.
var lockTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var ana = ledger.Identity{User: "ana", Host: "laptop"}

// lock writes a lock to origin, replacing the one there.
func (f *fixture) lock(l ledger.Lock) {
	f.t.Helper()
	if l.Project == "" {
		l.Project = l.Dir
	}
	if l.Time.IsZero() {
		l.Time = lockTime
	}
	if l.Who == (ledger.Identity{}) {
		l.Who = ana
	}
	if _, err := sandbox.Git(f.Origin, "update-ref", "-d", ledger.LockRef(l.Key())); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.ledger(f.repo()).Acquire(context.Background(), []*ledger.Lock{&l}, nil); err != nil {
		f.t.Fatal(err)
	}
}

// entry appends a ledger entry to origin, at lockTime plus after.
func (f *fixture) entry(e ledger.Entry, after time.Duration) {
	f.t.Helper()
	if e.Project == "" {
		e.Project = e.Dir
	}
	e.Time = lockTime.Add(after)
	if _, err := f.ledger(f.repo()).Append(context.Background(), &e); err != nil {
		f.t.Fatal(err)
	}
}

// branch commits files on a new branch from main, pushes it when asked,
// and returns to feature.
func (f *fixture) branch(name string, push bool, files map[string]string) string {
	f.t.Helper()
	f.Git("checkout", "-q", "-b", name, "main")
	sha := f.Commit(name, files)
	if push {
		f.Push(name)
	}
	f.Git("checkout", "-q", "feature")
	return sha
}

// remote is the guard's view of origin's locks and ledger.
func (f *fixture) remote() *guard.Remote {
	f.t.Helper()
	repo := f.repo()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	cmp, err := repo.ResolveBase(cfg.Base)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := guard.OpenRemote(context.Background(), f.ledger(repo), repo, cfg, nil, cmp.Base)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) hasRef(ref string) bool {
	_, err := sandbox.Git(f.Origin, "rev-parse", "-q", "--verify", ref)
	return err == nil
}

// ledgerCommits are the commits the lock and ledger cases name.
type ledgerCommits struct {
	base  string // origin/main
	early string // feature's first commit: in HEAD's history, not on main
	head  string // feature's tip
	other string // branch other's tip (pushed): on neither
	// baseInputs is conf/a's inputs hash at the base.
	baseInputs string
}

func newLedgerFixture(t *testing.T) (*fixture, ledgerCommits) {
	f := newFixture(t, nil)
	c := ledgerCommits{base: f.rev("origin/main"), early: f.rev("HEAD")}
	c.head = f.Commit("a: more", map[string]string{"conf/a/extra.tf": "# more\n"})
	c.other = f.branch("other", true, map[string]string{"conf/a/main.tf": "# other\n"})
	c.baseInputs = f.inputs(c.base, "conf/a")
	return f, c
}

// lockStep is one case of TestLocksCheck.
type lockStep struct {
	name  string
	setup func(f *fixture, c ledgerCommits)
	// merge and apply are the expected results of each stage's check
	// (detail: contained in the failing one's detail).
	merge, apply guard.Result
	detail       string
	// released: the lock of conf/a is gone from origin afterwards.
	released bool
}

// TestLocksCheck: the locks check of the merge and apply stages, for every
// state a lock can be in and every kind of latest apply.
func TestLocksCheck(t *testing.T) {
	t.Parallel()
	type step = lockStep
	gone := func(c ledgerCommits, pushed bool) ledger.Lock {
		return ledger.Lock{Dir: "conf/a", Branch: "gone", Head: c.other, Pushed: pushed}
	}
	steps := []step{
		{name: "no lock", setup: func(*fixture, ledgerCommits) {}, merge: guard.Pass, apply: guard.Pass},
		{name: "held by another branch", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
		}, merge: guard.Fail, apply: guard.Fail, detail: "conf/a: locked by branch other ({other}), ana@laptop, for "},
		{name: "another project's lock", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/b", Branch: "other", Head: c.other, Pushed: true})
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "this branch's own lock", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/a", Branch: "feature", Head: c.head})
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "merged: stale, released", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/a", Branch: "done", Head: c.base, Pushed: true})
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "squash-merged: the base has its inputs", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, InputsHash: c.baseInputs, Pushed: true})
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "other inputs than the base's", setup: func(f *fixture, c ledgerCommits) {
			f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, InputsHash: "0123", Pushed: true})
		}, merge: guard.Fail, apply: guard.Fail, detail: "(held)"},
		{name: "branch gone, never applied: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch never pushed: held", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, false))
		}, merge: guard.Fail, apply: guard.Fail, detail: "conf/a: locked by branch gone"},
		{name: "branch gone after applying: orphaned", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
		}, merge: guard.Fail, apply: guard.Fail, detail: "(orphaned): apply the project from main again"},
		{name: "branch gone, applied only before its lock: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, -time.Hour)
		}, merge: guard.Pass, apply: guard.Fail, detail: "production holds branch gone's apply", released: true},
		{name: "branch gone, force-unlocked only: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.ForceUnlocked}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch gone after applying, then applied from main: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: c.base, Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch gone after applying, then a commit of main applied: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "fix", Head: c.base, Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch gone after applying, then another branch's unmerged apply: orphaned", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "later", Head: c.other, Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Fail, apply: guard.Fail, detail: "(orphaned)"},
		{name: "branch gone after applying, then applied from a main this clone lacks: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: strings.Repeat("7", 40), Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch gone after applying, then main's apply failed: orphaned", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: c.base, Result: ledger.Failed}, 2*time.Hour)
		}, merge: guard.Fail, apply: guard.Fail, detail: "(orphaned)"},
		{name: "branch gone, applied after main's apply: orphaned", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: c.base, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Fail, apply: guard.Fail, detail: "(orphaned)"},
		{name: "branch gone after applying what main now has: stale", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, InputsHash: c.baseInputs, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass, released: true},
		{name: "branch gone after a failed apply of what main now has: orphaned", setup: func(f *fixture, c ledgerCommits) {
			f.lock(gone(c, true))
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, InputsHash: c.baseInputs, Result: ledger.Failed, Counts: ledger.Counts{Add: 1}}, time.Hour)
		}, merge: guard.Fail, apply: guard.Fail, detail: "(orphaned)"},

		// The apply stage also refuses to revert another branch's apply.
		{name: "another branch's unmerged apply", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Fail, detail: "conf/a: production holds branch other's apply ({other}), which is not on main: applying would revert it"},
		{name: "another project's unmerged apply", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/b", Branch: "other", Head: c.other, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "main's apply", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: c.base, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "this branch's apply", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "feature", Head: c.early, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "a failed apply that changed nothing", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Failed}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "a failed apply that changed something", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Failed, Counts: ledger.Counts{Destroy: 1}}, time.Hour)
		}, merge: guard.Pass, apply: guard.Fail, detail: "production holds branch other's apply"},
		{name: "an interrupted apply", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Interrupted}, time.Hour)
		}, merge: guard.Pass, apply: guard.Fail, detail: "production holds branch other's apply"},
		{name: "another branch's apply, squash-merged since", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, InputsHash: c.baseInputs, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "another branch's apply, merged since", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "release", Head: c.base, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "another branch's apply of a commit this branch has", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "early", Head: c.early, Result: ledger.Success}, time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
		{name: "another branch's apply, then an unlock", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "main", Head: c.base, Result: ledger.ForceUnlocked}, 2*time.Hour)
		}, merge: guard.Pass, apply: guard.Fail, detail: "production holds branch other's apply"},
		{name: "another branch's apply, then this branch's", setup: func(f *fixture, c ledgerCommits) {
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, time.Hour)
			f.entry(ledger.Entry{Dir: "conf/a", Branch: "feature", Head: c.head, Result: ledger.Success}, 2*time.Hour)
		}, merge: guard.Pass, apply: guard.Pass},
	}
	// Three fixtures, side by side: each step pushes to origin, and the
	// steps of one fixture run one after the other.
	const part = 10
	for i := 0; i < len(steps); i += part {
		steps := steps[i:min(i+part, len(steps))]
		t.Run(fmt.Sprintf("part %d", i/part), func(t *testing.T) {
			t.Parallel()
			f, c := newLedgerFixture(t)
			for _, st := range steps {
				st.run(t, f, c)
			}
		})
	}
}

func (st lockStep) run(t *testing.T, f *fixture, c ledgerCommits) {
	lockRef := "refs/atoll/locks/" + ledger.Key("conf/a", "")
	t.Run(st.name, func(t *testing.T) {
		f.clearLedger()
		st.setup(f, c)
		// The merge stage first: a stale lock it releases is a lock
		// the apply stage would have ignored.
		for _, stage := range []guard.Stage{guard.StageMerge, guard.StageApply} {
			want := st.merge
			if stage == guard.StageApply {
				want = st.apply
			}
			rep := f.run(guard.Options{Stage: stage, Skip: []string{guard.Applied, guard.Planned}})
			got := check(t, rep, guard.Locks)
			detail := "no other branch holds a lock on the 1 affected project(s)"
			if want == guard.Fail {
				detail = strings.ReplaceAll(st.detail, "{other}", c.other[:8])
			}
			wantResult(t, got, want, detail)
			if want == guard.Fail && (!reflect.DeepEqual(got.Projects, []string{"conf/a"}) || !strings.Contains(got.Hint, "wait until that branch is merged") || rep.Passed) {
				t.Errorf("%s: projects %v, hint %q, passed %v", stage, got.Projects, got.Hint, rep.Passed)
			}
			if want == guard.Pass && len(got.Projects) != 0 {
				t.Errorf("%s: a pass names %v", stage, got.Projects)
			}
			if st.released && f.hasRef(lockRef) {
				t.Errorf("%s: the stale lock was not released", stage)
			}
			if !st.released && st.merge == guard.Fail && !f.hasRef(lockRef) {
				t.Errorf("%s: a lock that is not stale was released", stage)
			}
		}
	})
}

// TestLocksCheckFromTheBase: applying from the base branch restores
// main == production, so neither an orphaned lock nor another branch's
// apply stops it.
func TestLocksCheckFromTheBase(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "gone", Head: c.other, Pushed: true})
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
	h, _ := git.ParseHash(c.head)
	for _, stage := range []guard.Stage{guard.StageMerge, guard.StageApply} {
		as := func(branch string) guard.Check {
			return check(t, f.run(guard.Options{Stage: stage, Head: &git.Head{SHA: h, Branch: branch}, Skip: []string{guard.Applied, guard.Planned}}), guard.Locks)
		}
		wantResult(t, as("main"), guard.Pass, "no other branch holds a lock")
		wantResult(t, as("feature"), guard.Fail, "(orphaned)")
	}
	// Held by a branch that exists: it blocks main too.
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
	wantResult(t, check(t, f.run(guard.Options{Head: &git.Head{SHA: h, Branch: "main"}, Skip: []string{guard.Applied}}), guard.Locks), guard.Fail, "locked by branch other")
}

// TestLocksCheckDetachedHead: in CI, HEAD is detached: the branch comes
// from --branch, or, without it, a lock whose commit HEAD contains is the
// branch's own.
func TestLocksCheckDetachedHead(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.Git("checkout", "-q", "--detach", "feature")
	merge := guard.Options{Skip: []string{guard.Applied}}

	f.lock(ledger.Lock{Dir: "conf/a", Branch: "feature", Head: c.early, Pushed: true})
	wantResult(t, check(t, f.run(merge), guard.Locks), guard.Pass, "no other branch")
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
	wantResult(t, check(t, f.run(merge), guard.Locks), guard.Fail, "locked by branch other")
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: "not-a-commit", Pushed: true})
	wantResult(t, check(t, f.run(merge), guard.Locks), guard.Fail, "locked by branch other (not-a-co)")
	// --branch names it: a lock of that name is its own, whatever commit.
	named := merge
	named.Branch = "other"
	wantResult(t, check(t, f.run(named), guard.Locks), guard.Pass, "no other branch")
	named.Branch = "feature"
	wantResult(t, check(t, f.run(named), guard.Locks), guard.Fail, "locked by branch other")
}

// TestLocksCheckCannotRead: a lock ref that holds no atoll lock, or a
// remote that cannot be read, is no answer: the check cannot be evaluated.
func TestLocksCheckCannotRead(t *testing.T) {
	t.Parallel()
	f, _ := newLedgerFixture(t)
	tree := f.Git("write-tree")
	commit := f.Git("commit-tree", "-m", "not atoll", tree)
	f.Push(commit + ":refs/atoll/locks/" + ledger.Key("conf/a", ""))
	_, err := f.try(guard.Options{Skip: []string{guard.Applied}})
	if !isEvalError(err, guard.Locks) || !strings.Contains(err.Error(), "refs/atoll/locks/conf_a") {
		t.Errorf("unreadable lock: %v", err)
	}
	f.clearLedger()

	// No ledger client: a bug, said so.
	repo := f.repo()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = guard.Run(guard.Options{Repo: repo, Config: cfg, Workdir: f.workdir, Stage: guard.StageMerge, Skip: []string{guard.Applied}})
	if !isEvalError(err, guard.Locks) || !strings.Contains(err.Error(), "no ledger to read") {
		t.Errorf("no ledger: %v", err)
	}

	// A remote that cannot be reached.
	f.Git("remote", "set-url", "origin", t.TempDir()+"/nowhere.git")
	_, err = f.try(guard.Options{})
	if !isEvalError(err, guard.Applied) {
		t.Errorf("unreachable remote: %v", err)
	}
	_, err = f.try(guard.Options{Skip: []string{guard.Applied}})
	if !isEvalError(err, guard.Locks) || !strings.Contains(err.Error(), "nowhere.git") {
		t.Errorf("unreachable remote, locks: %v", err)
	}
}

// TestRemoteGiven: a Remote loaded by the caller is what the checks read:
// the ledger is not fetched again.
func TestRemoteGiven(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
	r := f.remote()
	f.clearLedger()
	rep, err := f.try(guard.Options{Remote: r, Skip: []string{guard.Applied}})
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, check(t, rep, guard.Locks), guard.Fail, "locked by branch other")
}

// TestRevertsByLock: a lock another branch holds is a change production
// may hold and this branch's plan would revert, unless this branch has
// its commit, the lock is stale, or this branch is the base.
func TestRevertsByLock(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	head, _ := git.ParseHash(c.head)
	other, _ := git.ParseHash(c.other)

	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
	r := f.remote()
	rv, err := r.Reverts("conf/a", "", head, "feature")
	if err != nil || rv == nil || *rv != (guard.Revert{Branch: "other", Head: c.other, Why: "lock"}) {
		t.Fatalf("held by other: %+v, %v", rv, err)
	}
	if got, want := rv.String(), "this plan would revert branch other's apply ("+c.other[:7]+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for name, rv := range map[string]func() (*guard.Revert, error){
		"from the base":         func() (*guard.Revert, error) { return r.Reverts("conf/a", "", head, "main") },
		"from the holder":       func() (*guard.Revert, error) { return r.Reverts("conf/a", "", other, "other") },
		"containing its commit": func() (*guard.Revert, error) { return r.Reverts("conf/a", "", other, "later") },
		"another project":       func() (*guard.Revert, error) { return r.Reverts("conf/b", "", head, "feature") },
		"another workspace":     func() (*guard.Revert, error) { return r.Reverts("conf/a", "prod", head, "feature") },
	} {
		if got, err := rv(); got != nil || err != nil {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}

	// Stale (merged): no revert by lock; the ledger still decides.
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, InputsHash: c.baseInputs, Pushed: true})
	if rv, err := f.remote().Reverts("conf/a", "", head, "feature"); rv != nil || err != nil {
		t.Errorf("stale lock: %+v, %v", rv, err)
	}
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, time.Hour)
	if rv, err := f.remote().Reverts("conf/a", "", head, "feature"); err != nil || rv == nil || rv.Why != "ledger" || rv.Branch != "other" || rv.Head != c.other {
		t.Errorf("stale lock, unmerged apply: %+v, %v", rv, err)
	}
	// The latest apply is the branch's own, at a commit its history no
	// longer has (amended, force-pushed): applying again is no revert.
	if rv, err := f.remote().Reverts("conf/a", "", head, "other"); rv != nil || err != nil {
		t.Errorf("own apply at a rewritten commit: %+v, %v", rv, err)
	}
}

// TestLocksReport: atoll locks lists every lock with its state, and its
// stale ones to release.
func TestLocksReport(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.lock(ledger.Lock{Dir: "conf/b", Branch: "done", Head: c.base, Pushed: true, Reason: "migrating"})
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: c.other, Pushed: true})
	f.lock(ledger.Lock{Dir: "conf/c", Branch: "gone", Head: c.other, Pushed: true, Time: lockTime.Add(-3 * time.Hour)})
	f.entry(ledger.Entry{Dir: "conf/c", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
	r := f.remote()
	rep, err := r.Locks(lockTime.Add(90 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Base != "main" || rep.Where != r.Snap.Where || !strings.Contains(rep.Where, "origin") {
		t.Errorf("base %q, where %q", rep.Base, rep.Where)
	}
	type row struct {
		dir, branch, head, age, reason string
		state                          ledger.State
	}
	var got []row
	for _, l := range rep.Locks {
		got = append(got, row{l.Dir, l.Branch, l.Head, l.Age, l.Reason, l.State})
		if l.Project != l.Dir || l.Who != ana || l.Ref != "refs/atoll/locks/"+ledger.Key(l.Dir, "") || l.ID == "" || l.Why == "" || l.Do == "" {
			t.Errorf("%s: %+v", l.Dir, l)
		}
	}
	want := []row{
		{"conf/a", "other", c.other, "1h", "", ledger.Held},
		{"conf/b", "done", c.base, "1h", "migrating", ledger.Stale},
		{"conf/c", "gone", c.other, "4h", "", ledger.Orphaned},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("locks:\n%+v\nwant\n%+v", got, want)
	}
	stale := rep.StaleLocks()
	if len(stale) != 1 || stale[0].Lock.Dir != "conf/b" || stale[0].Ref != rep.Locks[1].Ref {
		t.Errorf("stale locks: %+v", stale)
	}
	if rep, err := r.Locks(lockTime); err != nil || len(rep.Locks) != 3 || len(rep.StaleLocks()) != 1 {
		t.Errorf("again: %+v, %v", rep, err)
	}
}

// TestClassifier: taking a lock from the base branch replaces an
// orphaned one (that apply restores main == production); from any other
// branch the verdict is the lock's state.
func TestClassifier(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "gone", Head: c.other, Pushed: true})
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "gone", Head: c.other, Result: ledger.Success}, time.Hour)
	f.lock(ledger.Lock{Dir: "conf/b", Branch: "other", Head: c.other, Pushed: true})
	r := f.remote()
	for _, tt := range []struct {
		dir, branch string
		want        ledger.State
	}{
		{"conf/a", "main", ledger.Stale},
		{"conf/a", "feature", ledger.Orphaned},
		{"conf/b", "main", ledger.Held},
		{"conf/b", "feature", ledger.Held},
	} {
		h, err := r.Snap.Lock(ledger.Key(tt.dir, ""))
		if err != nil || h == nil {
			t.Fatalf("%s: %v", tt.dir, err)
		}
		v, err := r.Classifier(tt.branch)(h, r.Snap)
		if err != nil || v.State != tt.want {
			t.Errorf("%s wanted by %s: %+v, %v; want %s", tt.dir, tt.branch, v, err, tt.want)
		}
	}
}

// TestHistoryReport: entries of every ledger (or those asked for),
// newest first, at most n.
func TestHistoryReport(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, 1*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.Success}, 2*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Failed}, 3*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.ForceUnlocked}, 4*time.Hour)
	r := f.remote()
	type row struct {
		dir, result string
	}
	rows := func(keys []string, n int) []row {
		t.Helper()
		rep, err := r.History(keys, n)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Where != r.Snap.Where {
			t.Errorf("where %q", rep.Where)
		}
		out := []row{}
		for _, e := range rep.Entries {
			if e.ID == "" {
				t.Errorf("entry without id: %+v", e)
			}
			out = append(out, row{e.Dir, e.Result})
		}
		return out
	}
	all := []row{{"conf/b", ledger.ForceUnlocked}, {"conf/a", ledger.Failed}, {"conf/b", ledger.Success}, {"conf/a", ledger.Success}}
	if got := rows(nil, 0); !reflect.DeepEqual(got, all) {
		t.Errorf("all: %v, want %v", got, all)
	}
	if got := rows(nil, 3); !reflect.DeepEqual(got, all[:3]) {
		t.Errorf("3: %v, want %v", got, all[:3])
	}
	if got := rows(nil, 1); !reflect.DeepEqual(got, all[:1]) {
		t.Errorf("1: %v, want %v", got, all[:1])
	}
	a := []row{{"conf/a", ledger.Failed}, {"conf/a", ledger.Success}}
	if got := rows([]string{ledger.Key("conf/a", "")}, 0); !reflect.DeepEqual(got, a) {
		t.Errorf("conf/a: %v, want %v", got, a)
	}
	if got := rows([]string{ledger.Key("conf/a", "")}, 1); !reflect.DeepEqual(got, a[:1]) {
		t.Errorf("conf/a, 1: %v, want %v", got, a[:1])
	}
	if got := rows([]string{ledger.Key("conf/c", "")}, 0); len(got) != 0 {
		t.Errorf("conf/c: %v", got)
	}
}

// TestStatusReport: per project, is what production last got on the base?
func TestStatusReport(t *testing.T) {
	t.Parallel()
	f, c := newLedgerFixture(t)
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Success}, 1*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, Result: ledger.Refused}, 2*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.Success}, 1*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.ForceUnlocked}, 2*time.Hour)
	f.entry(ledger.Entry{Dir: "conf/x", Branch: "main", Head: c.base, Result: ledger.Started}, 1*time.Hour)
	f.lock(ledger.Lock{Dir: "conf/y", Branch: "other", Head: c.other, Pushed: true})
	r := f.remote()
	now := lockTime.Add(3 * time.Hour)
	status := func(projects [][2]string) *guard.StatusReport {
		t.Helper()
		rep, err := r.Status(projects, map[string]string{"conf/a": "alpha"}, now)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	type row struct {
		project, dir, onBase, applied string
		locked                        bool
	}
	rows := func(rep *guard.StatusReport) []row {
		var out []row
		for _, p := range rep.Projects {
			applied := ""
			if p.Applied != nil {
				applied = p.Applied.Result + "@" + p.Applied.Branch
			}
			out = append(out, row{p.Project, p.Dir, p.OnBase, applied, p.Lock != nil})
		}
		return out
	}
	rep := status([][2]string{{"conf/c", ""}, {"conf/a", ""}})
	want := []row{
		{"alpha", "conf/a", "no", "success@other", false},
		{"conf/b", "conf/b", "yes", "success@main", false},
		{"conf/c", "conf/c", "-", "", false},
		{"conf/x", "conf/x", "unknown", "started@main", false},
		{"conf/y", "conf/y", "-", "", true},
	}
	if !reflect.DeepEqual(rows(rep), want) || rep.InSync || rep.Base != "main" || rep.BaseSHA != c.base || rep.Where != r.Snap.Where {
		t.Errorf("status:\n%+v\nwant\n%+v\n(in sync %v, base %s %s)", rows(rep), want, rep.InSync, rep.Base, rep.BaseSHA)
	}
	if l := rep.Projects[4].Lock; l.Branch != "other" || l.State != ledger.Held || l.Age != "3h" {
		t.Errorf("conf/y's lock: %+v", l)
	}

	// Only what is on the base: in sync. A started apply is not.
	f.clearLedger()
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.Success}, time.Hour)
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "other", Head: c.other, InputsHash: c.baseInputs, Result: ledger.Success}, time.Hour)
	r = f.remote()
	rep = status([][2]string{{"conf/c", ""}})
	if !rep.InSync || len(rep.Projects) != 3 || rep.Projects[0].OnBase != "yes" || rep.Projects[1].OnBase != "yes" || rep.Projects[2].OnBase != "-" {
		t.Errorf("in sync: %+v, %v", rows(rep), rep.InSync)
	}
	f.entry(ledger.Entry{Dir: "conf/b", Branch: "main", Head: c.base, Result: ledger.Started}, 2*time.Hour)
	r = f.remote()
	if rep := status(nil); rep.InSync || rep.Projects[1].OnBase != "unknown" {
		t.Errorf("started: %+v, %v", rows(rep), rep.InSync)
	}
}

// TestWorkspaceLedgers: a project with a workspace has its own lock and
// ledger, which the checks read.
func TestWorkspaceLedgers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"atoll.yaml": "projects:\n  - dir: conf/a\n    workspace: prod\n"})
	other := f.branch("other", true, map[string]string{"conf/a/main.tf": "# other\n"})
	if guard.WorkspaceOf(f.remote().Config, "conf/a") != "prod" || guard.WorkspaceOf(f.remote().Config, "conf/b") != "" {
		t.Fatal("WorkspaceOf")
	}
	f.lock(ledger.Lock{Dir: "conf/a", Branch: "other", Head: other, Pushed: true})
	wantResult(t, check(t, f.run(guard.Options{Skip: []string{guard.Applied}}), guard.Locks), guard.Pass, "no other branch")
	f.lock(ledger.Lock{Dir: "conf/a", Workspace: "prod", Branch: "other", Head: other, Pushed: true})
	wantResult(t, check(t, f.run(guard.Options{Skip: []string{guard.Applied}}), guard.Locks), guard.Fail, "locked by branch other")

	head := f.rev("HEAD")
	f.clearLedger()
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "feature", Head: head, Result: ledger.Success}, time.Hour)
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Fail, "never applied")
	f.entry(ledger.Entry{Dir: "conf/a", Workspace: "prod", Branch: "feature", Head: head, Result: ledger.Success}, time.Hour)
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Pass, "applied with HEAD's inputs")
}
