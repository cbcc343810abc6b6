package guard_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// layout: conf/a uses modules/m; conf/b and conf/c stand alone.
var layout = map[string]string{
	"conf/a/main.tf":    "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
	"conf/b/main.tf":    "resource \"terraform_data\" \"b\" {}\n",
	"conf/c/main.tf":    "resource \"terraform_data\" \"c\" {}\n",
	"modules/m/main.tf": "resource \"terraform_data\" \"m\" {}\n",
	"README.md":         "# infrastructure\n",
}

// fixture is a sandbox with a feature branch that edits conf/a, and a
// workdir for plan and apply records outside the repository.
type fixture struct {
	*sandbox.T
	t       *testing.T
	workdir string
}

func newFixture(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	files := map[string]string{}
	for k, v := range layout {
		files[k] = v
	}
	for k, v := range extra {
		files[k] = v
	}
	f := &fixture{T: sandbox.New(t, files), t: t, workdir: t.TempDir()}
	f.Git("checkout", "-q", "-b", "feature")
	f.Commit("a: edit", map[string]string{"conf/a/main.tf": layout["conf/a/main.tf"] + "# feature\n"})
	return f
}

// onMain commits files on main, pushes it, and returns to feature.
func (f *fixture) onMain(msg string, files map[string]string) string {
	f.t.Helper()
	f.Git("checkout", "-q", "main")
	sha := f.Commit(msg, files)
	f.Push("main")
	f.Git("checkout", "-q", "feature")
	return sha
}

func (f *fixture) repo() *git.Repo {
	f.t.Helper()
	r, err := git.Open(f.Work)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = r.Close() })
	return r
}

