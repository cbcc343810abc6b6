package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/tf"
)

// checkPlan finds the plan of a project for HEAD and refuses, with the fix,
// when it cannot be applied as reviewed.
func (o *Options) checkPlan(t Target) (*record.Plan, error) {
	store := o.store()
	head := o.Comparison.Head.SHA.String()
	p := t.Project
	planCmd := "atoll plan " + p.Dir
	if t.Deleted {
		planCmd = "atoll plan --destroy-deleted " + p.Dir
	}
	rec, err := store.LoadPlan(p.Dir, head)
	if errors.Is(err, os.ErrNotExist) {
		// Only a plan of this branch means HEAD moved: other branches (and
		// worktrees) plan the same project too.
		older, _ := store.Plans(p.Dir)
		for _, pl := range older {
			if pl.Branch == o.Comparison.Head.Branch {
				return nil, &refusal{
					msg:  fmt.Sprintf("HEAD moved since the plan: it was made at %s, HEAD is %s", short(pl.Head), short(head)),
					hint: "plan again at this commit (" + planCmd + "), review, then apply",
				}
			}
		}
		return nil, &refusal{msg: "no plan for HEAD " + short(head), hint: "run " + planCmd + " first, and review it"}
	}
	if err != nil {
		return nil, err
	}
	switch {
	case rec.Consumed:
		if out, err := store.Outcome(p.Dir); err == nil && out.Unfinished != nil && out.Unfinished.Head == head {
			return nil, &refusal{
				msg: fmt.Sprintf("the plan of %s was taken by an apply at %s that never finished (killed?): what it changed is unknown",
					short(head), out.Unfinished.Started.Format("2006-01-02 15:04:05Z")),
				hint: "plan again (" + planCmd + "): the new plan shows what is left to do; review it, then apply",
			}
		}
		return nil, &refusal{
			msg:  fmt.Sprintf("the plan of %s was already used by an apply at %s", short(head), consumedAt(rec)),
			hint: "a plan is applied once, also after a failed apply: plan again, review, then apply",
		}
	case rec.Dirty && !o.AllowDirty:
		return nil, &refusal{msg: "the plan was made from the work tree (--from-worktree), not from a commit", hint: "commit, plan again, then apply; or pass --allow-dirty if you really mean it"}
	case rec.Destroy != t.Deleted:
		return nil, &refusal{msg: "the saved plan does not match the project's status on this branch", hint: "plan again: " + planCmd}
	}
	return rec, nil
}

// upToDate refuses to apply when the base branch moved on since the branch
// started: main would no longer describe production after the merge.
func (o *Options) upToDate() error {
	c := o.Comparison
	if c.Rule == git.RuleFirstParent {
		return nil
	}
	ok, err := o.Repo.IsAncestor(c.Base.SHA, c.Head.SHA)
	if err != nil {
		return err
	}
	if !ok {
		return &refusal{
			msg:  fmt.Sprintf("the branch is not up to date with %s (%s is not in its history)", c.Base.Name, short(c.Base.SHA.String())),
			hint: "merge or rebase onto the base branch, plan again, review, then apply",
		}
	}
	return nil
}

