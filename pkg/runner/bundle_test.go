package runner_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/build"
	"github.com/atoll-tf/atoll/pkg/bundle"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
)

// bundleFixture plans three projects on a branch: conf/a with changes
// (its text rendered), conf/b without (a comment changed), conf/c whose
// plan fails. It returns the fixture and the plan report.
func bundleFixture(t *testing.T) (*fixture, *runner.Report) {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/a/backend.tf": backend(state, "a"), "conf/a/main.tf": "",
		"conf/b/backend.tf": backend(state, "b"), "conf/b/main.tf": "",
		"conf/c/backend.tf": backend(state, "c"), "conf/c/main.tf": "",
	}, map[string]string{
		"conf/a/main.tf": "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
		"conf/b/main.tf": "# a comment\n",
		"conf/c/main.tf": "locals {\n  x = unknown_function()\n}\n",
	})
	f.opts.PlanText = true
	rep, err := runner.Plan(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runner.Status{}
	for _, p := range rep.Projects {
		got[p.Dir] = p.Status
	}
	if want := map[string]runner.Status{"conf/a": runner.StatusPlanned, "conf/b": runner.StatusNoChanges, "conf/c": runner.StatusFailed}; !maps.Equal(got, want) {
		t.Fatalf("plan statuses %v, want %v", got, want)
	}
	return f, rep
}

