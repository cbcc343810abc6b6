package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
)

// The plugin cache Terraform runs providers from is the work dir's own:
// a link planted in its place is refused, never followed.
func TestPlanRefusesALinkedPluginCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")}, map[string]string{"conf/a/main.tf": "# edited\n"})
	if err := os.MkdirAll(f.opts.Workdir, 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(f.opts.Workdir, "plugin-cache")); err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Plan(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status == runner.StatusPlanned || p.Status == runner.StatusNoChanges || !strings.Contains(p.Error, "plugin-cache") {
		t.Errorf("a linked plugin cache: %+v", p)
	}
}

// With --fail-fast, a project planned (with changes or without) is a
// success: the run goes on to the next.
func TestFailFastGoesOnAfterEachSuccess(t *testing.T) {
	t.Parallel()
	st := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/b/main.tf": "", "conf/c/main.tf": "",
		"conf/a/backend.tf": backend(st, "a"), "conf/b/backend.tf": backend(st, "b"), "conf/c/backend.tf": backend(st, "c")},
		map[string]string{"conf/a/main.tf": "# none\n", "conf/b/main.tf": "output \"o\" {\n  value = 1\n}\n", "conf/c/main.tf": "# none\n"})
	f.opts.FailFast, f.opts.Jobs = true, 1
	rep, err := runner.Plan(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	res := byDir(t, rep)
	if res["conf/a"].Status != runner.StatusNoChanges || res["conf/b"].Status != runner.StatusPlanned || res["conf/c"].Status != runner.StatusNoChanges {
		t.Errorf("fail-fast run of three good projects: %+v", rep.Projects)
	}
}

// A plan text that cannot be removed (a directory where plan.txt goes)
// fails the re-plan rather than leave another plan's text beside it; no
// record vouches for the new plan.
func TestReplanFailsWhenTheOldTextStays(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")}, map[string]string{"conf/a/main.tf": "output \"o\" {\n  value = 1\n}\n"})
	head := f.opts.Comparison.Head.SHA.String()
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	f.plan(t)
	text := filepath.Join(store.PlanDir("conf/a", head), record.PlanTextFile)
	if err := os.MkdirAll(filepath.Join(text, "stuck"), 0o700); err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Plan(context.Background(), f.fresh(nil), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusFailed || !strings.Contains(p.Error, record.PlanTextFile) {
		t.Errorf("re-plan: %+v", p)
	}
	if _, err := store.LoadPlan("conf/a", head); err == nil {
		t.Error("a record vouches for the plan whose old text stayed")
	}
}