// Apply applies the saved plans of HEAD in depends_on order. Every
// refusal (the plan, the files, the environment) is checked before
// Terraform runs for any project; the projects that depend on a refused
// one are skipped. A plan is marked consumed
// before Terraform starts, so it is never applied twice; each apply writes
// an apply record, also when it fails.
func Apply(ctx context.Context, o *Options, targets []Target) (*Report, error) {
	rep := o.report("apply")
	results := &collected{o: o, byDir: map[string]*ProjectResult{}}
	set := results.set

	var baseErr error
	if !o.UpToDateChecked {
		baseErr = o.upToDate()
	}
	if baseErr != nil && o.Force != "" {
		baseErr = nil
	}
	plans := map[string]*record.Plan{}
	byDir := map[string]Target{}
	var jobs []Job
	for _, t := range targets {
		byDir[t.Project.Dir] = t
		res := &ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir}
		if t.Deleted {
			if _, err := o.store().LoadPlan(t.Project.Dir, o.Comparison.Head.SHA.String()); errors.Is(err, os.ErrNotExist) {
				if at, ok := o.destroyed(t.Project.Dir); ok {
					res.Status, res.Hint = StatusNoChanges, "already destroyed (at "+short(at)+"): nothing left to do"
					set(res)
					continue
				}
			}
		}
		rec, err := o.checkPlan(t)
		if err == nil {
			err = baseErr
		}
		if err != nil {
			failure(res, err)
			set(res)
			continue
		}
		plans[t.Project.Dir] = rec
		if !rec.HasChanges {
			// Nothing to apply, but the infrastructure was just shown to
			// match HEAD: record that, so the merge guard knows.
			res.Status = StatusNoChanges
			if err := o.recordNoChanges(rec); err != nil {
				failure(res, err)
			}
			set(res)
			continue
		}
		jobs = append(jobs, Job{Dir: t.Project.Dir, DependsOn: t.Project.DependsOn})
		o.emit(t.Project.Name, PhaseQueued, nil)
	}

	cos := &checkouts{o: o}
	defer cos.close()
	// Checkouts only for the projects that will run.
	var runnable []Target
	for _, j := range jobs {
		runnable = append(runnable, byDir[j.Dir])
	}
	var head, base *checkoutResult
	if ps := projectsOf(runnable, false); len(ps) > 0 {
		head = materialize(ctx, cos, o.Comparison.Head.SHA, ps)
	}
	if ps := projectsOf(runnable, true); len(ps) > 0 {
		base = materialize(ctx, cos, o.Comparison.MergeBase, ps)
	}

	checkout := func(t Target) *checkoutResult {
		if t.Deleted {
			return base
		}
		return head
	}
	// Every project's files and environment are checked before Terraform
	// runs for any of them: found only when its turn came, a refusal
	// would come after the projects before it in depends_on order had
	// applied.
	envs := o.preflight(ctx, runnable, plans, checkout, set)
	jobs = slices.DeleteFunc(jobs, func(j Job) bool { return envs[j.Dir] == nil })
	for dir, why := range dependentsOfRefused(jobs, results) {
		t := byDir[dir]
		set(&ProjectResult{Name: t.Project.Name, Dir: dir, Status: StatusSkipped, Error: why,
			Hint: "nothing was changed in this project; its plan is still valid"})
	}
	jobs = slices.DeleteFunc(jobs, func(j Job) bool { return results.has(j.Dir) })

	outcomes := Schedule(ctx, jobs, o.jobs(), o.FailFast, func(ctx context.Context, dir string) bool {
		t := byDir[dir]
		res := o.applyOne(ctx, t, plans[dir], checkout(t), envs[dir])
		set(res)
		return res.Status == StatusApplied
	})
	for _, j := range jobs {
		if !results.has(j.Dir) {
			t := byDir[j.Dir]
			set(&ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, Status: StatusSkipped, Error: outcomes[j.Dir].Reason,
				Hint: "nothing was changed in this project; its plan is still valid"})
		}
	}
	return finish(rep, results.byDir, targets, cos), nil
}

// preflight checks, for each project to apply, that its checkout holds
// the files the plan was made from and that its environment is the plan's,
// evaluating the environments in parallel (-j). It returns the environment
// of each project that passed; the others' results are set.
func (o *Options) preflight(ctx context.Context, ts []Target, plans map[string]*record.Plan, checkout func(Target) *checkoutResult, set func(*ProjectResult)) map[string]*Environment {
	var mu sync.Mutex
	out := map[string]*Environment{}
	sem := make(chan struct{}, o.jobs())
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pe, err := o.checkApply(ctx, t, plans[t.Project.Dir], checkout(t))
			if err != nil {
				res := &ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, PlanFile: plans[t.Project.Dir].PlanFile}
				failure(res, err)
				set(res)
				return
			}
			mu.Lock()
			out[t.Project.Dir] = pe
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// checkApply refuses to apply a plan whose files or environment differ
// from the project's now.
func (o *Options) checkApply(ctx context.Context, t Target, rec *record.Plan, co *checkoutResult) (*Environment, error) {
	if co.err != nil {
		return nil, co.err
	}
	if got := co.inputs[t.Project.Dir]; !rec.Dirty && got != rec.InputsHash {
		return nil, &refusal{msg: "the files of the checkout differ from those the plan was made from (inputs hash)", hint: "plan again"}
	}
	root, dir := applyDir(t.Project, rec, co)
	pe, err := o.projectEnvs().of(ctx, t.Project, root, dir)
	if err != nil {
		return nil, err
	}
	if err := checkEnv(rec, pe); err != nil {
		return nil, err
	}
	return pe, nil
}