// run evaluates a stage on a freshly opened repository (refs move between
// runs) and fails the test on error.
func (f *fixture) run(o guard.Options) *guard.Report {
	f.t.Helper()
	rep, err := f.try(o)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func (f *fixture) try(o guard.Options) (*guard.Report, error) {
	f.t.Helper()
	repo := f.repo()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	o.Repo, o.Config, o.Workdir = repo, cfg, f.workdir
	if o.Ledger == nil {
		o.Ledger = f.ledger(repo)
	}
	if o.Stage == "" {
		o.Stage = guard.StageMerge
	}
	return guard.Run(o)
}

func (f *fixture) store() record.Store {
	return record.Store{Root: filepath.Join(f.workdir, workspace.RepoID(f.repo()))}
}

func (f *fixture) rev(rev string) string { return f.Git("rev-parse", rev) }

// inputs is the inputs hash of a project at a commit, as plan records it.
func (f *fixture) inputs(commit, dir string) string {
	f.t.Helper()
	repo := f.repo()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	h, _ := git.ParseHash(commit)
	g, err := scan.Projects(repo, cfg, h, scan.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	var ps []project.Project
	for _, p := range g.Projects {
		if p.Dir == dir {
			ps = append(ps, p)
		}
	}
	in, err := workspace.Inputs(repo, h, ps, cfg.Watch)
	if err != nil {
		f.t.Fatal(err)
	}
	return in[dir]
}

var clock = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// ledger is the ledger client of the fixture's clone (origin holds it).
func (f *fixture) ledger(repo *git.Repo) *ledger.Client {
	f.t.Helper()
	st, err := gitstore.Open(repo, "origin", false)
	if err != nil {
		f.t.Fatal(err)
	}
	return &ledger.Client{Store: st}
}

// apply appends an apply's outcome to origin's ledger, each one later
// than the last (the guard reads applies from the remote's ledger).
func (f *fixture) apply(a record.Apply) string {
	f.t.Helper()
	clock = clock.Add(time.Minute)
	if a.Project == "" {
		a.Project = a.Dir
	}
	result := ledger.Failed
	if a.Success {
		result = ledger.Success
	}
	e := &ledger.Entry{Project: a.Project, Dir: a.Dir, Branch: a.Branch, Head: a.Head, InputsHash: a.InputsHash, Result: result,
		Destroy: a.Destroy, Dirty: a.Dirty, Error: a.Error, Time: clock, Force: a.Force}
	id, err := f.ledger(f.repo()).Append(context.Background(), e)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// clearLedger removes every ledger ref from origin.
func (f *fixture) clearLedger() {
	f.t.Helper()
	out, err := sandbox.Git(f.Origin, "for-each-ref", "--format=%(refname)", "refs/atoll/")
	if err != nil {
		f.t.Fatal(err)
	}
	for _, ref := range strings.Fields(out) {
		if _, err := sandbox.Git(f.Origin, "update-ref", "-d", ref); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) plan(p record.Plan) string {
	f.t.Helper()
	if p.Project == "" {
		p.Project = p.Dir
	}
	path, err := f.store().SavePlan(&p)
	if err != nil {
		f.t.Fatal(err)
	}
	return path
}

func check(t *testing.T, rep *guard.Report, name string) guard.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, rep.Checks)
	return guard.Check{}
}

func wantResult(t *testing.T, c guard.Check, want guard.Result, detail string) {
	t.Helper()
	if c.Result != want || !strings.Contains(c.Detail, detail) {
		t.Errorf("%s: %s %q, want %s with %q", c.Name, c.Result, c.Detail, want, detail)
	}
}

func TestUpToDate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rep := f.run(guard.Options{})
	wantResult(t, check(t, rep, guard.UpToDate), guard.Pass, "up to date with origin/main")
	if rep.Head != f.rev("HEAD") || rep.BaseSHA != f.rev("origin/main") || rep.MergeBase != f.rev("origin/main") {
		t.Errorf("head/base/merge-base: %s %s %s", rep.Head, rep.BaseSHA, rep.MergeBase)
	}
	if !reflect.DeepEqual(rep.Affected, []string{"conf/a"}) {
		t.Errorf("affected: %v", rep.Affected)
	}

	// main moves on, touching none of the branch's projects.
	mb := f.rev("origin/main")
	b := f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	readme := f.onMain("docs", map[string]string{"README.md": "# docs\n"})

	strict := check(t, f.run(guard.Options{}), guard.UpToDate)
	wantResult(t, strict, guard.Fail, "2 commits behind origin/main")
	want := []guard.BehindCommit{{SHA: readme, Subject: "docs"}, {SHA: b, Subject: "b: edit"}}
	if !reflect.DeepEqual(strict.Commits, want) {
		t.Errorf("strict commits: %+v, want %+v", strict.Commits, want)
	}
	if strict.Hint == "" {
		t.Error("strict: no hint")
	}

	targeted := check(t, f.run(guard.Options{Mode: "targeted"}), guard.UpToDate)
	wantResult(t, targeted, guard.Pass, "2 commits behind origin/main, none touching this branch's projects")
	if len(targeted.Commits) != 0 || len(targeted.Projects) != 0 {
		t.Errorf("targeted pass lists %+v %v", targeted.Commits, targeted.Projects)
	}

	// Then edits the module conf/a uses: now it matters.
	m := f.onMain("m: edit", map[string]string{"modules/m/main.tf": "# m\n"})
	targeted = check(t, f.run(guard.Options{Mode: "targeted"}), guard.UpToDate)
	wantResult(t, targeted, guard.Fail, "3 commits behind origin/main; 1 of them touches this branch's projects: conf/a")
	if !reflect.DeepEqual(targeted.Projects, []string{"conf/a"}) {
		t.Errorf("targeted projects: %v", targeted.Projects)
	}
	want = []guard.BehindCommit{{SHA: m, Subject: "m: edit", Projects: []string{"conf/a"}}}
	if !reflect.DeepEqual(targeted.Commits, want) {
		t.Errorf("targeted commits: %+v, want %+v", targeted.Commits, want)
	}

	// atoll.yaml's guard.mode is the default; --mode overrides it.
	if rep := f.run(guard.Options{}); rep.Mode != "strict" {
		t.Errorf("default mode %q", rep.Mode)
	}

	// The plan stage only warns: planning a branch that is behind is fine.
	rep = f.run(guard.Options{Stage: guard.StagePlan})
	wantResult(t, check(t, rep, guard.UpToDate), guard.Warn, "3 commits behind")
	if !rep.Passed || len(rep.Checks) != 1 {
		t.Errorf("plan stage: passed=%v checks=%+v", rep.Passed, rep.Checks)
	}

	// Merging main in brings the branch up to date in both modes.
	f.Git("merge", "-q", "--no-edit", "origin/main")
	for _, mode := range []string{"strict", "targeted"} {
		rep := f.run(guard.Options{Mode: mode})
		wantResult(t, check(t, rep, guard.UpToDate), guard.Pass, "up to date")
		if rep.MergeBase == mb {
			t.Errorf("%s: merge-base did not move", mode)
		}
	}
}

func TestModeFromConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"atoll.yaml": "guard:\n  mode: targeted\n"})
	f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	rep := f.run(guard.Options{})
	if rep.Mode != "targeted" {
		t.Errorf("mode %q", rep.Mode)
	}
	wantResult(t, check(t, rep, guard.UpToDate), guard.Pass, "none touching")
	wantResult(t, check(t, f.run(guard.Options{Mode: "strict"}), guard.UpToDate), guard.Fail, "1 commit behind")
}

