package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/tf"
)

// VersionCacheFile, in the work dir, keeps Terraform binaries' versions
// between runs (see tf.Runner.VersionCache).
const VersionCacheFile = "terraform-versions.json"

func (o *Options) versionCache() string {
	if o.Workdir == "" {
		return ""
	}
	return filepath.Join(o.Workdir, VersionCacheFile)
}

// Plan plans each target from a scratch checkout of HEAD (deleted projects:
// of the merge-base, as a destroy) and saves, next to each plan file, a
// record that binds it to HEAD, the base and the exact inputs. Independent
// projects plan in parallel. The error is for problems of the whole run;
// each project's failure is in its result.
func Plan(ctx context.Context, o *Options, targets []Target) (*Report, error) {
	rep := o.report("plan")
	tfVersion, err := (&tf.Runner{Bin: o.TerraformBin, VersionCache: o.versionCache()}).Version(ctx)
	if err != nil {
		return nil, err
	}
	cos := &checkouts{o: o}
	defer cos.close()

	results := &collected{o: o, byDir: map[string]*ProjectResult{}}
	set := results.set

	var jobs []Job
	byDir := map[string]Target{}
	for _, t := range targets {
		byDir[t.Project.Dir] = t
		if t.Deleted && !o.DestroyDeleted {
			if at, ok := o.destroyed(t.Project.Dir); ok {
				set(&ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, Status: StatusNoChanges,
					Hint: "deleted on this branch and already destroyed (at " + short(at) + "): nothing left to do"})
				continue
			}
			set(&ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, Status: StatusNeedsDestroy,
				Error: "deleted on this branch: its infrastructure still exists",
				Hint:  "plan its destroy with atoll plan --destroy-deleted, apply it, then merge"})
			continue
		}
		jobs = append(jobs, Job{Dir: t.Project.Dir})
		o.emit(t.Project.Name, PhaseQueued, nil)
	}

	// One checkout per commit, holding every project planned from it.
	var head, base *checkoutResult
	if ps := projectsOf(targets, false); len(ps) > 0 {
		if o.FromWorktree {
			head = o.worktreeCheckout(ps)
		} else {
			head = materialize(ctx, cos, o.Comparison.Head.SHA, ps)
		}
	}
	if ps := projectsOf(targets, true); len(ps) > 0 && o.DestroyDeleted {
		base = materialize(ctx, cos, o.Comparison.MergeBase, ps)
	}

	Schedule(ctx, jobs, o.jobs(), o.FailFast, func(ctx context.Context, dir string) bool {
		t := byDir[dir]
		co := head
		if t.Deleted {
			co = base
		}
		res := o.planOne(ctx, t, co, tfVersion)
		set(res)
		return res.Status == StatusPlanned || res.Status == StatusNoChanges
	})
	for _, j := range jobs {
		if !results.has(j.Dir) {
			t := byDir[j.Dir]
			set(&ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, Status: StatusSkipped, Error: "not started: interrupted or --fail-fast"})
		}
	}
	return finish(rep, results.byDir, targets, cos), nil
}

// checkoutResult is a scratch checkout, or why it could not be made.
type checkoutResult struct {
	root string
	// inputs maps project directories to the hash of their files.
	inputs map[string]string
	err    error
}

func (c *checkoutResult) dir(projectDir string) string {
	return filepath.Join(c.root, filepath.FromSlash(projectDir))
}

func materialize(ctx context.Context, cos *checkouts, commit git.Hash, ps []project.Project) *checkoutResult {
	for _, p := range ps {
		cos.o.emit(p.Name, PhaseMaterialize, nil)
	}
	co, err := cos.get(ctx, commit, ps)
	if err != nil {
		return &checkoutResult{err: err}
	}
	return &checkoutResult{root: co.Root, inputs: co.InputsHash}
}