// applyDir is where a plan applies: in the checkout, except for a plan of
// the work tree, which applies where it was made (the work tree may have
// changed since).
func applyDir(p project.Project, rec *record.Plan, co *checkoutResult) (root, dir string) {
	if rec.Dirty {
		return filepath.Dir(strings.TrimSuffix(rec.Workdir, filepath.FromSlash(p.Dir))), rec.Workdir
	}
	return co.root, co.dir(p.Dir)
}

// dependentsOfRefused are the jobs that depend, directly or through other
// jobs, on a project of the run whose result is already set (refused
// before it could run): applying them first would break depends_on order.
func dependentsOfRefused(jobs []Job, results *collected) map[string]string {
	out := map[string]string{}
	for changed := true; changed; {
		changed = false
		for _, j := range jobs {
			if _, done := out[j.Dir]; done {
				continue
			}
			for _, d := range j.DependsOn {
				if _, skipped := out[d]; skipped || (d != j.Dir && results.has(d) && results.status(d) != StatusNoChanges) {
					out[j.Dir] = fmt.Sprintf("skipped: it depends on %s, which was not applied", d)
					changed = true
					break
				}
			}
		}
	}
	return out
}

func (o *Options) applyOne(ctx context.Context, t Target, rec *record.Plan, co *checkoutResult, pe *Environment) *ProjectResult {
	p := t.Project
	// Counts stay zero until Terraform says what it did: the record's are
	// what the plan promised, and a record is no proof (see pkg/record).
	res := &ProjectResult{Name: p.Name, Dir: p.Dir, PlanFile: rec.PlanFile}
	start := o.now()
	defer func() { res.Duration = o.now().Sub(start) }()
	_, dir := applyDir(p, rec, co)
	res.Workdir = dir

	store := o.store()
	logPath := filepath.Join(filepath.Dir(rec.LogFile), record.ApplyLogFile)
	log, err := logFile(o.Workdir, logPath)
	if err != nil {
		failure(res, err)
		return res
	}
	res.LogFile = logPath
	defer log.Close()
	r := o.tfRunnerFor(log, pe, p.Name, PhaseApply)
	ar := &record.Apply{Project: p.Name, Dir: p.Dir, Head: rec.Head, Branch: rec.Branch, InputsHash: rec.InputsHash, Dirty: rec.Dirty,
		Destroy: rec.Destroy, Started: o.now().UTC(), Who: o.who(), Force: o.Force}

	o.emit(p.Name, PhaseInit, nil)
	if err := prepare(ctx, r, p, dir, o.pluginCache()); err != nil {
		failure(res, err)
		return res
	}
	// The ledger says an apply started before Terraform runs: killed half
	// way, it reads as "outcome unknown" to everyone.
	started, err := o.ledgerStart(ctx, rec)
	if err != nil {
		failure(res, err)
		return res
	}
	planFile, err := o.consume(rec)
	if err != nil {
		o.ledgerDone(ctx, rec, started, ledger.Refused, err.Error(), ledger.Counts{})
		failure(res, err)
		return res
	}
	defer os.Remove(planFile)
	o.emit(p.Name, PhaseApply, nil)
	applied, err := r.Apply(ctx, dir, planFile)
	result := ledger.Success
	var stalePlan *tf.StalePlanError
	switch {
	case errors.As(err, &stalePlan):
		result = ledger.Refused
	case err != nil && ctx.Err() != nil:
		result = ledger.Interrupted
	case err != nil:
		result = ledger.Failed
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	o.ledgerDone(ctx, rec, started, result, errText, ledger.Counts(rec.Counts))
	if applied != nil {
		res.Counts = appliedCounts(applied)
		for _, c := range applied.Changed {
			res.Changed = append(res.Changed, fmt.Sprintf("%s (%s)", c.Address, c.Action))
		}
		// A change that failed midway may still have happened: a resource
		// whose provisioner failed exists, tainted, in the state.
		for _, c := range applied.Failed {
			res.Changed = append(res.Changed, fmt.Sprintf("%s (%s failed; it may exist, tainted)", c.Address, c.Action))
		}
	}
	ar.Finished = o.now().UTC()
	ar.Changed, ar.Counts = res.Changed, res.Counts
	ar.Success = err == nil
	if err != nil {
		ar.Error = err.Error()
	}
	var stale *tf.StalePlanError
	var saveErr error
	if errors.As(err, &stale) {
		stale.PlanFile = rec.PlanFile // name the reviewed plan, not the private copy
		saveErr = o.markNotApplied(rec)
	} else {
		// Terraform refused a stale plan before changing anything: that is
		// no apply, and must not read as a failed one to the merge guard.
		res.Record, saveErr = store.SaveApply(ar)
	}
	if saveErr != nil {
		res.Record = ""
	}
	if err == nil && saveErr != nil {
		// Applied: whatever made the record fail (a refusal of the store,
		// say) does not make the apply one that changed nothing.
		var why ProjectResult
		failure(&why, saveErr)
		res.Status = StatusFailed
		res.Error = "applied, but the apply record could not be written: " + why.Error
		res.Hint = strings.TrimSpace(why.Hint + " The changes are applied; without their record atoll guard reads this apply as unfinished: fix that, then plan again (it shows what is left) and apply to record it.")
		return res
	}
	if err != nil {
		failure(res, err)
		if saveErr != nil {
			res.Error += "; and its record could not be written: " + saveErr.Error()
		}
		// A refusal (a stale plan) changed nothing; its hint is the fix.
		if applied != nil && res.Status == StatusFailed {
			res.Hint = noRollbackHint(res.Changed, res.LogFile)
		}
		return res
	}
	res.Status = StatusApplied
	return res
}

// appliedCounts are the counts of what Terraform reported it changed.
func appliedCounts(a *tf.ApplyResult) record.Counts {
	c := a.Counts()
	return record.Counts{Add: c.Add, Change: c.Change, Replace: c.Replace, Destroy: c.Destroy, Import: c.Import}
}

// noRollbackHint says what a failed apply means for the branch.
func noRollbackHint(changed []string, log string) string {
	var b strings.Builder
	b.WriteString("Terraform does not roll back. ")
	if len(changed) == 0 {
		b.WriteString("Terraform reported no resource changed before the failure; check the log to be sure.")
	} else {
		fmt.Fprintf(&b, "These %d resource(s) were changed and stay changed: %s.", len(changed), strings.Join(changed, ", "))
	}
	b.WriteString(" Do not merge this branch: fix the problem on the branch, run atoll plan, review, and atoll apply again. Full output: " + log)
	return b.String()
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// recordNoChanges consumes a plan without changes and writes a successful
// apply record for it.
func (o *Options) recordNoChanges(rec *record.Plan) error {
	now := o.now().UTC()
	rec.Consumed, rec.ConsumedAt = true, &now
	store := o.store()
	if _, err := store.SavePlan(rec); err != nil {
		return err
	}
	_, err := store.SaveApply(&record.Apply{Project: rec.Project, Dir: rec.Dir, Head: rec.Head, Branch: rec.Branch,
		InputsHash: rec.InputsHash, Success: true, Destroy: rec.Destroy, Started: now, Finished: now, Who: o.who(), Force: o.Force})
	if err != nil {
		return err
	}
	// No Terraform apply runs: one entry, already complete.
	if o.Ledger != nil {
		_, _, err = o.Ledger.AppendOrKeep(context.Background(), o.entry(rec, ledger.Success, ""))
	}
	return err
}

// entry is the ledger entry of an apply of a plan.
func (o *Options) entry(rec *record.Plan, result, errText string) *ledger.Entry {
	branch := rec.Branch
	if branch == "" {
		branch = o.Branch
	}
	return &ledger.Entry{Project: rec.Project, Dir: rec.Dir, Workspace: wsKey(rec.Workspace), Branch: branch, Head: rec.Head,
		BaseRef: rec.BaseRef, BaseSHA: rec.BaseSHA, InputsHash: rec.InputsHash, Result: result, Destroy: rec.Destroy, Dirty: rec.Dirty,
		TerraformVersion: rec.TerraformVersion, Who: o.Who, Force: o.Force, Error: errText}
}

func wsKey(ws string) string {
	if ws == "default" {
		return ""
	}
	return ws
}

// ledgerStart appends the started entry; the apply does not run unless
// the remote accepted it.
func (o *Options) ledgerStart(ctx context.Context, rec *record.Plan) (*ledger.Entry, error) {
	if o.Ledger == nil {
		return nil, nil
	}
	e := o.entry(rec, ledger.Started, "")
	if _, err := o.Ledger.Append(ctx, e); err != nil {
		return nil, fmt.Errorf("nothing was applied: the start of the apply could not be recorded in the ledger: %w", err)
	}
	return e, nil
}

// ledgerDone appends the outcome. It runs also after Ctrl-C, so it does
// not use the run's (cancelled) context; an outcome the remote cannot
// take is kept locally and pushed by the next command.
func (o *Options) ledgerDone(ctx context.Context, rec *record.Plan, started *ledger.Entry, result, errText string, counts ledger.Counts) {
	if o.Ledger == nil || started == nil {
		return
	}
	e := o.entry(rec, result, errText)
	e.Completes, e.Counts = started.ID, counts
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, _, _ = o.Ledger.AppendOrKeep(c, e)
}

func consumedAt(rec *record.Plan) string {
	if rec.ConsumedAt == nil {
		return "an unknown time"
	}
	return rec.ConsumedAt.Format("2006-01-02 15:04:05Z")
}

// destroyed reports whether the latest apply of a project was a successful
// destroy, and at which commit.
func (o *Options) destroyed(dir string) (string, bool) {
	out, err := o.store().Outcome(dir)
	if err != nil || out.Unfinished != nil || out.Latest == nil || !out.Latest.Success || !out.Latest.Destroy {
		return "", false
	}
	return out.Latest.Head, true
}

// markNotApplied notes on a consumed plan that Terraform refused it before
// changing anything, so that its apply does not read as unfinished.
func (o *Options) markNotApplied(rec *record.Plan) error {
	store := o.store()
	unlock, err := store.LockPlan(rec.Dir, rec.Head)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := store.LoadPlan(rec.Dir, rec.Head)
	if err != nil || cur.Checksum != rec.Checksum {
		return err // replaced by a new plan meanwhile: nothing to mark
	}
	rec.NotApplied = true
	_, err = store.SavePlan(rec)
	return err
}

// consume checks, under the plan lock, that the plan on disk is still the
// one checked before the run (no re-plan or other apply came between),
// copies its file where no re-plan can replace it, and marks it consumed
// before Terraform applies it: whatever happens next, it is never applied
// again. It returns the private copy to apply.
func (o *Options) consume(rec *record.Plan) (string, error) {
	store := o.store()
	unlock, err := store.LockPlan(rec.Dir, rec.Head)
	if err != nil {
		return "", err
	}
	defer unlock()
	cur, err := store.LoadPlan(rec.Dir, rec.Head)
	if err != nil {
		return "", err
	}
	if cur.Checksum != rec.Checksum || cur.Consumed {
		return "", &refusal{msg: "the plan changed or was used while this apply was starting (another atoll plan or apply of this commit ran meanwhile)",
			hint: "review the current plan, then apply again"}
	}
	private := filepath.Join(filepath.Dir(rec.PlanFile), fmt.Sprintf(".apply-%d-%d.tfplan", os.Getpid(), time.Now().UnixNano()))
	b, err := safefs.ReadPrivateFile(rec.PlanFile, maxPlanBytes)
	if err != nil {
		return "", &record.TamperedError{Path: rec.PlanFile, What: fmt.Sprintf("the plan file cannot be read as the file atoll wrote (%v)", err)}
	}
	f, err := safefs.OpenPrivate(private, os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(private)
		return "", err
	}
	if sum, err := record.FileSHA256(private); err != nil || sum != rec.PlanSHA256 {
		_ = os.Remove(private)
		return "", &record.TamperedError{Path: rec.PlanFile, What: "the plan file changed while it was being copied"}
	}
	now := o.now().UTC()
	rec.Consumed, rec.ConsumedAt = true, &now
	if _, err := store.SavePlan(rec); err != nil {
		_ = os.Remove(private)
		return "", err
	}
	return private, nil
}