// A base commit whose committer date is older than the merge-base (a
// skewed clock) is still a commit the branch lacks.
func TestUpToDateSkewedClock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.Git("checkout", "-q", "main")
	f.Write(map[string]string{"conf/b/main.tf": "# b\n"})
	f.Git("add", "-A")
	cmd := exec.Command("git", "commit", "-q", "-m", "from the past")
	cmd.Dir = f.Work
	cmd.Env = append(sandbox.Env(), "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f.Push("main")
	f.Git("checkout", "-q", "feature")
	wantResult(t, check(t, f.run(guard.Options{}), guard.UpToDate), guard.Fail, "1 commit behind")
}

// The commits listed are those git rev-list HEAD..origin/main lists, also
// when main merged a branch that started before the merge-base, and when
// every commit has the same date.
func TestUpToDateListsWhatGitLists(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.Git("checkout", "-q", "-b", "side", "main")
	side := f.Commit("c: edit", map[string]string{"conf/c/main.tf": "# c\n"})
	f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	f.Git("checkout", "-q", "-b", "late", "origin/main")
	f.Commit("a: late edit", map[string]string{"conf/a/main.tf": "# late\n"})
	f.Git("checkout", "-q", "main")
	f.Git("merge", "-q", "--no-ff", "-m", "Merge side", "side")
	merge := f.rev("HEAD")
	f.Push("main")

	for _, branch := range []string{"late", "feature"} {
		f.Git("checkout", "-q", branch)
		c := check(t, f.run(guard.Options{}), guard.UpToDate)
		var got []string
		for _, bc := range c.Commits {
			got = append(got, bc.SHA)
		}
		want := strings.Fields(f.Git("rev-list", "HEAD..origin/main"))
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: commits %v, git rev-list says %v", branch, got, want)
		}
	}
	f.Git("checkout", "-q", "late")
	c := check(t, f.run(guard.Options{}), guard.UpToDate)
	wantResult(t, c, guard.Fail, "2 commits behind origin/main")
	if len(c.Commits) != 2 || c.Commits[0].SHA != merge || c.Commits[1].SHA != side {
		t.Errorf("commits: %+v", c.Commits)
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	// Another clone pushes to main; this clone's origin/main is stale.
	other := filepath.Join(t.TempDir(), "other")
	if _, err := sandbox.Git(f.Work, "clone", "-q", f.Origin, other); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.WriteFiles(other, map[string]string{"conf/b/main.tf": "# b\n"}); err != nil {
		t.Fatal(err)
	}
	pushed, err := sandbox.Commit(other, "b: from elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.PushTo(other, f.Origin, "main"); err != nil {
		t.Fatal(err)
	}

	wantResult(t, check(t, f.run(guard.Options{}), guard.UpToDate), guard.Pass, "up to date")
	// The fetched objects arrive in a new pack file, as large fetches do,
	// after the guard has read the repository's packs.
	f.Git("gc", "-q")
	f.Git("config", "fetch.unpackLimit", "1")
	rep := f.run(guard.Options{Fetch: true})
	c := check(t, rep, guard.UpToDate)
	wantResult(t, c, guard.Fail, "1 commit behind origin/main")
	if rep.BaseSHA != pushed || len(c.Commits) != 1 || c.Commits[0].SHA != pushed {
		t.Errorf("fetch did not bring %s: base %s, commits %+v", pushed, rep.BaseSHA, c.Commits)
	}
	if f.rev("origin/main") != pushed {
		t.Error("refs/remotes/origin/main was not updated")
	}

	// An unreachable remote is never a pass, nor a policy failure.
	f.Git("remote", "set-url", "origin", filepath.Join(t.TempDir(), "nowhere.git"))
	rep, err = f.try(guard.Options{Fetch: true})
	var ee *guard.EvalError
	if !errors.As(err, &ee) || ee.Check != guard.UpToDate || ee.Hint == "" {
		t.Fatalf("unreachable remote: report %+v, error %v", rep, err)
	}
	var fe *git.FetchError
	if !errors.As(err, &fe) {
		t.Errorf("error %v is not a FetchError", err)
	}
}

