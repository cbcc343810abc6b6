package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/tf"
)

// DriftLogFile is the name of a drift plan's Terraform log.
const DriftLogFile = "drift.log"

// DriftResult is one project planned for drift.
type DriftResult struct {
	ProjectResult
	// HasChanges is Terraform's verdict (plan -detailed-exitcode): true
	// also when only outputs change.
	HasChanges bool
	// Outputs counts the root module outputs that would change.
	Outputs int
	// Resources are the instances the plan would change.
	Resources []tf.ResourceChange
}

// DriftReport is a drift run: one result per target, sorted by directory.
type DriftReport struct {
	Projects []DriftResult
	// Warnings are files left out of the scratch checkout.
	Warnings []string
}

// Drift plans each target from a scratch checkout of commit (the base
// branch's head), each with its own environment, to learn whether
// production differs from it. Nothing an apply could use is kept: the plan
// file is deleted once read, no plan record is written, and the log goes
// to a directory of its own (<workdir>/<repo>/drift/). Terraform takes
// and releases the state lock as for any plan; a cancelled ctx reaches it
// as SIGINT, so it releases the lock before it exits.
func Drift(ctx context.Context, o *Options, commit git.Hash, targets []Target) (*DriftReport, error) {
	cos := &checkouts{o: o}
	defer cos.close()
	var jobs []Job
	byDir := map[string]Target{}
	for _, t := range targets {
		byDir[t.Project.Dir] = t
		jobs = append(jobs, Job{Dir: t.Project.Dir})
		o.emit(t.Project.Name, PhaseQueued, nil)
	}
	var co *checkoutResult
	if ps := projectsOf(targets, false); len(ps) > 0 {
		co = materialize(ctx, cos, commit, ps)
	}
	results := map[string]*DriftResult{}
	collect := &collected{o: o, byDir: map[string]*ProjectResult{}}
	Schedule(ctx, jobs, o.jobs(), false, func(ctx context.Context, dir string) bool {
		res := o.driftOne(ctx, byDir[dir], co, commit)
		collect.mu.Lock()
		results[dir] = res
		collect.mu.Unlock()
		collect.set(&res.ProjectResult)
		return true
	})
	rep := &DriftReport{Warnings: cos.warnings()}
	for _, t := range targets {
		res, ok := results[t.Project.Dir]
		if !ok {
			res = &DriftResult{ProjectResult: ProjectResult{Name: t.Project.Name, Dir: t.Project.Dir, Status: StatusSkipped, Error: "not started: interrupted"}}
		}
		rep.Projects = append(rep.Projects, *res)
	}
	return rep, nil
}

// DriftDir is where the drift plan of a project at a commit keeps its log.
func DriftDir(workdir string, repo *git.Repo, dir string, commit git.Hash) string {
	return filepath.Join(Store(workdir, repo).Root, "drift", record.Slug(dir), commit.String())
}

func (o *Options) driftOne(ctx context.Context, t Target, co *checkoutResult, commit git.Hash) *DriftResult {
	p := t.Project
	res := &DriftResult{ProjectResult: ProjectResult{Name: p.Name, Dir: p.Dir}}
	start := o.now()
	defer func() { res.Duration = o.now().Sub(start) }()
	if co.err != nil {
		failure(&res.ProjectResult, co.err)
		return res
	}
	logDir := DriftDir(o.Workdir, o.Repo, p.Dir, commit)
	res.LogFile = filepath.Join(logDir, DriftLogFile)
	_ = os.Remove(res.LogFile)
	log, err := logFile(o.Workdir, res.LogFile)
	if err != nil {
		failure(&res.ProjectResult, err)
		return res
	}
	defer log.Close()
	dir := co.dir(p.Dir)
	res.Workdir = dir
	o.emit(p.Name, PhaseInit, nil)
	pe, err := o.projectEnvs().of(ctx, p, co.root, dir)
	if err != nil {
		failure(&res.ProjectResult, err)
		return res
	}
	r := o.tfRunnerFor(log, pe, p.Name, PhasePlan)
	if err := prepare(ctx, r, p, dir, o.pluginCache()); err != nil {
		failure(&res.ProjectResult, err)
		return res
	}
	o.emit(p.Name, PhasePlan, nil)
	// The plan holds secrets in clear and must never be applied: it lives
	// only while it is read.
	planFile := filepath.Join(logDir, fmt.Sprintf(".drift-%d-%d.tfplan", os.Getpid(), time.Now().UnixNano()))
	defer func() { _ = os.Remove(planFile) }()
	pr, err := r.Plan(ctx, dir, planFile, tf.PlanOptions{})
	if err != nil {
		failure(&res.ProjectResult, err)
		return res
	}
	res.Counts = Counts{Add: pr.Add, Change: pr.Change, Replace: pr.Replace, Destroy: pr.Destroy, Import: pr.Import}
	res.HasChanges, res.Outputs, res.Resources = pr.HasChanges, pr.OutputChanges, pr.Changes
	res.Status = StatusNoChanges
	if pr.HasChanges {
		res.Status = StatusPlanned
	}
	return res
}