// A re-plan after an apply whose outcome is unknown (its plan consumed, no
// apply record) keeps that unknown apply on record.
func TestReplanKeepsAnUnfinishedApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")}, map[string]string{"conf/a/main.tf": "output \"o\" {\n  value = 1\n}\n"})
	head := f.opts.Comparison.Head.SHA.String()
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	f.plan(t)
	rec, err := store.LoadPlan("conf/a", head)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rec.Consumed, rec.ConsumedAt = true, &at
	if _, err := store.SavePlan(rec); err != nil {
		t.Fatal(err)
	}
	f.plan(t)
	rec, err = store.LoadPlan("conf/a", head)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Consumed || rec.Unfinished == nil || rec.Unfinished.Head != head || !rec.Unfinished.Started.Equal(at) {
		t.Errorf("the new plan's record: consumed %v, unfinished %+v", rec.Consumed, rec.Unfinished)
	}
	// A re-plan with nothing unfinished carries nothing.
	g := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")}, map[string]string{"conf/a/main.tf": "output \"o\" {\n  value = 1\n}\n"})
	g.plan(t)
	// An unreadable apply record does not stop a re-plan (apply and guard
	// report it).
	applies := filepath.Join(runner.Store(g.opts.Workdir, g.opts.Repo).Root, "applies", record.Slug("conf/a"))
	if err := os.MkdirAll(applies, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(applies, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.plan(t)
	if rec, err := runner.Store(g.opts.Workdir, g.opts.Repo).LoadPlan("conf/a", g.opts.Comparison.Head.SHA.String()); err != nil || rec.Unfinished != nil {
		t.Errorf("nothing unfinished: %+v %v", rec, err)
	}
}

// Which -from-module source a project is planned from: the one declared
// in atoll.yaml, unless discovery read it from a direnv file and the
// evaluated environment gives one (then the environment's); the
// environment's when discovery saw none; the one read from the .envrc when
// the environment gives none. -backend-config from the environment counts
// when checking where the state goes.
func TestFromModuleSourceChoice(t *testing.T) {
	t.Parallel()
	st := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"modules/one/main.tf":  "resource \"terraform_data\" \"a\" {}\n",
		"modules/two/main.tf":  "resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {}\n",
		"conf/env/.envrc":      "export TF_CLI_ARGS_init=-from-module=../../modules/one\n",
		"conf/env/backend.tf":  backend(st, "env"),
		"conf/none/backend.tf": backend(st, "none"),
		"conf/k/.envrc":        "export TF_CLI_ARGS_init=-backend-config=path=" + filepath.Join(st, "k.tfstate") + "\n",
		"conf/k/main.tf":       "terraform {\n  backend \"local\" {}\n}\nresource \"terraform_data\" \"k\" {}\n",
	}, map[string]string{"conf/env/backend.tf": backend(st, "env") + "# edited\n", "conf/none/backend.tf": backend(st, "none") + "# edited\n", "conf/k/main.tf": "terraform {\n  backend \"local\" {}\n}\nresource \"terraform_data\" \"k\" {}\n# edited\n"})
	byName := map[string]runner.Target{}
	for _, tg := range f.targets {
		byName[tg.Project.Dir] = tg
	}
	if len(byName) != 3 {
		t.Fatalf("targets %+v", f.targets)
	}
	with := func(dir, source, from string) runner.Target {
		tg := byName[dir]
		tg.Project.Source, tg.Project.SourceFrom, tg.Project.FromModule = source, from, source != "" || from != ""
		tg.Project.Modules = []project.ModuleUse{{Dir: "modules/one", Chain: []string{dir, "modules/one"}}, {Dir: "modules/two", Chain: []string{dir, "modules/two"}}}
		return tg
	}
	for _, c := range []struct {
		name string
		tg   runner.Target
		add  int
	}{
		{"the environment's, discovery saw none", with("conf/env", "", ""), 1},
		{"declared wins over the environment", with("conf/env", "../../modules/two", "atoll.yaml:2"), 2},
		{"the environment's over what discovery read from the .envrc", with("conf/env", "../../modules/two", "conf/env/.envrc:1"), 1},
		{"read from the .envrc, the environment gives none", with("conf/none", "../../modules/two", "conf/none/.envrc:1"), 2},
	} {
		rep, err := runner.Plan(context.Background(), f.fresh(nil), []runner.Target{c.tg})
		if err != nil {
			t.Fatal(err)
		}
		if p := rep.Projects[0]; p.Status != runner.StatusPlanned || p.Counts.Add != c.add {
			t.Errorf("%s: %s %d to add (%s), want %d", c.name, p.Status, p.Counts.Add, p.Error, c.add)
		}
	}
	rep, err := runner.Plan(context.Background(), f.fresh(nil), []runner.Target{byName["conf/k"]})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusPlanned {
		t.Errorf("a local backend given its path by -backend-config: %+v", p)
	}
}