func TestShallowClone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	f.Push("feature")
	shallow := filepath.Join(t.TempDir(), "shallow")
	if _, err := sandbox.Git(f.Work, "clone", "-q", "--depth", "1", "--branch", "feature", "file://"+f.Origin, shallow); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.Git(shallow, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main"); err != nil {
		t.Fatal(err)
	}
	repo, err := git.Open(shallow)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := guard.Run(guard.Options{Repo: repo, Config: cfg, Stage: guard.StageMerge, Workdir: f.workdir})
	var se *git.ShallowError
	if !errors.As(err, &se) {
		t.Fatalf("shallow clone: report %+v, error %v", rep, err)
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dirty func(f *fixture)
		want  guard.Result
		entry string
	}{
		{"nothing", func(*fixture) {}, guard.Pass, ""},
		{"staged", func(f *fixture) {
			f.Write(map[string]string{"conf/a/main.tf": "# staged\n"})
			f.Git("add", "conf/a/main.tf")
		}, guard.Fail, "M conf/a/main.tf"},
		{"unstaged", func(f *fixture) { f.Write(map[string]string{"conf/a/main.tf": "# unstaged\n"}) }, guard.Fail, "M conf/a/main.tf"},
		{"deleted", func(f *fixture) {
			if err := os.Remove(filepath.Join(f.Work, "conf/a/main.tf")); err != nil {
				f.t.Fatal(err)
			}
		}, guard.Fail, "D conf/a/main.tf"},
		{"staged deletion", func(f *fixture) { f.Git("rm", "-q", "conf/a/main.tf") }, guard.Fail, "D conf/a/main.tf"},
		{"untracked", func(f *fixture) { f.Write(map[string]string{"conf/a/extra.tf": "# new\n"}) }, guard.Fail, "?? conf/a/extra.tf"},
		{"in a module it uses", func(f *fixture) { f.Write(map[string]string{"modules/m/main.tf": "# m\n"}) }, guard.Fail, "M modules/m/main.tf"},
		{"watched by a glob", func(f *fixture) { f.Write(map[string]string{"common.tfvars": "x = 2\n"}) }, guard.Fail, "M common.tfvars"},
		{"another project", func(f *fixture) {
			f.Write(map[string]string{"conf/b/main.tf": "# b\n", "conf/c/new.tf": "# c\n"})
		}, guard.Pass, ""},
		{"outside projects", func(f *fixture) { f.Write(map[string]string{"README.md": "# dirty\n", "notes.txt": "x\n"}) }, guard.Pass, ""},
	}
	f := newFixture(t, map[string]string{"atoll.yaml": "watch:\n  - common.tfvars\n", "common.tfvars": "x = 1\n"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Git("reset", "-q", "--hard")
			f.Git("clean", "-q", "-f", "-d")
			tt.dirty(f)
			c := check(t, f.run(guard.Options{Stage: guard.StageApply, FromWorktree: true}), guard.Clean)
			if c.Result != tt.want || (tt.entry != "" && !strings.Contains(c.Detail, tt.entry)) {
				t.Errorf("clean: %s %q, want %s with %q", c.Result, c.Detail, tt.want, tt.entry)
			}
			if tt.want == guard.Fail && (c.Hint == "" || !strings.Contains(c.Detail, "1 uncommitted change(s)")) {
				t.Errorf("clean: detail %q, hint %q", c.Detail, c.Hint)
			}
			// Plans made from commits do not need a clean tree.
			c = check(t, f.run(guard.Options{Stage: guard.StageApply}), guard.Clean)
			wantResult(t, c, guard.Skip, "plans are made from commits")
		})
	}
}

