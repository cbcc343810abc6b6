package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// rescan recomputes the comparison and the targets (deleted projects
// included, from the merge-base) after the branch or the base moved, in
// fresh options with the settings of the old ones.
func (f *fixture) rescan(t *testing.T) {
	t.Helper()
	repo := f.opts.Repo
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Changed(repo, cfg, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	head, err := scan.Projects(repo, cfg, res.Comparison.Head.SHA, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, err := scan.Projects(repo, cfg, res.Comparison.MergeBase, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.targets = nil
	for _, a := range res.Projects {
		from, deleted := head, a.Status == affected.Deleted
		if deleted {
			from = base
		}
		for _, p := range from.Projects {
			if p.Dir == a.Dir {
				f.targets = append(f.targets, runner.Target{Project: p, Deleted: deleted})
			}
		}
	}
	f.opts = f.fresh(func(o *runner.Options) { o.Config, o.Comparison = cfg, res.Comparison })
}

// deleteProject deletes dir on the branch in a commit, rescans, and
// returns the one target that is its deletion.
func (f *fixture) deleteProject(t *testing.T, dir string) []runner.Target {
	t.Helper()
	f.sb.Git("rm", "-q", "-r", dir)
	f.sb.Git("commit", "-q", "-m", "delete "+dir)
	f.rescan(t)
	var gone []runner.Target
	for _, tg := range f.targets {
		if tg.Deleted {
			gone = append(gone, tg)
		}
	}
	if len(gone) != 1 || gone[0].Project.Dir != dir {
		t.Fatalf("targets %+v", f.targets)
	}
	return gone
}

// fresh is a copy of the run's options (a new run: its environment is
// evaluated again), edited.
func (f *fixture) fresh(edit func(o *runner.Options)) *runner.Options {
	o := f.opts
	n := &runner.Options{Repo: o.Repo, Config: o.Config, Comparison: o.Comparison, Workdir: o.Workdir, TerraformBin: o.TerraformBin,
		Jobs: o.Jobs, InterruptGrace: o.InterruptGrace, Ledger: o.Ledger, Who: o.Who, Branch: o.Branch, Environ: o.Environ}
	if edit != nil {
		edit(n)
	}
	return n
}

func byDir(t *testing.T, rep *runner.Report) map[string]runner.ProjectResult {
	t.Helper()
	out := map[string]runner.ProjectResult{}
	for _, p := range rep.Projects {
		out[p.Dir] = p
	}
	return out
}

func history(t *testing.T, c *ledger.Client, dir string) []ledger.Stored {
	t.Helper()
	snap, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, err := snap.History(ledger.Key(dir, ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A project planned, applied, planned again (no changes) and applied
// again, beside one whose apply fails: records, ledger entries, statuses
// and the refusal of a plan used twice.
func TestPlanApplyLifecycle(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/ok/backend.tf":  backend(stateDir, "ok"),
		"conf/ok/main.tf":     "",
		"conf/bad/backend.tf": backend(stateDir, "bad"),
		"conf/bad/main.tf":    "",
	}, map[string]string{
		"conf/ok/main.tf": "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
		"conf/bad/main.tf": `resource "terraform_data" "first" {}

resource "terraform_data" "fails" {
  depends_on = [terraform_data.first]
  provisioner "local-exec" {
    command = "exit 1"
  }
}
`,
	})
	store, err := gitstore.Open(f.opts.Repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Ledger = &ledger.Client{Store: store}
	f.opts.Who = ledger.Identity{User: "ana"}
	f.opts.PlanText, f.opts.PlanJSON = true, true
	f.opts.Reverts = func(dir, ws string) string {
		if dir == "conf/ok" {
			return "would revert branch other's apply"
		}
		return ""
	}
	var mu sync.Mutex
	phases := map[string][]runner.Phase{}
	f.opts.Events = func(e runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		if p := phases[e.Project]; len(p) == 0 || p[len(p)-1] != e.Phase {
			phases[e.Project] = append(p, e.Phase)
		}
	}
	rep := f.plan(t)
	if rep.Summary.Total != 2 || rep.Summary.WithChanges != 2 || rep.Command != "plan" || rep.Branch != "feature" || rep.MergeBase == "" {
		t.Errorf("plan report %+v", rep)
	}
	if w := []runner.Phase{runner.PhaseQueued, runner.PhaseMaterialize, runner.PhaseInit, runner.PhasePlan, runner.PhaseDone}; !slices.Equal(phases["conf/ok"], w) {
		t.Errorf("phases %v, want %v", phases["conf/ok"], w)
	}
	res := byDir(t, rep)
	if ok := res["conf/ok"]; ok.Warning != "would revert branch other's apply" || !strings.Contains(ok.PlanText, "terraform_data.x") || ok.Counts.Add != 1 {
		t.Errorf("conf/ok: %+v", ok)
	}
	if res["conf/bad"].Warning != "" {
		t.Errorf("conf/bad warned: %q", res["conf/bad"].Warning)
	}
	rs := runner.Store(f.opts.Workdir, f.opts.Repo)
	head := f.opts.Comparison.Head.SHA.String()
	rec, err := rs.LoadPlan("conf/ok", head)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Branch != "feature" || rec.BaseSHA != f.opts.Comparison.Base.SHA.String() || rec.MergeBase != f.opts.Comparison.MergeBase.String() ||
		rec.InputsHash == "" || rec.Dirty || rec.Destroy || !rec.HasChanges || rec.Workspace != "default" || rec.Env == nil || rec.Consumed {
		t.Errorf("plan record %+v", rec)
	}
	if fi, err := os.Stat(rec.PlanFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file %v %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(rec.PlanFile), record.PlanTextFile)); err != nil || !strings.Contains(string(b), "terraform_data.x") {
		t.Errorf("plan text: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(rec.PlanFile), record.PlanJSONFile)); err != nil || !strings.Contains(string(b), `"terraform_data.x"`) {
		t.Errorf("plan JSON: %v", err)
	}

	f.opts.Events = nil
	rep, err = runner.Apply(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	res = byDir(t, rep)
	ok, bad := res["conf/ok"], res["conf/bad"]
	if ok.Status != runner.StatusApplied || ok.Counts.Add != 1 || !slices.Equal(ok.Changed, []string{"terraform_data.x (create)"}) || ok.Record == "" {
		t.Errorf("conf/ok: %+v", ok)
	}
	if bad.Status != runner.StatusFailed || !strings.Contains(bad.Hint, "Terraform does not roll back") || !strings.Contains(bad.Hint, "terraform_data.first (create)") ||
		!strings.Contains(bad.Hint, "Do not merge this branch") || !strings.Contains(bad.Hint, bad.LogFile) {
		t.Errorf("conf/bad: %+v", bad)
	}
	if rep.Summary.Applied != 1 || rep.Summary.Failed != 1 || rep.Command != "apply" {
		t.Errorf("summary %+v", rep.Summary)
	}
	if _, err := os.Lstat(filepath.Join(rs.Root, f.opts.Comparison.MergeBase.String()[:8])); !os.IsNotExist(err) {
		t.Errorf("a checkout of the merge-base was made, with nothing deleted: %v", err)
	}
	applies, err := rs.Applies("conf/ok")
	if err != nil || len(applies) != 1 || !applies[0].Success || applies[0].InputsHash != rec.InputsHash || applies[0].Head != head {
		t.Fatalf("apply records %+v %v", applies, err)
	}
	if applies, _ := rs.Applies("conf/bad"); len(applies) != 1 || applies[0].Success || applies[0].Error == "" {
		t.Errorf("conf/bad apply records %+v", applies)
	}
	hist := history(t, f.opts.Ledger, "conf/ok")
	if len(hist) != 2 {
		t.Fatalf("ledger %+v", hist)
	}
	done, started := hist[0].Entry, hist[1].Entry
	if started.Result != ledger.Started || done.Result != ledger.Success || done.Completes != started.ID || done.Counts.Add != 1 ||
		done.Branch != "feature" || done.Head != head || done.InputsHash != rec.InputsHash || done.Who.User != "ana" || done.Workspace != "" {
		t.Errorf("ledger entries: %+v then %+v", started, done)
	}
	if hist := history(t, f.opts.Ledger, "conf/bad"); len(hist) != 2 || hist[0].Entry.Result != ledger.Failed || hist[0].Entry.Error == "" {
		t.Errorf("conf/bad ledger %+v", hist)
	}

	// The same plan again: refused, it was used.
	rep, err = runner.Apply(context.Background(), f.fresh(nil), f.targets[:1])
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Error, "already used by an apply at 20") {
		t.Errorf("second apply: %+v", p)
	}

	// Planned again: no changes; applied: recorded without Terraform.
	var okOnly []runner.Target
	for _, tg := range f.targets {
		if tg.Project.Dir == "conf/ok" {
			okOnly = append(okOnly, tg)
		}
	}
	o := f.fresh(nil)
	rep, err = runner.Plan(context.Background(), o, okOnly)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNoChanges || rep.Summary.NoChanges != 1 {
		t.Fatalf("re-plan: %+v", p)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(rec.PlanFile), record.PlanTextFile)); !os.IsNotExist(err) {
		t.Errorf("the older plan's text is left beside the new plan: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(rec.PlanFile), record.PlanJSONFile)); !os.IsNotExist(err) {
		t.Errorf("the older plan's JSON is left beside the new plan: %v", err)
	}
	rep, err = runner.Apply(context.Background(), f.fresh(nil), okOnly)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNoChanges {
		t.Fatalf("apply of no changes: %+v", p)
	}
	if rec, _ := rs.LoadPlan("conf/ok", head); !rec.Consumed || rec.ConsumedAt == nil {
		t.Errorf("a plan without changes was not consumed: %+v", rec)
	}
	if applies, _ := rs.Applies("conf/ok"); len(applies) != 2 || !applies[0].Success {
		t.Errorf("apply records %+v", applies)
	}
	if hist := history(t, f.opts.Ledger, "conf/ok"); len(hist) != 3 || hist[0].Entry.Result != ledger.Success || hist[0].Entry.Completes != "" {
		t.Errorf("no-changes ledger entry: %+v", hist[0].Entry)
	}
}

// Every refusal that needs no Terraform run, from records a plan would
// have written.
func TestApplyRefusals(t *testing.T) {
	t.Parallel()
	f := newApplyFixture(t)
	refused := func(o *runner.Options, want string) {
		t.Helper()
		rep, err := runner.Apply(context.Background(), o, f.targets)
		if err != nil {
			t.Fatal(err)
		}
		if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Error, want) {
			t.Errorf("got %s: %s (%s); want refused: %s", p.Status, p.Error, p.Hint, want)
		}
	}
	rs := runner.Store(f.opts.Workdir, f.opts.Repo)
	// A plan of another branch of the same project: not "HEAD moved".
	savedPlan(t, f, func(p *record.Plan) { p.Head, p.Branch = strings.Repeat("b", 40), "other" })
	refused(f.fresh(nil), "no plan for HEAD "+f.opts.Comparison.Head.SHA.String()[:8])
	// This branch's plan of an older commit: HEAD moved.
	savedPlan(t, f, func(p *record.Plan) { p.Head = strings.Repeat("c", 40) })
	refused(f.fresh(nil), "HEAD moved since the plan: it was made at cccccccc, HEAD is")

	savedPlan(t, f, func(p *record.Plan) { p.Dirty = true })
	refused(f.fresh(nil), "made from the work tree")
	// Used by an apply that never said how it ended, then by one that did.
	savedPlan(t, f, func(p *record.Plan) { p.Consumed = true })
	refused(f.fresh(nil), "was taken by an apply at 0001-01-01 00:00:00Z that never finished")
	if _, err := rs.SaveApply(&record.Apply{Dir: "conf/a", Head: f.opts.Comparison.Head.SHA.String(), Started: time.Now(), Finished: time.Now()}); err != nil {
		t.Fatal(err)
	}
	refused(f.fresh(nil), "already used by an apply at an unknown time")
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	savedPlan(t, f, func(p *record.Plan) { p.Consumed, p.ConsumedAt = true, &at })
	refused(f.fresh(nil), "already used by an apply at 2026-02-03 04:05:06Z")

	// The base moved on: refused before anything else, unless forced or
	// checked by the caller (then the next check speaks: inputs hash).
	f.sb.Git("checkout", "-q", "main")
	f.sb.Commit("main moves", map[string]string{"README": "x"})
	f.sb.Push("main")
	f.sb.Git("checkout", "-q", "feature")
	f.rescan(t)
	savedPlan(t, f, func(p *record.Plan) {})
	refused(f.fresh(nil), "the branch is not up to date with")
	refused(f.fresh(func(o *runner.Options) { o.Force = "INC-1" }), "inputs hash")
	refused(f.fresh(func(o *runner.Options) { o.UpToDateChecked = true }), "inputs hash")
	// On the base branch itself (compared with its first parent) there is
	// no branch to bring up to date.
	refused(f.fresh(func(o *runner.Options) { o.Comparison.Rule = git.RuleFirstParent }), "inputs hash")
	if st, _ := rs.LoadPlan("conf/a", f.opts.Comparison.Head.SHA.String()); st == nil || st.Consumed {
		t.Errorf("a refused plan was consumed: %+v", st)
	}
}

// A deleted project: not planned without --destroy-deleted; planned as a
// destroy from the merge-base with it; once destroyed, nothing is left to
// do for plan nor apply.
func TestDeletedProject(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/gone/backend.tf": backend(stateDir, "gone"),
		"conf/gone/main.tf":    "resource \"terraform_data\" \"x\" {}\n",
		"conf/keep/main.tf":    "",
	}, map[string]string{"conf/keep/main.tf": "# edited\n"})
	gone := f.deleteProject(t, "conf/gone")
	rep, err := runner.Plan(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNeedsDestroy || !strings.Contains(p.Hint, "--destroy-deleted") || rep.Summary.Skipped != 1 {
		t.Fatalf("without --destroy-deleted: %+v", p)
	}
	// Nothing to plan: no checkout was made, of HEAD or of the merge-base.
	for _, sha := range []string{f.opts.Comparison.Head.SHA.String(), f.opts.Comparison.MergeBase.String()} {
		if _, err := os.Lstat(filepath.Join(runner.Store(f.opts.Workdir, f.opts.Repo).Root, sha[:8])); !os.IsNotExist(err) {
			t.Errorf("a checkout of %s was made for a run that plans nothing: %v", sha[:8], err)
		}
	}
	// The normal plan of a deleted project is refused.
	rep, err = runner.Apply(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Hint, "atoll plan --destroy-deleted conf/gone") {
		t.Errorf("apply without a plan: %+v", p)
	}
	rep, err = runner.Plan(context.Background(), f.fresh(func(o *runner.Options) { o.DestroyDeleted = true }), gone)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Projects[0]
	if p.Status != runner.StatusNoChanges {
		t.Fatalf("destroy plan: %+v", p)
	}
	rs := runner.Store(f.opts.Workdir, f.opts.Repo)
	rec, err := rs.LoadPlan("conf/gone", f.opts.Comparison.Head.SHA.String())
	if err != nil || !rec.Destroy || rec.Dirty {
		t.Fatalf("destroy record %+v %v", rec, err)
	}
	rep, err = runner.Apply(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNoChanges {
		t.Fatalf("apply of the destroy: %+v", p)
	}
	if applies, _ := rs.Applies("conf/gone"); len(applies) != 1 || !applies[0].Destroy || !applies[0].Success {
		t.Fatalf("apply records %+v", applies)
	}
	// Only the merge-base was checked out, for the plan and the apply of the destroy.
	if _, err := os.Lstat(filepath.Join(rs.Root, f.opts.Comparison.Head.SHA.String()[:8])); !os.IsNotExist(err) {
		t.Errorf("a checkout of HEAD was made to destroy a deleted project: %v", err)
	}
	// Destroyed: plan and apply (a new commit, no plan) have nothing to do.
	f.sb.Commit("more", map[string]string{"conf/keep/main.tf": "# again\n"})
	f.rescan(t)
	rep, err = runner.Plan(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNoChanges || !strings.Contains(p.Hint, "already destroyed") {
		t.Errorf("plan once destroyed: %+v", p)
	}
	rep, err = runner.Apply(context.Background(), f.fresh(nil), gone)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusNoChanges || !strings.Contains(p.Hint, "already destroyed") {
		t.Errorf("apply once destroyed: %+v", p)
	}
}

// --from-worktree plans uncommitted edits; such a plan applies only with
// --allow-dirty, from where it was made, and the environment of the plan
// is checked at apply.
func TestWorktreePlanAndEnvironment(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/w/backend.tf": backend(stateDir, "w"),
		"conf/w/main.tf":    "",
	}, map[string]string{"conf/w/main.tf": "variable \"v\" {\n  default = \"\"\n}\n"})
	f.sb.Write(map[string]string{"conf/w/main.tf": "variable \"v\" {\n  default = \"\"\n}\nresource \"terraform_data\" \"w\" {\n  input = var.v\n}\n"})
	// What a local terraform init left in the work tree is not copied; an
	// uncommitted .envrc at the top is.
	f.sb.Write(map[string]string{".envrc": "export FROM_TOP=1\n", "conf/w/.terraform/from-laptop": "{}\n", "conf/w/.git/junk": "x\n"})
	f.opts.FromWorktree = true
	f.opts.Environ = append(os.Environ(), "TF_VAR_v=one")
	f.plan(t)
	rs := runner.Store(f.opts.Workdir, f.opts.Repo)
	rec, err := rs.LoadPlan("conf/w", f.opts.Comparison.Head.SHA.String())
	if err != nil || !rec.Dirty || !strings.HasPrefix(rec.InputsHash, "worktree:") {
		t.Fatalf("record %+v %v", rec, err)
	}
	co := filepath.Dir(filepath.Dir(rec.Workdir))
	if b, err := os.ReadFile(filepath.Join(co, ".envrc")); err != nil || string(b) != "export FROM_TOP=1\n" {
		t.Errorf("the top .envrc: %q %v", b, err)
	}
	if rec.Env == nil || rec.Env.Digests["FROM_TOP"] == "" {
		t.Errorf("the top .envrc was not evaluated: %+v", rec.Env)
	}
	for _, junk := range []string{".terraform/from-laptop", ".git/junk"} {
		if _, err := os.Stat(filepath.Join(rec.Workdir, junk)); !os.IsNotExist(err) {
			t.Errorf("%s was copied from the work tree: %v", junk, err)
		}
	}
	rep, err := runner.Apply(context.Background(), f.fresh(nil), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Hint, "--allow-dirty") {
		t.Errorf("without --allow-dirty: %+v", p)
	}
	// Another value of a variable Terraform reads: refused, named.
	rep, err = runner.Apply(context.Background(), f.fresh(func(o *runner.Options) {
		o.AllowDirty, o.Environ = true, append(os.Environ(), "TF_VAR_v=two")
	}), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Error, "TF_VAR_v changed since the plan") {
		t.Errorf("another environment: %+v", p)
	}
	rep, err = runner.Apply(context.Background(), f.fresh(func(o *runner.Options) { o.AllowDirty = true }), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusApplied || p.Workdir != rec.Workdir {
		t.Errorf("with --allow-dirty: %+v (planned in %s)", p, rec.Workdir)
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "w.tfstate"))
	if err != nil || !strings.Contains(string(b), `"one"`) {
		t.Errorf("state %s %v", b, err)
	}
}

// A -from-module project: the module is copied in, the project's own
// files laid over it; a project that must come from a module whose source
// only the shell knows is refused.
func TestPlanFromModule(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"atoll.yaml":                "projects:\n  - dir: conf/svc\n    source: ../../modules/svc\n    watch: [\"modules/svc/**\"]\n",
		"modules/svc/main.tf":       "variable \"name\" {\n  type = string\n}\nresource \"terraform_data\" \"s\" {\n  input = var.name\n}\n",
		"conf/svc/backend.tf":       backend(stateDir, "svc"),
		"conf/svc/terraform.tfvars": "name = \"one\"\n",
	}, map[string]string{"conf/svc/terraform.tfvars": "name = \"two\"\n"})
	f.opts.DestroyDeleted = true // nothing deleted: no checkout of the merge-base
	rep := f.plan(t)
	if _, err := os.Lstat(filepath.Join(runner.Store(f.opts.Workdir, f.opts.Repo).Root, f.opts.Comparison.MergeBase.String()[:8])); !os.IsNotExist(err) {
		t.Errorf("a checkout of the merge-base was made, with nothing deleted: %v", err)
	}
	p := rep.Projects[0]
	if p.Counts.Add != 1 {
		t.Errorf("plan %+v", p)
	}
	b, err := os.ReadFile(filepath.Join(p.Workdir, "terraform.tfvars"))
	if err != nil || string(b) != "name = \"two\"\n" {
		t.Errorf("the project's tfvars over the module: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(p.Workdir, "main.tf")); err != nil {
		t.Errorf("the module was not copied in: %v", err)
	}
	if _, err := os.Stat(p.Workdir + ".own"); !os.IsNotExist(err) {
		t.Errorf("the project's own files are left beside it: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(f.opts.Workdir, "plugin-cache")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the plugin cache was not made private: %v %v", fi, err)
	}

	// Discovery found -from-module in a way it cannot evaluate.
	tg := f.targets[0]
	tg.Project.Source, tg.Project.FromModule, tg.Project.SourceFrom = "", true, "conf/svc/.envrc:1"
	rep, err = runner.Plan(context.Background(), f.fresh(nil), []runner.Target{tg})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Projects[0]; p.Status != runner.StatusRefused || !strings.Contains(p.Error, "conf/svc/.envrc:1 sets the -from-module source") {
		t.Errorf("unknown source: %+v", p)
	}
}

// A project's .envrc is evaluated with direnv in the scratch checkout: env
// reports what Terraform gets, secrets masked; a failing .envrc fails the
// project with direnv's message; env.envrc: ignore leaves it out.
func TestProjectEnvironmentFromEnvrc(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/e/backend.tf": backend(stateDir, "e"),
		"conf/.envrc":       "export STAGE=prod\n",
		"conf/e/.envrc":     "source_up\nexport TF_VAR_name=from-envrc API_TOKEN=hunter2\nexport TF_CLI_ARGS_plan='-lock=false -var \"x=a b\"'\nunset DROPME\n",
		"conf/e/main.tf":    "",
		"conf/bad/.envrc":   "echo 'cannot reach the vault' >&2\nexit 3\n",
		"conf/bad/main.tf":  "",
		"conf/q/.envrc":     "export TF_CLI_ARGS_plan=\"-var 'unterminated\"\n",
		"conf/q/main.tf":    "",
	}, map[string]string{"conf/e/main.tf": "variable \"x\" {}\nvariable \"name\" {}\n", "conf/bad/main.tf": "# bad\n", "conf/q/main.tf": "# q\n"})
	f.opts.Environ = append(os.Environ(), "DROPME=1", "TF_WORKSPACE=caller-ws", "TF_BUCKET_PREFIX=caller")
	f.opts.Config.Env.Pass = []string{"TF_BUCKET_PREFIX"}
	byName := map[string]runner.Target{}
	for _, tg := range f.targets {
		byName[tg.Project.Dir] = tg
	}
	rep, err := runner.EnvOf(context.Background(), f.opts, byName["conf/e"].Project)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Envrc != "conf/e/.envrc" || !slices.Equal(rep.Dropped, []string{"TF_WORKSPACE"}) || !slices.Equal(rep.Passed, []string{"TF_BUCKET_PREFIX"}) {
		t.Errorf("report %+v", rep)
	}
	if got := rep.Args["plan"]; !slices.Equal(got, []string{"-lock=false", "-var=x=a b"}) {
		t.Errorf("plan args %q", got)
	}
	if got := rep.Args["init"]; got == nil || len(got) != 0 {
		t.Errorf("init args %q, want none (and not null)", got)
	}
	vars := map[string]runner.EnvVar{}
	for _, v := range rep.Vars {
		vars[v.Name] = v
	}
	for name, want := range map[string]runner.EnvVar{
		"TF_VAR_name":      {Name: "TF_VAR_name", Value: "from-envrc", Envrc: true},
		"API_TOKEN":        {Name: "API_TOKEN", Value: "***", Envrc: true},
		"STAGE":            {Name: "STAGE", Value: "prod", Envrc: true},
		"TF_BUCKET_PREFIX": {Name: "TF_BUCKET_PREFIX", Value: "caller"},
	} {
		if vars[name] != want {
			t.Errorf("%s: %+v, want %+v", name, vars[name], want)
		}
	}
	for _, gone := range []string{"DROPME", "TF_WORKSPACE", "TF_CLI_ARGS_plan"} {
		if _, ok := vars[gone]; ok {
			t.Errorf("%s is in the project's environment", gone)
		}
	}
	_, err = runner.EnvOf(context.Background(), f.fresh(nil), byName["conf/bad"].Project)
	if hint, input := runner.EnvHint(err); err == nil || !strings.Contains(err.Error(), "cannot reach the vault") || !input || !strings.Contains(hint, "cd conf/bad") {
		t.Errorf("failing .envrc: %v (%s)", err, hint)
	}
	_, err = runner.EnvOf(context.Background(), f.fresh(nil), byName["conf/q"].Project)
	if hint, input := runner.EnvHint(err); err == nil || !strings.Contains(err.Error(), "conf/q: TF_CLI_ARGS_plan") || input || !strings.Contains(hint, "quoting") {
		t.Errorf("bad quoting: %v (%s)", err, hint)
	}
	// Ignored: none of the .envrc's variables.
	o := f.fresh(nil)
	cfg := *o.Config
	cfg.Env.Envrc = "ignore"
	o.Config = &cfg
	rep, err = runner.EnvOf(context.Background(), o, byName["conf/e"].Project)
	if err != nil || rep.Envrc != "" {
		t.Fatalf("ignored: %+v %v", rep, err)
	}
	for _, v := range rep.Vars {
		if v.Name == "TF_VAR_name" || v.Envrc {
			t.Errorf("ignored .envrc gave %+v", v)
		}
	}
	// The caller's direnv state cannot be read: refused with the fix.
	o = f.fresh(func(o *runner.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH"), "DIRENV_DIFF=garbage!"} })
	_, err = runner.EnvOf(context.Background(), o, byName["conf/e"].Project)
	if hint, _ := runner.EnvHint(err); err == nil || !strings.Contains(err.Error(), "DIRENV_DIFF") || !strings.Contains(hint, "direnv reload") {
		t.Errorf("bad DIRENV_DIFF: %v (%s)", err, hint)
	}
	if _, err := o.CallerEnv(); err == nil {
		t.Error("CallerEnv accepts the bad DIRENV_DIFF")
	}

	// The plan is bound to the .envrc's file and variables; the failing
	// one fails the project, not the run.
	rep2, err := runner.Plan(context.Background(), f.fresh(nil), []runner.Target{byName["conf/e"], byName["conf/bad"]})
	if err != nil {
		t.Fatal(err)
	}
	res := byDir(t, rep2)
	if p := res["conf/bad"]; p.Status != runner.StatusFailed || !strings.Contains(p.Error, "cannot reach the vault") || !strings.Contains(p.Hint, "direnv allow") {
		t.Errorf("conf/bad: %+v", p)
	}
	if p := res["conf/e"]; p.Status != runner.StatusNoChanges {
		t.Fatalf("conf/e: %+v", p)
	}
	if rep2.Env == nil || !slices.Equal(rep2.Env.Dropped, []string{"TF_WORKSPACE"}) {
		t.Errorf("run's env %+v", rep2.Env)
	}
	rec, err := runner.Store(f.opts.Workdir, f.opts.Repo).LoadPlan("conf/e", f.opts.Comparison.Head.SHA.String())
	if err != nil || rec.Env == nil || rec.Env.Envrc != "conf/e/.envrc" || rec.Env.Digests["TF_VAR_name"] == "" || rec.Env.Digests["DROPME"] == "" {
		t.Fatalf("record env %+v %v", rec.Env, err)
	}
	// Only atoll's scratch checkouts are trusted: never the work tree.
	pe, err := f.fresh(nil).ProjectEnv(context.Background(), byName["conf/e"].Project, f.sb.Work)
	if hint, input := runner.EnvHint(err); err == nil || !strings.Contains(err.Error(), "is blocked") || !input || hint == "" {
		t.Errorf("ProjectEnv in the work tree: %+v %v", pe, err)
	}
}

// Terraform refuses a plan whose state changed since: refused, the plan
// marked not applied (no unfinished apply), nothing recorded as applied.
func TestApplyOfAStalePlan(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/s/backend.tf": backend(stateDir, "s"),
		"conf/s/main.tf":    "",
	}, map[string]string{"conf/s/main.tf": "resource \"terraform_data\" \"s\" {}\n"})
	store, err := gitstore.Open(f.opts.Repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Ledger = &ledger.Client{Store: store}
	f.plan(t)
	// Another run wrote the state meanwhile.
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, "s.tfstate"), []byte(`{"version":4,"terraform_version":"1.5.0","serial":3,"lineage":"another-run","outputs":{},"resources":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Apply(context.Background(), f.fresh(nil), f.targets)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Projects[0]
	if p.Status != runner.StatusRefused || !strings.Contains(p.Error, "is stale") || !strings.Contains(p.Hint, "run atoll plan again") {
		t.Fatalf("stale: %+v", p)
	}
	rs := runner.Store(f.opts.Workdir, f.opts.Repo)
	rec, err := rs.LoadPlan("conf/s", f.opts.Comparison.Head.SHA.String())
	if err != nil || !rec.Consumed || !rec.NotApplied {
		t.Errorf("record %+v %v", rec, err)
	}
	if !strings.Contains(p.Error, rec.PlanFile) {
		t.Errorf("the error %q does not name the reviewed plan %s", p.Error, rec.PlanFile)
	}
	if applies, _ := rs.Applies("conf/s"); len(applies) != 0 {
		t.Errorf("a refused plan recorded as an apply: %+v", applies)
	}
	if out, err := rs.Outcome("conf/s"); err != nil || out.Unfinished != nil {
		t.Errorf("outcome %+v %v", out, err)
	}
	if hist := history(t, f.opts.Ledger, "conf/s"); len(hist) != 2 || hist[0].Entry.Result != ledger.Refused || hist[1].Entry.Result != ledger.Started {
		t.Errorf("ledger %+v", hist)
	}
}
