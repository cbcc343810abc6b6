// Package guard holds the checks that keep "main == production": named
// checks that each pass, fail, warn or skip with a one-line detail and a
// fix hint. All checks run and all are reported; nothing stops at the
// first failure.
package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// Check names.
const (
	UpToDate = "up-to-date"
	Clean    = "clean"
	Planned  = "planned"
	Applied  = "applied"
	Tracked  = "tracked"
	Locks    = "locks"
)

// Stage selects the checks.
type Stage string

const (
	StagePlan  Stage = "plan"
	StageApply Stage = "apply"
	StageMerge Stage = "merge"
)

// Stages lists the valid stages.
var Stages = []string{string(StagePlan), string(StageApply), string(StageMerge)}

// checksOf are the checks each stage runs, in order.
var checksOf = map[Stage][]string{
	StagePlan:  {UpToDate},
	StageApply: {UpToDate, Clean, Planned, Tracked, Locks},
	StageMerge: {UpToDate, Applied, Tracked, Locks},
}

// Result of one check.
type Result string

const (
	Pass Result = "pass"
	Fail Result = "fail"
	Warn Result = "warn" // failed, but the stage only warns about it
	Skip Result = "skip"
)

// Check is one evaluated check.
type Check struct {
	Name   string `json:"name"`
	Result Result `json:"result"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
	// Projects are the projects the check failed for.
	Projects []string `json:"projects,omitempty"`
	// Commits are, for up-to-date, the base's commits the branch lacks.
	Commits []BehindCommit `json:"commits,omitempty"`
}

// BehindCommit is a commit on the base that the branch does not have, with
// the branch's projects it touches.
type BehindCommit struct {
	SHA      string   `json:"sha"`
	Subject  string   `json:"subject"`
	Projects []string `json:"projects,omitempty"`
}

// Report is the result of a guard run: what --output json prints.
type Report struct {
	Stage Stage  `json:"stage"`
	Mode  string `json:"mode"`
	Head  string `json:"head"`
	// MergeCommit is the commit checked out when Head is its second
	// parent (GitHub's merge commit of a pull request).
	MergeCommit string   `json:"merge_commit,omitempty"`
	Branch      string   `json:"branch,omitempty"`
	Base        string   `json:"base_ref"`
	BaseSHA     string   `json:"base_sha"`
	MergeBase   string   `json:"merge_base"`
	Affected    []string `json:"affected"`
	Checks      []Check  `json:"checks"`
	// Skipped are the checks turned off by --skip or atoll.yaml.
	Skipped []string `json:"skipped"`
	Passed  bool     `json:"passed"`
}

// Failed returns the failed checks.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Result == Fail {
			out = append(out, c)
		}
	}
	return out
}

// EvalError says a check could not be evaluated (no remote, a record that
// fails its seal): neither a pass nor a policy failure.
type EvalError struct {
	Check string
	Err   error
	Hint  string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("could not evaluate %s: %v", e.Check, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Options configure a guard run.
type Options struct {
	Repo   *git.Repo
	Config *config.Config
	Cache  *cache.Store
	Stage  Stage
	// Mode is strict or targeted (default from atoll.yaml, else strict).
	Mode string
	// Skip turns checks off (with atoll.yaml's guard.skip).
	Skip []string
	// Enforce ignores guard.skip from the configuration: atoll apply runs
	// its stage this way, so that only --force, with a reason kept in the
	// apply record, can override a check.
	Enforce bool
	// Fetch updates the base ref from its remote first.
	Fetch bool
	// Head, when set, is examined instead of HEAD.
	Head *git.Head
	// Workdir holds plan and apply records.
	Workdir string
	// FromWorktree: plans are made from the work tree, so the apply stage
	// checks that it is clean.
	FromWorktree bool
	// Ledger reads the locks and the apply ledger from the remote, for
	// the locks and applied checks.
	Ledger *ledger.Client
	// Remote, when set, is the locks and ledger already loaded (apply
	// loads them once for the guard and for taking locks).
	Remote *Remote
	// Context bounds the remote's fetches.
	Context context.Context
	// Branch names the branch being checked when HEAD is detached (CI).
	Branch string
}

// Run evaluates the checks of the stage.
func Run(o Options) (*Report, error) {
	mode := o.Mode
	if mode == "" {
		mode = o.Config.Guard.Mode
	}
	if mode == "" {
		mode = "strict"
	}
	if o.Fetch {
		if err := fetchBase(o); err != nil {
			return nil, err
		}
	}
	res, err := scan.Changed(o.Repo, o.Config, scan.Options{Cache: o.Cache, Head: o.Head})
	if err != nil {
		return nil, err
	}
	cmp := res.Comparison
	rep := &Report{Stage: o.Stage, Mode: mode, Head: cmp.Head.SHA.String(), Branch: cmp.Head.Branch,
		Base: cmp.Base.Name, BaseSHA: cmp.Base.SHA.String(), Skipped: []string{}, Affected: []string{}}
	if !cmp.Head.MergeCommit.IsZero() {
		rep.MergeCommit = cmp.Head.MergeCommit.String()
	}
	if !cmp.MergeBase.IsZero() {
		rep.MergeBase = cmp.MergeBase.String()
	}
	for _, p := range res.Projects {
		rep.Affected = append(rep.Affected, p.Dir)
	}
	skip := map[string]bool{}
	configSkip := o.Config.Guard.Skip
	if o.Enforce {
		configSkip = nil
	}
	for _, s := range append(append([]string{}, configSkip...), o.Skip...) {
		skip[s] = true
	}
	e := &evaluator{o: o, res: res, mode: mode, store: record.Store{Root: filepath.Join(o.Workdir, workspace.RepoID(o.Repo))}}
	for _, name := range checksOf[o.Stage] {
		if skip[name] {
			rep.Skipped = append(rep.Skipped, name)
			rep.Checks = append(rep.Checks, Check{Name: name, Result: Skip, Detail: "skipped by configuration (--skip or guard.skip in atoll.yaml)"})
			continue
		}
		c, err := e.run(name)
		if err != nil {
			return nil, err
		}
		if c.Result == Fail && o.Stage == StagePlan {
			c.Result = Warn // planning a branch that is behind is allowed; applying it is not
		}
		rep.Checks = append(rep.Checks, c)
	}
	rep.Passed = len(rep.Failed()) == 0
	return rep, nil
}

func fetchBase(o Options) error {
	cmp, err := o.Repo.ResolveBase(o.Config.Base)
	var nf *git.BaseNotFoundError
	if err != nil && !errors.As(err, &nf) {
		return err
	}
	remote, branch, ok := "origin", "", false
	if err == nil {
		remote, branch, ok = git.RemoteOf(cmp.Base.Name)
	} else if h := o.Repo.BaseHint; h != nil {
		branch, ok = h.Branch, true
	} else if o.Config.Base != "" {
		branch, ok = strings.TrimPrefix(o.Config.Base, "origin/"), true
	} else {
		branch, ok = "main", true
	}
	if !ok {
		return &EvalError{Check: UpToDate, Err: fmt.Errorf("--fetch: the base %s is not a remote-tracking branch", cmp.Base.Name),
			Hint: "compare with a remote branch (--base origin/main) to fetch it"}
	}
	if err := o.Repo.Fetch(remote, branch); err != nil {
		return &EvalError{Check: UpToDate, Err: err, Hint: "check the network and the remote's URL (git remote -v); without --fetch the guard uses the base as last fetched"}
	}
	return nil
}

type evaluator struct {
	o      Options
	res    *scan.Result
	mode   string
	store  record.Store
	remote *Remote
}

// loadRemote fetches the locks and the ledger once per run.
func (e *evaluator) loadRemote(check string) (*Remote, error) {
	if e.remote != nil {
		return e.remote, nil
	}
	if e.o.Remote != nil {
		e.remote = e.o.Remote
		return e.remote, nil
	}
	if e.o.Ledger == nil {
		return nil, &EvalError{Check: check, Err: errors.New("no ledger to read"), Hint: "this is a bug in atoll: report it"}
	}
	ctx := e.o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := OpenRemote(ctx, e.o.Ledger, e.o.Repo, e.o.Config, e.o.Cache, e.res.Comparison.Base)
	if err != nil {
		return nil, &EvalError{Check: check, Err: err, Hint: "the locks and the apply ledger live in the remote's refs/atoll/: check the network, the remote's URL (git remote -v) and your credentials (git ls-remote works?)"}
	}
	e.remote = r
	return r, nil
}

// locks: no other branch holds the lock of a project this branch
// affects; in the apply stage, no project's latest apply is another
// branch's unmerged change that this apply would revert.
func (e *evaluator) locks() (Check, error) {
	c := Check{Name: Locks}
	r, err := e.loadRemote(Locks)
	if err != nil {
		return c, err
	}
	head := e.res.Comparison.Head
	branch := head.Branch
	if branch == "" {
		branch = e.o.Branch
	}
	var problems []string
	var stale []*ledger.HeldLock
	for _, p := range e.res.Projects {
		ws := WorkspaceOf(e.o.Config, p.Dir)
		h, err := r.Snap.Lock(ledger.Key(p.Dir, ws))
		if err != nil {
			return c, &EvalError{Check: Locks, Err: err, Hint: "a ref under refs/atoll/locks/ holds something atoll cannot read: look at it with git log, and unlock with --force REASON"}
		}
		why := ""
		// A detached HEAD with no branch name: a lock whose commit HEAD
		// contains is this branch's own.
		mine := h != nil && (h.Lock.Branch == branch || branch == "" && r.contains(head.SHA, h.Lock.Head))
		if h != nil && !mine {
			v, err := r.Verdict(h)
			if err != nil {
				return c, &EvalError{Check: Locks, Err: err}
			}
			switch {
			case v.State == ledger.Stale:
				stale = append(stale, h)
			case v.State == ledger.Orphaned && branch == r.BaseName:
				// Applying the base restores main == production.
			default:
				l := h.Lock
				why = fmt.Sprintf("locked by branch %s (%s), %s, for %s (%s): %s", l.Branch, short(l.Head), l.Who, ledger.Age(time.Now(), l.Time), v.State, v.Do)
			}
		}
		if why == "" && e.o.Stage == StageApply {
			rv, err := r.Reverts(p.Dir, ws, head.SHA, branch)
			if err != nil {
				return c, &EvalError{Check: Locks, Err: err}
			}
			if rv != nil {
				why = fmt.Sprintf("production holds branch %s's apply (%s), which is not on %s: applying would revert it", rv.Branch, short(rv.Head), r.BaseName)
			}
		}
		if why != "" {
			c.Projects = append(c.Projects, p.Dir)
			problems = append(problems, p.Dir+": "+why)
		}
	}
	// Stale locks met are released; a failure to do so changes nothing.
	if len(stale) > 0 {
		ctx := e.o.Context
		if ctx == nil {
			ctx = context.Background()
		}
		_, _ = r.Client.Release(ctx, stale)
	}
	perProject(&c, problems, fmt.Sprintf("no other branch holds a lock on the %d affected project(s)", len(e.res.Projects)),
		"wait until that branch is merged (its lock is then released), or agree with its holder; atoll locks lists every lock")
	return c, nil
}

func (e *evaluator) run(name string) (Check, error) {
	switch name {
	case UpToDate:
		return e.upToDate()
	case Clean:
		return e.clean()
	case Planned:
		return e.planned()
	case Applied:
		return e.applied()
	case Tracked:
		return e.tracked(), nil
	case Locks:
		return e.locks()
	}
	return Check{}, fmt.Errorf("unknown check %q", name)
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func (e *evaluator) upToDate() (Check, error) {
	c := Check{Name: UpToDate}
	cmp := e.res.Comparison
	base := strings.TrimPrefix(strings.TrimPrefix(cmp.Base.Name, "refs/remotes/"), "refs/heads/")
	if cmp.Rule == git.RuleFirstParent || cmp.Base.SHA == cmp.Head.SHA {
		c.Result, c.Detail = Pass, "HEAD is the tip of "+base
		return c, nil
	}
	behind, err := e.behind()
	if err != nil {
		return c, &EvalError{Check: UpToDate, Err: err, Hint: "fetch the missing history: git fetch --unshallow; in GitHub Actions use actions/checkout with fetch-depth: 0"}
	}
	if len(behind) == 0 {
		c.Result, c.Detail = Pass, "up to date with "+base
		return c, nil
	}
	n := fmt.Sprintf("%d commit%s", len(behind), map[bool]string{true: "", false: "s"}[len(behind) == 1])
	c.Hint = "merge or rebase onto " + base + ", then plan (and apply) again"
	if e.mode == "strict" {
		c.Result = Fail
		c.Detail = fmt.Sprintf("%s behind %s", n, base)
		for i, b := range behind {
			if i == 20 {
				break
			}
			c.Commits = append(c.Commits, BehindCommit{SHA: b.SHA.String(), Subject: b.Subject})
		}
		return c, nil
	}

	// targeted: do the base's new commits affect this branch's projects?
	mine := map[string]bool{}
	for _, p := range e.res.Projects {
		mine[p.Dir] = true
	}
	theirs, err := scan.Between(e.o.Repo, e.o.Config, cmp.MergeBase, cmp.Base.SHA, scan.Options{Cache: e.o.Cache})
	if err != nil {
		return c, &EvalError{Check: UpToDate, Err: err}
	}
	overlap := map[string]bool{}
	for _, p := range theirs.Projects {
		if mine[p.Dir] {
			overlap[p.Dir] = true
		}
	}
	if len(overlap) == 0 {
		c.Result = Pass
		c.Detail = fmt.Sprintf("%s behind %s, none touching this branch's projects", n, base)
		c.Hint = ""
		return c, nil
	}
	c.Result = Fail
	c.Projects = sortedKeys(overlap)
	touching, err := e.attribute(behind, mine)
	if err != nil {
		return c, err
	}
	c.Commits = touching
	verb := "touch"
	if len(touching) == 1 {
		verb = "touches"
	}
	c.Detail = fmt.Sprintf("%s behind %s; %d of them %s this branch's projects: %s", n, base, len(touching), verb, strings.Join(c.Projects, ", "))
	return c, nil
}

// behind lists the base's commits the branch lacks, through the cache: the
// answer for a (HEAD, base tip, merge-base) triple never changes, and
// reading a few hundred commits costs more than the rest of the guard.
func (e *evaluator) behind() ([]git.Commit, error) {
	cmp := e.res.Comparison
	key := cmp.Head.SHA.String() + "-" + cmp.Base.SHA.String() + "-" + cmp.MergeBase.String()
	var out []git.Commit
	if e.o.Cache.Load("behind", key, &out) {
		return out, nil
	}
	out, err := e.o.Repo.Behind(cmp.Head.SHA, cmp.Base.SHA, cmp.MergeBase)
	if err == nil {
		_ = e.o.Cache.Save("behind", key, out)
	}
	return out, err
}

// attribute finds which of the base's new commits touch which of the
// branch's projects, judging each commit's own changes against the base
// tip's projects.
func (e *evaluator) attribute(behind []git.Commit, mine map[string]bool) ([]BehindCommit, error) {
	tip, err := scan.Projects(e.o.Repo, e.o.Config, e.res.Comparison.Base.SHA, scan.Options{Cache: e.o.Cache})
	if err != nil {
		return nil, &EvalError{Check: UpToDate, Err: err}
	}
	var out []BehindCommit
	for _, c := range behind {
		var parentTree git.Hash
		if len(c.Parents) > 0 {
			pc, err := e.o.Repo.Commit(c.Parents[0])
			if err != nil {
				return nil, &EvalError{Check: UpToDate, Err: err}
			}
			parentTree = pc.Tree
		}
		diff, err := e.o.Repo.DiffTrees(parentTree, c.Tree)
		if err != nil {
			return nil, &EvalError{Check: UpToDate, Err: err}
		}
		var changes []affected.Change
		for _, d := range diff {
			changes = append(changes, affected.Change{Path: d.Path, Action: string(d.Action)})
		}
		var hit []string
		for _, p := range affected.Compute(affected.Input{Changes: changes, Head: tip, Base: tip, Watch: e.o.Config.Watch}) {
			if mine[p.Dir] {
				hit = append(hit, p.Dir)
			}
		}
		if len(hit) > 0 {
			out = append(out, BehindCommit{SHA: c.SHA.String(), Subject: c.Subject, Projects: hit})
		}
	}
	return out, nil
}

func (e *evaluator) clean() (Check, error) {
	c := Check{Name: Clean}
	if !e.o.FromWorktree {
		c.Result, c.Detail = Skip, "plans are made from commits, not the work tree (only --from-worktree needs a clean tree)"
		return c, nil
	}
	changes, err := e.o.Repo.WorktreeChanges()
	if err != nil {
		return c, &EvalError{Check: Clean, Err: err}
	}
	if len(changes) == 0 {
		c.Result, c.Detail = Pass, "no uncommitted changes in the affected projects or their modules"
		return c, nil
	}
	// An uncommitted change counts when it would affect one of the
	// branch's projects, by the rules of atoll changed: inside it, in a
	// module it uses, matched by a watch glob, a parent's .envrc.
	head, err := scan.Projects(e.o.Repo, e.o.Config, e.res.Comparison.Head.SHA, scan.Options{Cache: e.o.Cache})
	if err != nil {
		return c, err
	}
	code := map[string]string{}
	var wt []affected.Change
	for _, ch := range changes {
		code[ch.Path] = strings.TrimSpace(ch.Code)
		wt = append(wt, affected.Change{Path: ch.Path, Action: string(git.Modified)})
	}
	mine := map[string]bool{}
	for _, p := range e.res.Projects {
		mine[p.Dir] = true
	}
	seen := map[string]bool{}
	for _, p := range affected.Compute(affected.Input{Changes: wt, Head: head, Base: head, Watch: e.o.Config.Watch}) {
		if mine[p.Dir] {
			for _, r := range p.Reasons {
				seen[r.Path] = true
			}
		}
	}
	var dirty []string
	for _, path := range sortedKeys(seen) {
		dirty = append(dirty, code[path]+" "+path)
	}
	if len(dirty) == 0 {
		c.Result, c.Detail = Pass, "no uncommitted changes in the affected projects or their modules"
		return c, nil
	}
	c.Result = Fail
	c.Detail = fmt.Sprintf("%d uncommitted change(s): %s", len(dirty), strings.Join(limit(dirty, 5), ", "))
	c.Hint = "commit or stash them (git status shows them), then plan again"
	return c, nil
}

func (e *evaluator) planned() (Check, error) {
	c := Check{Name: Planned}
	head := e.res.Comparison.Head.SHA.String()
	var problems []string
	for _, p := range e.res.Projects {
		rec, err := e.store.LoadPlan(p.Dir, head)
		var why string
		var tampered *record.TamperedError
		switch {
		case errors.Is(err, os.ErrNotExist):
			why = "no plan for HEAD"
		case errors.As(err, &tampered):
			// A plan that fails its seal is not a plan that can be applied:
			// a failure to fix by planning again, not a check that could
			// not be evaluated (apply refuses the project itself).
			why = tampered.What
		case err != nil:
			return c, &EvalError{Check: Planned, Err: err, Hint: "remove the damaged record and plan again"}
		case rec.BaseSHA != e.res.Comparison.Base.SHA.String():
			why = "planned against an older base (" + short(rec.BaseSHA) + ")"
		case rec.Dirty:
			why = "planned from the work tree"
		case rec.Consumed:
			why = "its plan was already used by an apply"
		case rec.Destroy != (p.Status == affected.Deleted):
			why = "deleted: needs a destroy plan (--destroy-deleted)"
		}
		if why != "" {
			c.Projects = append(c.Projects, p.Dir)
			problems = append(problems, p.Dir+": "+why)
		}
	}
	perProject(&c, problems, fmt.Sprintf("%d affected project(s) planned at HEAD against the current base", len(e.res.Projects)),
		"run atoll plan (with --destroy-deleted for deleted projects), review, then apply")
	return c, nil
}

// perProject settles a check made project by project: a pass with
// passDetail, or a failure listing the first problems and how many more.
func perProject(c *Check, problems []string, passDetail, hint string) {
	if len(problems) == 0 {
		c.Result, c.Detail = Pass, passDetail
		return
	}
	c.Result, c.Hint = Fail, hint
	c.Detail = strings.Join(limit(problems, 5), "; ")
	if len(problems) > 5 {
		c.Detail += fmt.Sprintf("; and %d more", len(problems)-5)
	}
}

func (e *evaluator) applied() (Check, error) {
	c := Check{Name: Applied}
	cmp := e.res.Comparison
	head := cmp.Head.SHA.String()
	var problems, unknown []string
	var inputs map[string]string
	for _, p := range e.res.Projects {
		recs, err := e.appliesOf(p.Dir)
		if err != nil {
			return c, err
		}
		// An apply killed on this machine after consuming its plan, before
		// the ledger heard of it (or with the ledger unreachable): a plan
		// consumed later than the ledger's latest apply.
		var u *record.Unfinished
		if out, err := e.store.Outcome(p.Dir); err == nil && out.Unfinished != nil && (len(recs) == 0 || out.Unfinished.Started.After(recs[0].Finished)) {
			u = out.Unfinished
		}
		if u != nil {
			unknown = append(unknown, fmt.Sprintf("%s: an apply of %s started at %s and left no record (killed, or its machine stopped): what it changed is unknown",
				p.Dir, short(u.Head), u.Started.UTC().Format("2006-01-02 15:04:05Z")))
			continue
		}
		deleted := p.Status == affected.Deleted
		why := ""
		switch {
		case len(recs) == 0 && deleted:
			why = "deleted, and never destroyed"
		case len(recs) == 0:
			why = "never applied"
		case !recs[0].Success:
			why = "its latest apply (at " + short(recs[0].Head) + ") failed: Terraform does not roll back"
		case deleted:
			if !recs[0].Destroy {
				why = "deleted, and never destroyed"
			}
		case recs[0].Destroy:
			why = "its latest run (at " + short(recs[0].Head) + ") destroyed it"
		case recs[0].Dirty:
			why = "its latest apply (at " + short(recs[0].Head) + ") applied uncommitted work-tree files (--allow-dirty), which no commit holds"
		default:
			ok, err := e.appliedAt(p, recs[0], head, &inputs)
			if err != nil {
				return c, err
			}
			if !ok {
				why = "not applied at HEAD (last applied at " + short(recs[0].Head) + ", with other inputs or not on this branch)"
			}
		}
		if why != "" {
			c.Projects = append(c.Projects, p.Dir)
			problems = append(problems, p.Dir+": "+why)
		}
	}
	if len(unknown) > 0 {
		return c, &EvalError{Check: Applied, Err: errors.New(strings.Join(unknown, "\n")),
			Hint: "plan again (atoll plan) to see what is left to do, review, then atoll apply: the check can be evaluated once that apply is recorded"}
	}
	perProject(&c, problems, fmt.Sprintf("%d affected project(s) applied with HEAD's inputs", len(e.res.Projects)),
		"apply from the branch before merging: atoll plan, review, atoll apply")
	return c, nil
}

// appliesOf are a project's applies as the remote's ledger holds them.
func (e *evaluator) appliesOf(dir string) ([]*record.Apply, error) {
	r, err := e.loadRemote(Applied)
	if err != nil {
		return nil, err
	}
	recs, err := r.applies(dir, WorkspaceOf(e.o.Config, dir))
	var unknown *OutcomeUnknownError
	switch {
	case errors.As(err, &unknown):
		return nil, &EvalError{Check: Applied, Err: err,
			Hint: "plan again (atoll plan) to see what is left to do, review, then atoll apply: the check can be evaluated once that apply is recorded (the ledger holds its start and never heard its outcome)"}
	case err != nil:
		return nil, &EvalError{Check: Applied, Err: err, Hint: "a ref under refs/atoll/ledger/ holds something atoll cannot read: look at it with git log"}
	}
	return recs, nil
}

// appliedAt: the latest apply, which is what the infrastructure now
// reflects, was made at HEAD, or at an earlier commit of the branch whose
// inputs equal HEAD's (a README-only commit after the apply does not force
// a new one). An apply at HEAD followed by one of another commit does not
// count: the second replaced what the first did.
func (e *evaluator) appliedAt(p affected.Project, latest *record.Apply, head string, inputs *map[string]string) (bool, error) {
	if latest.Head == head {
		return true, nil
	}
	if *inputs == nil {
		graph, err := scan.Projects(e.o.Repo, e.o.Config, e.res.Comparison.Head.SHA, scan.Options{Cache: e.o.Cache})
		if err != nil {
			return false, err
		}
		var ps []project.Project
		mine := map[string]bool{}
		for _, a := range e.res.Projects {
			mine[a.Dir] = true
		}
		for _, gp := range graph.Projects {
			if mine[gp.Dir] {
				ps = append(ps, gp)
			}
		}
		if *inputs, err = workspace.Inputs(e.o.Repo, e.res.Comparison.Head.SHA, ps, e.o.Config.Watch); err != nil {
			return false, &EvalError{Check: Applied, Err: err}
		}
	}
	if latest.InputsHash != (*inputs)[p.Dir] {
		return false, nil
	}
	h, ok := git.ParseHash(latest.Head)
	if !ok {
		return false, nil
	}
	anc, err := e.o.Repo.IsAncestor(h, e.res.Comparison.Head.SHA)
	return err == nil && anc, nil
}

// tracked: every project of the merge-base is still a project at HEAD, or
// is reported deleted (and so gets its destroy). One that vanished, say
// because a new conf/ directory moved the default roots away from it, would
// go unplanned and unchecked while its infrastructure lives on.
func (e *evaluator) tracked() Check {
	c := Check{Name: Tracked}
	var problems []string
	for _, v := range e.res.Vanished {
		why := "no longer a project at HEAD, though its directory is still there"
		if !v.DirExists {
			why = "its directory is gone, yet it is not reported deleted, so nothing plans its destroy"
		}
		c.Projects = append(c.Projects, v.Dir)
		problems = append(problems, v.Dir+": "+why)
	}
	perProject(&c, problems, "every project of the merge-base is still a project at HEAD, or deleted",
		"tell atoll where the projects are: set roots: in atoll.yaml (for example roots: [conf, stacks]) or declare them under projects:; atoll changed warns about the directories it no longer finds")
	return c
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