func TestPlanned(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	first := f.rev("HEAD")
	base := f.rev("origin/main")
	head := f.Commit("a: again", map[string]string{"conf/a/main.tf": "# again\n"})
	stage := guard.Options{Stage: guard.StageApply}

	wantResult(t, check(t, f.run(stage), guard.Planned), guard.Fail, "conf/a: no plan for HEAD")
	// A plan of an earlier commit of the branch is not a plan of HEAD.
	f.plan(record.Plan{Dir: "conf/a", Head: first, BaseSHA: base})
	c := check(t, f.run(stage), guard.Planned)
	wantResult(t, c, guard.Fail, "conf/a: no plan for HEAD")
	if !reflect.DeepEqual(c.Projects, []string{"conf/a"}) || c.Hint == "" {
		t.Errorf("planned: projects %v, hint %q", c.Projects, c.Hint)
	}

	f.plan(record.Plan{Dir: "conf/a", Head: head, BaseSHA: base})
	wantResult(t, check(t, f.run(stage), guard.Planned), guard.Pass, "1 affected project(s) planned at HEAD")

	for _, tt := range []struct {
		name string
		rec  record.Plan
		want string
	}{
		{"older base", record.Plan{BaseSHA: first}, "planned against an older base (" + first[:8] + ")"},
		{"dirty", record.Plan{BaseSHA: base, Dirty: true}, "planned from the work tree"},
		{"consumed", record.Plan{BaseSHA: base, Consumed: true}, "already used by an apply"},
		{"destroy plan of a live project", record.Plan{BaseSHA: base, Destroy: true}, "needs a destroy plan"},
	} {
		tt.rec.Dir, tt.rec.Head = "conf/a", head
		f.plan(tt.rec)
		if c := check(t, f.run(stage), guard.Planned); c.Result != guard.Fail || !strings.Contains(c.Detail, tt.want) {
			t.Errorf("%s: %s %q, want fail with %q", tt.name, c.Result, c.Detail, tt.want)
		}
	}

	// A plan record edited after it was written is no plan to apply: plan
	// again.
	path := f.plan(record.Plan{Dir: "conf/a", Head: head, BaseSHA: base})
	tamper(t, path, `"has_changes": false`, `"has_changes": true`)
	wantResult(t, check(t, f.run(stage), guard.Planned), guard.Fail, "conf/a: the plan record was altered")
}

// tamper edits a sealed record without resealing it.
func tamper(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), old, new, 1)
	if edited == string(b) {
		t.Fatalf("no %s in %s", old, b)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
}

func isEvalError(err error, check string) bool {
	var ee *guard.EvalError
	return errors.As(err, &ee) && ee.Check == check
}

func TestApplied(t *testing.T) {
	t.Parallel()
	type step struct {
		name string
		// records written before the check, on a fresh fixture
		records func(f *fixture, c commits) []record.Apply
		want    guard.Result
		detail  string
	}
	steps := []step{
		{"never applied", func(*fixture, commits) []record.Apply { return nil }, guard.Fail, "conf/a: never applied"},
		{"at HEAD", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.head, Success: true}}
		}, guard.Pass, "1 affected project(s) applied with HEAD's inputs"},
		{"before a README-only commit", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.applied, InputsHash: f.inputs(c.applied, "conf/a"), Success: true}}
		}, guard.Pass, "applied with HEAD's inputs"},
		{"before an edit", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.first, InputsHash: f.inputs(c.first, "conf/a"), Success: true}}
		}, guard.Fail, "not applied at HEAD (last applied at {first}"},
		{"same inputs, but not on this branch", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.elsewhere, InputsHash: f.inputs(c.head, "conf/a"), Success: true}}
		}, guard.Fail, "not applied at HEAD"},
		{"latest apply failed", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.head, Success: true}, {Dir: "conf/a", Head: c.head, Success: false, Error: "boom"}}
		}, guard.Fail, "its latest apply (at {head}) failed"},
		{"failure then success", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.head, Success: false}, {Dir: "conf/a", Head: c.head, Success: true}}
		}, guard.Pass, "applied"},
		{"at HEAD, then an older commit applied over it", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.head, Success: true}, {Dir: "conf/a", Head: c.first, InputsHash: f.inputs(c.first, "conf/a"), Success: true}}
		}, guard.Fail, "not applied at HEAD"},
		{"destroyed at HEAD", func(f *fixture, c commits) []record.Apply {
			return []record.Apply{{Dir: "conf/a", Head: c.head, Success: true}, {Dir: "conf/a", Head: c.head, Success: true, Destroy: true}}
		}, guard.Fail, "destroyed it"},
	}
	f := newFixture(t, nil)
	c := commits{first: f.rev("HEAD")}
	c.applied = f.Commit("a: edit again", map[string]string{"conf/a/main.tf": "# again\n"})
	c.head = f.Commit("docs", map[string]string{"README.md": "# docs\n"})
	if f.inputs(c.applied, "conf/a") != f.inputs(c.head, "conf/a") || f.inputs(c.first, "conf/a") == f.inputs(c.head, "conf/a") {
		t.Fatal("fixture: inputs hashes are not as the test assumes")
	}
	f.Git("checkout", "-q", "-b", "elsewhere", "main")
	c.elsewhere = f.Commit("same content elsewhere", map[string]string{"conf/a/main.tf": "# again\n"})
	f.Git("checkout", "-q", "feature")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clearLedger()
			for _, r := range st.records(f, c) {
				f.apply(r)
			}
			got := check(t, f.run(guard.Options{}), guard.Applied)
			detail := strings.NewReplacer("{first}", c.first[:8], "{head}", c.head[:8]).Replace(st.detail)
			wantResult(t, got, st.want, detail)
			if st.want == guard.Fail && (!reflect.DeepEqual(got.Projects, []string{"conf/a"}) || got.Hint == "") {
				t.Errorf("applied: projects %v, hint %q", got.Projects, got.Hint)
			}
		})
	}
}