func (o *Options) planOne(ctx context.Context, t Target, co *checkoutResult, tfVersion string) *ProjectResult {
	p := t.Project
	res := &ProjectResult{Name: p.Name, Dir: p.Dir}
	start := o.now()
	defer func() { res.Duration = o.now().Sub(start) }()
	if co.err != nil {
		failure(res, co.err)
		return res
	}
	store := o.store()
	head := o.Comparison.Head.SHA.String()
	planDir := store.PlanDir(p.Dir, head)
	res.LogFile = filepath.Join(planDir, record.PlanLogFile)
	_ = os.Remove(res.LogFile)
	log, err := logFile(o.Workdir, res.LogFile)
	if err != nil {
		failure(res, err)
		return res
	}
	defer log.Close()
	dir := co.dir(p.Dir)
	res.Workdir = dir
	o.emit(p.Name, PhaseInit, nil)
	pe, err := o.projectEnvs().of(ctx, p, co.root, dir)
	if err != nil {
		failure(res, err)
		return res
	}
	caller, _ := o.projectEnvs().Caller()
	envRec, err := pe.record(caller)
	if err != nil {
		failure(res, err)
		return res
	}
	r := o.tfRunnerFor(log, pe, p.Name, PhasePlan)

	if err := prepare(ctx, r, p, dir, o.pluginCache()); err != nil {
		failure(res, err)
		return res
	}
	o.emit(p.Name, PhasePlan, nil)
	// The previous plan of this commit stays valid (and appliable) until
	// the new one is complete: then both are swapped under the plan lock.
	tmpPlan := filepath.Join(planDir, fmt.Sprintf(".tmp-plan-%d-%d.tfplan", os.Getpid(), time.Now().UnixNano()))
	defer func() { _ = os.Remove(tmpPlan); _ = os.Remove(tmpPlan + ".json") }()
	pr, err := r.Plan(ctx, dir, tmpPlan, tf.PlanOptions{Destroy: t.Deleted})
	if err != nil {
		failure(res, err)
		return res
	}
	if o.PlanJSON {
		if err := r.ShowPlanJSON(ctx, dir, tmpPlan, tmpPlan+".json"); err != nil {
			failure(res, err)
			return res
		}
	}
	if o.PlanText {
		// Asked for (--plan-text, markdown output), so a missing text is
		// a failure, as a missing JSON is: never a silently empty summary.
		text, err := r.ShowPlanText(ctx, dir, tmpPlan)
		if err != nil {
			failure(res, err)
			return res
		}
		res.PlanText = text
	}
	// Plans hold secrets in clear, like their JSON: owner-only.
	if err := os.Chmod(tmpPlan, 0o600); err != nil {
		failure(res, err)
		return res
	}
	sum, err := record.FileSHA256(tmpPlan)
	if err != nil {
		failure(res, err)
		return res
	}
	res.PlanFile = filepath.Join(planDir, record.PlanFile)
	res.Counts = record.Counts{Add: pr.Add, Change: pr.Change, Replace: pr.Replace, Destroy: pr.Destroy, Import: pr.Import}
	c := o.Comparison
	rec := &record.Plan{
		Project: p.Name, Dir: p.Dir, Workspace: workspaceName(p.Workspace),
		Head: head, Branch: c.Head.Branch, BaseRef: c.Base.Name, BaseSHA: c.Base.SHA.String(),
		InputsHash: co.inputs[p.Dir], Dirty: o.FromWorktree && !t.Deleted, TerraformBin: o.TerraformBin, TerraformVersion: tfVersion,
		Time: o.now().UTC(), Counts: res.Counts, HasChanges: pr.HasChanges, Destroy: t.Deleted,
		Workdir: dir, PlanFile: res.PlanFile, PlanSHA256: sum, LogFile: res.LogFile, Env: envRec,
	}
	if !c.MergeBase.IsZero() {
		rec.MergeBase = c.MergeBase.String()
	}
	if res.Record, err = o.swapPlan(planDir, tmpPlan, rec, res.PlanText); err != nil {
		failure(res, err)
		return res
	}
	res.Status = StatusNoChanges
	if pr.HasChanges {
		res.Status = StatusPlanned
	}
	if o.Reverts != nil {
		res.Warning = o.Reverts(p.Dir, p.Workspace)
	}
	return res
}

// swapPlan puts a finished plan in place of the previous one, under the
// plan lock.
func (o *Options) swapPlan(planDir, tmpPlan string, rec *record.Plan, text string) (string, error) {
	unlock, err := o.store().LockPlan(rec.Dir, rec.Head)
	if err != nil {
		return "", err
	}
	defer unlock()
	return o.replacePlan(rec, func() error {
		if err := os.Rename(tmpPlan, rec.PlanFile); err != nil {
			return err
		}
		// plan.tfplan.json and plan.txt are of this plan or absent: never
		// an older plan's.
		jsonFile := filepath.Join(planDir, record.PlanJSONFile)
		if err := os.Rename(tmpPlan+".json", jsonFile); errors.Is(err, os.ErrNotExist) {
			if err := os.Remove(jsonFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		} else if err != nil {
			return err
		}
		textFile := filepath.Join(planDir, record.PlanTextFile)
		if text != "" {
			_ = safefs.ReplaceFile(textFile, []byte(text), 0o600)
		} else if err := os.Remove(textFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

// replacePlan swaps a plan's files in (put) and writes its record, with
// the plan lock held: the old record goes first, so no crash leaves a
// record vouching for a plan file it did not seal.
func (o *Options) replacePlan(rec *record.Plan, put func() error) (string, error) {
	store := o.store()
	// Replacing the plan of an apply that never finished must not make
	// that apply's outcome look known.
	if out, err := store.Outcome(rec.Dir); err == nil && out.Unfinished != nil {
		rec.Unfinished = out.Unfinished
	}
	if err := os.Remove(filepath.Join(store.PlanDir(rec.Dir, rec.Head), record.RecordFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := put(); err != nil {
		return "", err
	}
	return store.SavePlan(rec)
}

func workspaceName(w string) string {
	if w == "" {
		return "default"
	}
	return w
}
