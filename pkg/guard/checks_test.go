package guard_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/record"
)

// TestUpToDateAtTheBaseTip: on the base branch, or on a branch that has
// no commits of its own, HEAD is the base's tip.
func TestUpToDateAtTheBaseTip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	plan := guard.Options{Stage: guard.StagePlan}
	f.Git("checkout", "-q", "main")
	wantResult(t, check(t, f.run(plan), guard.UpToDate), guard.Pass, "HEAD is the tip of origin/main")
	f.Git("checkout", "-q", "-b", "fresh")
	wantResult(t, check(t, f.run(plan), guard.UpToDate), guard.Pass, "HEAD is the tip of origin/main")
}

// TestUpToDateListsTwentyCommits: far behind, the detail counts every
// commit and the list stops at twenty.
func TestUpToDateListsTwentyCommits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.Git("checkout", "-q", "main")
	for i := 0; i < 21; i++ {
		f.Git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("empty %d", i))
	}
	f.Push("main")
	f.Git("checkout", "-q", "feature")
	c := check(t, f.run(guard.Options{Stage: guard.StagePlan}), guard.UpToDate)
	wantResult(t, c, guard.Warn, "21 commits behind origin/main")
	if len(c.Commits) != 20 || c.Commits[0].Subject != "empty 20" || c.Commits[19].Subject != "empty 1" {
		t.Errorf("%d commits listed: %+v", len(c.Commits), c.Commits)
	}
}

// TestManyProblems: a failing check names five problems and counts the
// rest; the clean check lists five changes and counts them all.
func TestManyProblems(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for i := 1; i <= 6; i++ {
		files[fmt.Sprintf("conf/p%d/main.tf", i)] = "# p\n"
	}
	f := &fixture{T: sandbox.New(t, files), t: t, workdir: t.TempDir()}
	f.Git("checkout", "-q", "-b", "feature")
	edits := map[string]string{}
	for k := range files {
		edits[k] = "# edited\n"
	}
	head := f.Commit("edit all", edits)
	merge := guard.Options{Skip: []string{guard.Locks}}

	c := check(t, f.run(merge), guard.Applied)
	wantResult(t, c, guard.Fail, "conf/p1: never applied; conf/p2: never applied; conf/p3: never applied; conf/p4: never applied; conf/p5: never applied; and 1 more")
	if len(c.Projects) != 6 {
		t.Errorf("projects: %v", c.Projects)
	}
	f.entry(ledger.Entry{Dir: "conf/p3", Branch: "feature", Head: head, Result: ledger.Success}, time.Hour)
	c = check(t, f.run(merge), guard.Applied)
	if c.Result != guard.Fail || c.Detail != "conf/p1: never applied; conf/p2: never applied; conf/p4: never applied; conf/p5: never applied; conf/p6: never applied" {
		t.Errorf("five problems: %s %q", c.Result, c.Detail)
	}

	var untracked []string
	for i := 1; i <= 6; i++ {
		untracked = append(untracked, fmt.Sprintf("conf/p1/new%d.tf", i))
		f.Write(map[string]string{untracked[i-1]: "# new\n"})
	}
	c = check(t, f.run(guard.Options{Stage: guard.StageApply, FromWorktree: true, Skip: []string{guard.Locks}}), guard.Clean)
	if c.Result != guard.Fail || c.Detail != "6 uncommitted change(s): ?? "+strings.Join(untracked[:5], ", ?? ") {
		t.Errorf("six changes: %s %q", c.Result, c.Detail)
	}
}

// TestPlannedDamagedStore: a plan directory that is not atoll's own is
// no answer: the check cannot be evaluated.
func TestPlannedDamagedStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	path := f.plan(record.Plan{Dir: "conf/a", Head: f.rev("HEAD"), BaseSHA: f.rev("origin/main")})
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := f.try(guard.Options{Stage: guard.StageApply, Skip: []string{guard.Locks}})
	var ee *guard.EvalError
	if !isEvalError(err, guard.Planned) || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("damaged store: %v", err)
	}
	if errors.As(err, &ee); !strings.Contains(ee.Hint, "plan again") {
		t.Errorf("hint %q", ee.Hint)
	}
}