type commits struct{ first, applied, head, elsewhere string }

func TestAppliedDeletedProject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.Git("rm", "-q", "-r", "conf/b")
	head := f.Commit("remove b", nil)
	base := f.rev("origin/main")

	c := check(t, f.run(guard.Options{}), guard.Applied)
	wantResult(t, c, guard.Fail, "conf/b: deleted, and never destroyed")
	if !reflect.DeepEqual(c.Projects, []string{"conf/a", "conf/b"}) {
		t.Errorf("projects: %v", c.Projects)
	}
	f.apply(record.Apply{Dir: "conf/a", Head: head, Success: true})
	// An apply of the old code is not a destroy.
	f.apply(record.Apply{Dir: "conf/b", Head: base, Success: true})
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Fail, "conf/b: deleted, and never destroyed")
	f.apply(record.Apply{Dir: "conf/b", Head: head, Success: false, Destroy: true})
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Fail, "conf/b: its latest apply")
	f.apply(record.Apply{Dir: "conf/b", Head: head, Success: true, Destroy: true})
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Pass, "2 affected project(s)")

	// The deleted project needs a destroy plan in the apply stage.
	f.plan(record.Plan{Dir: "conf/a", Head: head, BaseSHA: base})
	f.plan(record.Plan{Dir: "conf/b", Head: head, BaseSHA: base})
	wantResult(t, check(t, f.run(guard.Options{Stage: guard.StageApply}), guard.Planned), guard.Fail, "conf/b: deleted: needs a destroy plan")
	f.plan(record.Plan{Dir: "conf/b", Head: head, BaseSHA: base, Destroy: true})
	wantResult(t, check(t, f.run(guard.Options{Stage: guard.StageApply}), guard.Planned), guard.Pass, "2 affected project(s) planned")
}

// A ledger ref that holds no atoll entry: the history cannot be read, so
// the guard cannot answer, rather than answer "never applied".
func TestAppliedUnreadableLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.apply(record.Apply{Dir: "conf/a", Head: f.rev("HEAD"), Success: false})
	tree := f.Git("write-tree")
	commit := f.Git("commit-tree", "-m", "not atoll", tree)
	f.Push(commit + ":refs/atoll/ledger/" + ledger.Key("conf/a", ""))
	rep, err := f.try(guard.Options{})
	if !isEvalError(err, guard.Applied) {
		t.Fatalf("unreadable ledger: report %+v, error %v", rep, err)
	}
	if !strings.Contains(err.Error(), "refs/atoll/ledger/conf_a") {
		t.Errorf("error %v does not name the ref", err)
	}
}

// A started entry with no outcome after it: an apply killed half way.
// The guard cannot say "applied" or "failed": exit 6, with the recovery.
func TestAppliedOutcomeUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	head := f.rev("HEAD")
	f.apply(record.Apply{Dir: "conf/a", Head: head, Success: true})
	e := &ledger.Entry{Project: "conf/a", Dir: "conf/a", Head: head, Result: ledger.Started, Time: clock.Add(time.Hour)}
	if _, err := f.ledger(f.repo()).Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	_, err := f.try(guard.Options{})
	var ee *guard.EvalError
	if !errors.As(err, &ee) || ee.Check != guard.Applied || !strings.Contains(err.Error(), "what it changed is unknown") || !strings.Contains(ee.Hint, "then atoll apply") {
		t.Fatalf("started, never completed: %v", err)
	}
	// Completed: known again.
	done := &ledger.Entry{Project: "conf/a", Dir: "conf/a", Head: head, Result: ledger.Success, Completes: e.ID, Time: clock.Add(2 * time.Hour)}
	if _, err := f.ledger(f.repo()).Append(context.Background(), done); err != nil {
		t.Fatal(err)
	}
	wantResult(t, check(t, f.run(guard.Options{}), guard.Applied), guard.Pass, "applied with HEAD's inputs")
}