// A project of another Terraform workspace is planned in it (selected,
// made when missing); "default" needs no selection.
func TestPlanSelectsTheProjectsWorkspace(t *testing.T) {
	t.Parallel()
	st := t.TempDir()
	be := func(name string) string {
		return "terraform {\n  backend \"local\" {\n    path = \"" + filepath.Join(st, name+".tfstate") + "\"\n    workspace_dir = \"" + filepath.Join(st, name+".d") + "\"\n  }\n}\n"
	}
	f := newFixture(t, map[string]string{"conf/p/backend.tf": be("p"), "conf/d/backend.tf": be("d")},
		map[string]string{"conf/p/main.tf": "output \"ws\" {\n  value = terraform.workspace\n}\n", "conf/d/main.tf": "output \"ws\" {\n  value = terraform.workspace\n}\n"})
	f.opts.PlanJSON = true
	for i := range f.targets {
		if f.targets[i].Project.Dir == "conf/p" {
			f.targets[i].Project.Workspace = "prod"
		} else {
			f.targets[i].Project.Workspace = "default"
		}
	}
	f.plan(t)
	head := f.opts.Comparison.Head.SHA.String()
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	for dir, want := range map[string]string{"conf/p": `"after":"prod"`, "conf/d": `"after":"default"`} {
		b, err := os.ReadFile(filepath.Join(store.PlanDir(dir, head), record.PlanJSONFile))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: the plan is not of its workspace (want %s): %v", dir, want, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(st, "p.d", "prod")); err != nil || !fi.IsDir() {
		t.Errorf("workspace prod was not made: %v", err)
	}
	if _, err := os.Stat(filepath.Join(st, "d.d")); !os.IsNotExist(err) {
		t.Errorf("a workspace was made for default: %v", err)
	}
}

// An apply that succeeded but whose apply record cannot be written fails
// the project, saying so: the merge guard would not know of the apply.
func TestApplyWhoseRecordCannotBeWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")},
		map[string]string{"conf/a/main.tf": "resource \"terraform_data\" \"x\" {}\n"})
	f.plan(t)
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	if err := os.MkdirAll(filepath.Join(store.Root, "applies"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A file where the project's apply records go.
	if err := os.WriteFile(filepath.Join(store.Root, "applies", record.Slug("conf/a")), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Apply(context.Background(), f.fresh(nil), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Projects[0]
	if p.Status != runner.StatusFailed || !strings.HasPrefix(p.Error, "applied, but the apply record could not be written: ") ||
		!strings.Contains(p.Error, "is a file, not a directory") || len(p.Changed) != 1 || p.Record != "" ||
		!strings.HasPrefix(p.Hint, "remove ") || !strings.Contains(p.Hint, "The changes are applied") {
		t.Errorf("apply: %+v", p)
	}
	// A failed apply whose record cannot be written says both.
	g := newFixture(t, map[string]string{"conf/a/main.tf": "", "conf/a/backend.tf": backend(t.TempDir(), "a")},
		map[string]string{"conf/a/main.tf": "resource \"terraform_data\" \"x\" {\n  provisioner \"local-exec\" {\n    command = \"exit 1\"\n  }\n}\n"})
	g.plan(t)
	gs := runner.Store(g.opts.Workdir, g.opts.Repo)
	if err := os.MkdirAll(filepath.Join(gs.Root, "applies"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gs.Root, "applies", record.Slug("conf/a")), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = runner.Apply(context.Background(), g.fresh(nil), g.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusFailed || !strings.Contains(p.Error, "; and its record could not be written: ") || p.Record != "" ||
		!strings.Contains(p.Hint, "Terraform does not roll back") {
		t.Errorf("failed apply: %+v", p)
	}
}

// A deleted project whose apply records cannot be read is not taken for
// destroyed.
func TestDeletedProjectWithUnreadableApplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/gone/main.tf": "", "conf/gone/backend.tf": backend(t.TempDir(), "gone"), "conf/keep/main.tf": ""},
		map[string]string{"conf/keep/main.tf": "# edited\n"})
	gone := f.deleteProject(t, "conf/gone")
	applies := filepath.Join(runner.Store(f.opts.Workdir, f.opts.Repo).Root, "applies", record.Slug("conf/gone"))
	if err := os.MkdirAll(applies, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(applies, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, run := range []func(context.Context, *runner.Options, []runner.Target) (*runner.Report, error){runner.Plan, runner.Apply} {
		rep, err := run(context.Background(), f.fresh(nil), gone)
		if err != nil {
			t.Fatal(err)
		}
		if p := rep.Projects[0]; strings.Contains(p.Hint, "already destroyed") || p.Status == runner.StatusNoChanges {
			t.Errorf("%s: %+v", rep.Command, p)
		}
	}
}