// TestAppliedUnfinishedOnThisMachine: a plan consumed by an apply that
// left no outcome, later than the ledger's latest apply, makes the
// applied check unanswerable; an older one does not.
func TestAppliedUnfinishedOnThisMachine(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	head, base := f.rev("HEAD"), f.rev("origin/main")
	consumed := func(at time.Time) {
		f.plan(record.Plan{Dir: "conf/a", Head: head, BaseSHA: base, Consumed: true, ConsumedAt: &at})
	}
	merge := guard.Options{Skip: []string{guard.Locks}}

	// Never applied, as the ledger knows, and an apply started here.
	consumed(lockTime)
	_, err := f.try(merge)
	if !isEvalError(err, guard.Applied) || !strings.Contains(err.Error(), "conf/a: an apply of "+head[:8]+" started at 2026-06-01 12:00:00Z and left no record") {
		t.Fatalf("unfinished, never applied: %v", err)
	}
	var ee *guard.EvalError
	if errors.As(err, &ee); !strings.Contains(ee.Hint, "plan again") {
		t.Errorf("hint %q", ee.Hint)
	}

	// The ledger's apply finished after it: known.
	f.entry(ledger.Entry{Dir: "conf/a", Branch: "feature", Head: head, Result: ledger.Success}, time.Hour)
	wantResult(t, check(t, f.run(merge), guard.Applied), guard.Pass, "applied with HEAD's inputs")
	// The same instant: not later, so known.
	consumed(lockTime.Add(time.Hour))
	wantResult(t, check(t, f.run(merge), guard.Applied), guard.Pass, "applied with HEAD's inputs")

	// An apply started after the ledger's latest: unknown again.
	consumed(lockTime.Add(2 * time.Hour))
	if _, err := f.try(merge); !isEvalError(err, guard.Applied) || !strings.Contains(err.Error(), "what it changed is unknown") {
		t.Errorf("unfinished after the latest apply: %v", err)
	}
}

// TestFetchFindsAMissingBase: --fetch brings a base the clone has not
// fetched yet, named in atoll.yaml or the default main.
func TestFetchFindsAMissingBase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"atoll.yaml": "base: origin/release\n"})
	f.Git("checkout", "-q", "-b", "release", "main")
	release := f.Commit("release", map[string]string{"conf/c/main.tf": "# release\n"})
	f.Push("release")
	f.Git("checkout", "-q", "feature")
	f.Git("branch", "-q", "-D", "release")
	f.Git("update-ref", "-d", "refs/remotes/origin/release")
	if _, err := f.try(guard.Options{Stage: guard.StagePlan}); err == nil {
		t.Fatal("no origin/release, without --fetch: no error")
	}
	rep := f.run(guard.Options{Stage: guard.StagePlan, Fetch: true})
	if rep.BaseSHA != release || f.rev("origin/release") != release {
		t.Errorf("--fetch with base origin/release: base %s, want %s", rep.BaseSHA, release)
	}

	// No base named and none found: main is fetched.
	g := newFixture(t, nil)
	main := g.rev("origin/main")
	g.Git("branch", "-q", "-D", "main")
	for _, ref := range []string{"refs/remotes/origin/main", "refs/remotes/origin/HEAD"} {
		_, _ = sandbox.Git(g.Work, "update-ref", "-d", ref)
	}
	rep = g.run(guard.Options{Stage: guard.StagePlan, Fetch: true})
	if rep.BaseSHA != main || rep.Base != "refs/remotes/origin/main" {
		t.Errorf("--fetch with no base: base %s %s, want origin/main %s", rep.Base, rep.BaseSHA, main)
	}
}

// TestFetchRefusesALocalBase: a base that is a local branch has no
// remote to fetch it from.
func TestFetchRefusesALocalBase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"atoll.yaml": "base: refs/heads/main\n"})
	_, err := f.try(guard.Options{Stage: guard.StagePlan, Fetch: true})
	var ee *guard.EvalError
	if !errors.As(err, &ee) || ee.Check != guard.UpToDate || !strings.Contains(err.Error(), "--fetch: the base refs/heads/main is not a remote-tracking branch") || !strings.Contains(ee.Hint, "--base origin/main") {
		t.Errorf("local base: %v", err)
	}
	// Without --fetch it is a base like any other.
	if rep := f.run(guard.Options{Stage: guard.StagePlan}); rep.Base != "refs/heads/main" {
		t.Errorf("base %s", rep.Base)
	}
}