func TestSkip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rep := f.run(guard.Options{})
	if rep.Passed {
		t.Fatal("an unapplied branch passed")
	}
	rep = f.run(guard.Options{Skip: []string{guard.Applied}})
	wantResult(t, check(t, rep, guard.Applied), guard.Skip, "skipped by configuration")
	if !rep.Passed || !reflect.DeepEqual(rep.Skipped, []string{guard.Applied}) {
		t.Errorf("--skip applied: passed=%v skipped=%v", rep.Passed, rep.Skipped)
	}
	wantResult(t, check(t, rep, guard.Locks), guard.Pass, "no other branch holds a lock")

	g := newFixture(t, map[string]string{"atoll.yaml": "guard:\n  skip: [applied]\n"})
	rep = g.run(guard.Options{})
	if !rep.Passed || !reflect.DeepEqual(rep.Skipped, []string{guard.Applied}) {
		t.Errorf("guard.skip: passed=%v skipped=%v", rep.Passed, rep.Skipped)
	}
	// Both name it: reported once.
	rep = g.run(guard.Options{Skip: []string{guard.Applied, guard.UpToDate}})
	if !reflect.DeepEqual(rep.Skipped, []string{guard.UpToDate, guard.Applied}) {
		t.Errorf("skipped: %v", rep.Skipped)
	}
}

func TestStages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for stage, want := range map[guard.Stage][]string{
		guard.StagePlan:  {guard.UpToDate},
		guard.StageApply: {guard.UpToDate, guard.Clean, guard.Planned, guard.Tracked, guard.Locks},
		guard.StageMerge: {guard.UpToDate, guard.Applied, guard.Tracked, guard.Locks},
	} {
		var got []string
		for _, c := range f.run(guard.Options{Stage: stage}).Checks {
			got = append(got, c.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s stage runs %v, want %v", stage, got, want)
		}
	}
}

// --head examines another commit than HEAD, as the hooks do.
func TestHead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	feature := f.rev("HEAD")
	f.apply(record.Apply{Dir: "conf/a", Head: feature, InputsHash: f.inputs(feature, "conf/a"), Success: true})
	f.Git("checkout", "-q", "main")
	h, _ := git.ParseHash(feature)
	rep := f.run(guard.Options{Head: &git.Head{SHA: h, Branch: "feature"}})
	if rep.Head != feature || !rep.Passed {
		t.Errorf("--head feature from main: head %s, passed %v, checks %+v", rep.Head, rep.Passed, rep.Checks)
	}
	// The merge commit of the feature applied at its tip: same inputs.
	f.Git("merge", "-q", "--no-ff", "--no-edit", "feature")
	merge, _ := git.ParseHash(f.rev("HEAD"))
	rep = f.run(guard.Options{Head: &git.Head{SHA: merge}})
	wantResult(t, check(t, rep, guard.Applied), guard.Pass, "1 affected project(s)")
}

// A project at the root of the repository owns every path under it.
func TestCleanRootProject(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"main.tf": "resource \"terraform_data\" \"r\" {}\n"})
	f := &fixture{T: s, t: t, workdir: t.TempDir()}
	f.Git("checkout", "-q", "-b", "feature")
	f.Commit("edit", map[string]string{"main.tf": "# edit\n"})
	f.Write(map[string]string{"vars.tf": "# uncommitted\n"})
	rep := f.run(guard.Options{Stage: guard.StageApply, FromWorktree: true})
	if !reflect.DeepEqual(rep.Affected, []string{"."}) {
		t.Fatalf("affected: %v", rep.Affected)
	}
	wantResult(t, check(t, rep, guard.Clean), guard.Fail, "?? vars.tf")
}

// An apply of a work-tree plan (--allow-dirty) is recorded at HEAD, but
// what it applied is in no commit: the merge guard must not count it.
func TestAppliedRefusesDirtyApplies(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": ""})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("edit a", map[string]string{"conf/a/main.tf": "# edited\n"})
	f := &fixture{T: s, t: t, workdir: t.TempDir()}
	f.apply(record.Apply{Dir: "conf/a", Head: f.rev("HEAD"), Success: true, Dirty: true})
	rep := f.run(guard.Options{})
	for _, c := range rep.Checks {
		if c.Name == guard.Applied && (c.Result != guard.Fail || !strings.Contains(c.Detail, "uncommitted work-tree files")) {
			t.Errorf("applied = %+v, want a failure naming the dirty apply", c)
		}
	}
}

// TestCacheGivesTheSameReport: the guard's cached answers (behind lists,
// graphs, results) never change a report.
func TestCacheGivesTheSameReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	f.Git("checkout", "-q", "feature")
	want := f.run(guard.Options{Mode: "targeted"})
	dir := filepath.Join(t.TempDir(), "cache")
	for i := 0; i < 2; i++ {
		got := f.run(guard.Options{Mode: "targeted", Cache: cache.Open(dir, "test")})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d with a cache:\n%+v\nwithout:\n%+v", i, got, want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "behind-*")); len(m) != 1 {
		t.Errorf("behind cache entries: %v", m)
	}
}