// A bundle carries the plans a run saved (not the failed one) to another
// work dir, where they are rooted in its store and applied; importing it
// again keeps what is there, and a bundle of another commit is refused
// before anything is imported.
func TestBundleCarriesPlansToAnotherWorkdir(t *testing.T) {
	t.Parallel()
	f, rep := bundleFixture(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "plans.tgz")
	// What carries no plan is left out: a result without a record, a
	// failure with one.
	rep.Projects = append(rep.Projects, runner.ProjectResult{Dir: "conf/norecord", Status: runner.StatusPlanned},
		runner.ProjectResult{Dir: "conf/failed", Status: runner.StatusFailed, Record: "/nowhere/record.json"})
	n, err := runner.WriteBundle(ctx, f.opts, rep, file)
	if err != nil || n != 2 {
		t.Fatalf("WriteBundle = %d, %v; want the 2 plans saved", n, err)
	}
	head := f.opts.Comparison.Head.SHA.String()

	// Another work dir, with a stale plan.tfplan.json where conf/a's plan goes.
	other := f.fresh(func(o *runner.Options) { o.Workdir = filepath.Join(t.TempDir(), "atoll") })
	to := runner.Store(other.Workdir, other.Repo)
	if err := os.MkdirAll(to.PlanDir("conf/a", head), 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(to.PlanDir("conf/a", head), record.PlanJSONFile)
	if err := os.WriteFile(stale, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	imp, err := runner.ImportBundle(ctx, other, file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(imp.Imported, []string{"conf/a", "conf/b"}) || len(imp.Kept) != 0 || imp.Manifest.Head != head || imp.Manifest.Branch != "feature" ||
		imp.Manifest.BaseSHA != f.opts.Comparison.Base.SHA.String() || imp.Manifest.MergeBase != f.opts.Comparison.MergeBase.String() ||
		imp.Manifest.AtollVersion != build.Version || len(imp.Manifest.Repository.RootCommits) != 1 {
		t.Fatalf("import %+v, manifest %+v", imp, imp.Manifest)
	}
	from := runner.Store(f.opts.Workdir, f.opts.Repo)
	for _, dir := range []string{"conf/a", "conf/b"} {
		orig, err := from.LoadPlan(dir, head)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := to.LoadPlan(dir, head)
		if err != nil {
			t.Fatalf("%s: the imported plan does not load: %v", dir, err)
		}
		planDir := to.PlanDir(dir, head)
		if rec.PlanSHA256 != orig.PlanSHA256 || rec.InputsHash != orig.InputsHash || rec.HasChanges != orig.HasChanges ||
			rec.Workdir != filepath.Join(to.Root, head[:8], dir) || rec.PlanFile != filepath.Join(planDir, record.PlanFile) ||
			rec.LogFile != filepath.Join(planDir, record.PlanLogFile) {
			t.Errorf("%s: imported record %+v\nfrom %+v", dir, rec, orig)
		}
		if b, err := os.ReadFile(rec.LogFile); err != nil || len(b) == 0 {
			t.Errorf("%s: the plan's log was not imported: %v", dir, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(to.PlanDir("conf/a", head), record.PlanTextFile)); err != nil || !strings.Contains(string(b), "terraform_data.x") {
		t.Errorf("the plan's text was not imported: %q %v", b, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a plan.tfplan.json the bundle does not carry was left beside the imported plan: %v", err)
	}
	if _, err := to.LoadPlan("conf/c", head); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed plan was bundled: %v", err)
	}

	// Applied from the other work dir: the imported plans are used.
	var ab []runner.Target
	for _, tg := range f.targets {
		if tg.Project.Dir != "conf/c" {
			ab = append(ab, tg)
		}
	}
	arep, err := runner.Apply(ctx, other, ab)
	if err != nil {
		t.Fatal(err)
	}
	if res := byDir(t, arep); res["conf/a"].Status != runner.StatusApplied || res["conf/b"].Status != runner.StatusNoChanges {
		t.Fatalf("apply of the imported plans: %+v", arep.Projects)
	}
	// Imported again: kept, so the used plan stays used.
	imp, err = runner.ImportBundle(ctx, f.fresh(func(o *runner.Options) { o.Workdir = other.Workdir }), file)
	if err != nil || len(imp.Imported) != 0 || !slices.Equal(imp.Kept, []string{"conf/a", "conf/b"}) {
		t.Fatalf("second import %+v %v", imp, err)
	}
	if rec, err := to.LoadPlan("conf/a", head); err != nil || !rec.Consumed {
		t.Errorf("importing again made a used plan new: %+v %v", rec, err)
	}

	// A new commit on the branch: the bundle is of another HEAD.
	f.sb.Commit("later", map[string]string{"README.md": "later\n"})
	f.rescan(t)
	third := f.fresh(func(o *runner.Options) { o.Workdir = t.TempDir() })
	_, err = runner.ImportBundle(ctx, third, file)
	var mm *bundle.MismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), head[:8]) {
		t.Errorf("a bundle of another commit: %v", err)
	}
	if ps, _ := runner.Store(third.Workdir, third.Repo).Plans("conf/a"); len(ps) != 0 {
		t.Errorf("a refused bundle imported %d plan(s)", len(ps))
	}

	// A bundle of a commit this clone does not have.
	scratch := t.TempDir()
	b, err := bundle.Open(ctx, file, bundle.Options{Scratch: scratch, Version: build.Version})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := *b.Manifest
	m.Head = strings.Repeat("e", 40)
	unknown := filepath.Join(t.TempDir(), "unknown.tgz")
	if err := bundle.Write(ctx, unknown, &m, nil); err != nil {
		t.Fatal(err)
	}
	if _, err = runner.ImportBundle(ctx, third, unknown); !errors.As(err, &mm) || !strings.Contains(err.Error(), "which this repository does not have") {
		t.Errorf("a bundle of an unknown commit: %v", err)
	}
}

// The records of a bundle are checked against its manifest and the
// store's layout, all of them before any is imported.
func TestBundleRecordsAreChecked(t *testing.T) {
	t.Parallel()
	f, rep := bundleFixture(t)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "plans.tgz")
	if _, err := runner.WriteBundle(ctx, f.opts, rep, good); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	if err := os.Chmod(scratch, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(ctx, good, bundle.Options{Scratch: scratch, Version: build.Version})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := *b.Manifest
	head := m.Head
	from := runner.Store(f.opts.Workdir, f.opts.Repo)
	load := func(dir string) *record.Plan {
		rec, err := record.DecodePlan("r", mustRead(t, b.Path(dir, record.RecordFile)))
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	input := func(dir string, rec *record.Plan, raw []byte) bundle.Input {
		if raw == nil {
			var err error
			if raw, err = record.EncodePlan(rec); err != nil {
				t.Fatal(err)
			}
		}
		return bundle.Input{Project: load(dir).Project, Dir: dir, Files: []bundle.Member{
			{Name: record.RecordFile, Data: raw}, {Name: record.PlanFile, Path: filepath.Join(from.PlanDir(dir, head), record.PlanFile)}}}
	}
	for _, c := range []struct {
		name string
		edit func(r *record.Plan)
		raw  func(b []byte) []byte
		want string
	}{
		{name: "valid", want: ""},
		{name: "another dir", edit: func(r *record.Plan) { r.Dir = "conf/z" }, want: "its record is of project"},
		{name: "another project", edit: func(r *record.Plan) { r.Project = "z" }, want: "its record is of project z (conf/b)"},
		{name: "another head", edit: func(r *record.Plan) { r.Head = strings.Repeat("1", 40) }, want: "not at the manifest's commit and base"},
		{name: "another base ref", edit: func(r *record.Plan) { r.BaseRef = "origin/other" }, want: "against origin/other"},
		{name: "another base", edit: func(r *record.Plan) { r.BaseSHA = strings.Repeat("2", 40) }, want: "not at the manifest's commit and base"},
		{name: "another merge-base", edit: func(r *record.Plan) { r.MergeBase = strings.Repeat("3", 40) }, want: "not at the manifest's commit and base"},
		{name: "a work tree plan", edit: func(r *record.Plan) { r.Dirty = true }, want: "made from a work tree"},
		{name: "another plan file", edit: func(r *record.Plan) { r.PlanSHA256 = strings.Repeat("4", 64) }, want: "vouches for another plan file"},
		{name: "another checkout", edit: func(r *record.Plan) { r.Workdir = "elsewhere/conf/b" }, want: "not where a bundle puts them"},
		{name: "another plan path", edit: func(r *record.Plan) { r.PlanFile = "plans/x/plan.tfplan" }, want: "not where a bundle puts them"},
		{name: "another log path", edit: func(r *record.Plan) { r.LogFile = "plans/x/plan.log" }, want: "not where a bundle puts them"},
		{name: "altered after sealing", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"project": "conf/b"`, `"project": "conf/B"`, 1))
		}, want: "altered after it was written"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, rb := load("conf/a"), load("conf/b")
			var raw []byte
			if c.edit != nil {
				c.edit(rb)
			}
			if c.raw != nil {
				var err error
				if raw, err = record.EncodePlan(rb); err != nil {
					t.Fatal(err)
				}
				raw = c.raw(raw)
			}
			file := filepath.Join(t.TempDir(), "b.tgz")
			mc := m
			if err := bundle.Write(ctx, file, &mc, []bundle.Input{input("conf/a", a, nil), input("conf/b", rb, raw)}); err != nil {
				t.Fatal(err)
			}
			o := f.fresh(func(o *runner.Options) { o.Workdir = filepath.Join(t.TempDir(), "atoll") })
			if err := os.Mkdir(o.Workdir, 0o700); err != nil {
				t.Fatal(err)
			}
			imp, err := runner.ImportBundle(ctx, o, file)
			ps, _ := runner.Store(o.Workdir, o.Repo).Plans("conf/a")
			if c.want == "" {
				if err != nil || !slices.Equal(imp.Imported, []string{"conf/a", "conf/b"}) || len(ps) != 1 {
					t.Fatalf("a valid bundle: %+v %v", imp, err)
				}
				return
			}
			var ie *bundle.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), "conf/b: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an invalid bundle saying %q", err, c.want)
			}
			if len(ps) != 0 {
				t.Errorf("conf/a was imported from a bundle whose conf/b is bad")
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What cannot go in a bundle: a plan of the work tree, a plan whose plan
// file is gone.
func TestWriteBundleRefusals(t *testing.T) {
	t.Parallel()
	f, rep := bundleFixture(t)
	ctx := context.Background()
	head := f.opts.Comparison.Head.SHA.String()
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	if err := os.Remove(filepath.Join(store.PlanDir("conf/b", head), record.PlanFile)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plans.tgz")
	_, err := runner.WriteBundle(ctx, f.opts, rep, file)
	var te *record.TamperedError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "conf/b") {
		t.Errorf("a plan without its plan file: %v", err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a bundle was written: %v", err)
	}

	o := f.fresh(func(o *runner.Options) { o.FromWorktree = true })
	wrep, err := runner.Plan(ctx, o, f.targets[:1])
	if err != nil || wrep.Projects[0].Status != runner.StatusPlanned {
		t.Fatalf("work tree plan: %+v %v", wrep.Projects, err)
	}
	if _, err := runner.WriteBundle(ctx, o, wrep, file); err == nil || !strings.Contains(err.Error(), "conf/a: a plan of the work tree (--from-worktree) cannot be bundled") {
		t.Errorf("a work tree plan: %v", err)
	}
}