// TestEnforceIgnoresConfiguredSkips: atoll apply runs its stage with
// Enforce, so a guard.skip in atoll.yaml (even an untracked one) cannot
// silently let a branch that is behind be applied.
func TestEnforceIgnoresConfiguredSkips(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.onMain("b: edit", map[string]string{"conf/b/main.tf": "# b\n"})
	f.Git("checkout", "-q", "feature")
	f.Write(map[string]string{"atoll.yaml": "guard:\n  skip: [up-to-date]\n"})
	if c := check(t, f.run(guard.Options{Stage: guard.StageApply}), guard.UpToDate); c.Result != guard.Skip {
		t.Fatalf("without Enforce: %+v", c)
	}
	if c := check(t, f.run(guard.Options{Stage: guard.StageApply, Enforce: true}), guard.UpToDate); c.Result != guard.Fail {
		t.Errorf("with Enforce: %+v, want the check run (and failed)", c)
	}
}

// TestTrackedRefusesVanishedProjects: when a conf/ directory appears in a
// repository whose projects live elsewhere, the default roots move to it
// and the other projects drop out without being deleted: the merge guard
// refuses, naming them, until roots: says where the projects are.
func TestTrackedRefusesVanishedProjects(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"stacks/a/main.tf": "resource \"terraform_data\" \"a\" {}\n",
		"stacks/b/main.tf": "resource \"terraform_data\" \"b\" {}\n",
	})
	f := &fixture{T: s, t: t, workdir: t.TempDir()}
	f.Git("checkout", "-q", "-b", "feature")
	f.Commit("a change elsewhere", map[string]string{"README.md": "hi\n"})
	wantResult(t, check(t, f.run(guard.Options{}), guard.Tracked), guard.Pass, "every project of the merge-base is still a project at HEAD")

	f.Commit("add conf", map[string]string{"conf/README.md": "geodesic\n"})
	f.Git("rm", "-q", "-r", "stacks/b")
	f.Commit("remove b", nil)
	for _, stage := range []guard.Stage{guard.StageMerge, guard.StageApply} {
		rep := f.run(guard.Options{Stage: stage})
		c := check(t, rep, guard.Tracked)
		wantResult(t, c, guard.Fail, "stacks/a: no longer a project at HEAD, though its directory is still there; stacks/b: its directory is gone, yet it is not reported deleted")
		if !reflect.DeepEqual(c.Projects, []string{"stacks/a", "stacks/b"}) || !strings.Contains(c.Hint, "roots:") || rep.Passed {
			t.Errorf("%s stage: %+v, passed %v", stage, c, rep.Passed)
		}
	}

	f.Commit("say where the projects are", map[string]string{"atoll.yaml": "roots: [conf, stacks]\n"})
	rep := f.run(guard.Options{})
	wantResult(t, check(t, rep, guard.Tracked), guard.Pass, "every project")
}

// TestUpToDateUnrelatedHistoryMerged: main merges a history with its own
// root commit (a subtree import). That root commit is behind too, and its
// changes are all of its files: it touches conf/a when it adds to the
// module conf/a calls, as the merge does against main's side.
func TestUpToDateUnrelatedHistoryMerged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"atoll.yaml": "guard:\n  mode: targeted\n"})
	f.Git("checkout", "-q", "--orphan", "imported", "main")
	f.Git("rm", "-rq", "--cached", ".")
	root := f.Commit("import", map[string]string{"modules/m/imported.tf": "# imported\n"})
	f.Git("checkout", "-q", "-f", "main")
	f.Git("merge", "-q", "--no-edit", "--allow-unrelated-histories", "imported")
	merge := f.rev("HEAD")
	f.Push("main")
	f.Git("checkout", "-q", "-f", "feature")
	c := check(t, f.run(guard.Options{}), guard.UpToDate)
	wantResult(t, c, guard.Fail, "2 commits behind origin/main; 2 of them touch this branch's projects: conf/a")
	want := []guard.BehindCommit{
		{SHA: merge, Subject: "Merge branch 'imported'", Projects: []string{"conf/a"}},
		{SHA: root, Subject: "import", Projects: []string{"conf/a"}},
	}
	if !reflect.DeepEqual(c.Commits, want) {
		t.Errorf("commits: %+v, want %+v", c.Commits, want)
	}
}
