package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/env"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/tf"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// Target is a project to plan or apply.
type Target struct {
	Project project.Project
	// Deleted projects exist only at the merge-base: they are planned (with
	// --destroy-deleted) as a destroy from a checkout of the merge-base.
	Deleted bool
}

// Options configure a run.
type Options struct {
	Repo   *git.Repo
	Config *config.Config
	// Comparison is HEAD, the base and their merge-base.
	Comparison git.Comparison
	// Workdir is the root of atoll's scratch directories.
	Workdir      string
	TerraformBin string
	// Jobs is the number of projects run at once (default: CPUs).
	Jobs     int
	FailFast bool
	// DestroyDeleted plans a destroy for deleted projects.
	DestroyDeleted bool
	// FromWorktree plans the work tree (uncommitted edits included) instead
	// of HEAD; such plans are dirty.
	FromWorktree bool
	// PlanText renders each plan as text (terraform show), for Markdown
	// output; it costs a Terraform run per project, so only when asked.
	PlanText bool
	// AllowDirty lets apply use plans made from the work tree.
	AllowDirty bool
	// Force, when set, is the reason given to apply despite a refusal of
	// the up-to-date check; it is stored in the apply record.
	Force string
	// UpToDateChecked says the caller already ran the guard's up-to-date
	// check (in its configured mode); otherwise Apply checks strictly.
	UpToDateChecked bool
	// Events receives progress; it must be safe for concurrent use.
	Events func(Event)
	// Now is the clock (tests fix it).
	Now func() time.Time
	// InterruptGrace is how long Terraform may take to stop after Ctrl-C.
	InterruptGrace time.Duration
	// Environ is the caller's environment (nil: os.Environ()), from which
	// each project's is made (see pkg/env).
	Environ []string

	envOnce sync.Once
	envs    *envs
}

// projectEnvs is the run's evaluator of project environments.
func (o *Options) projectEnvs() *envs {
	o.envOnce.Do(func() { o.envs = &envs{o: o} })
	return o.envs
}

// CallerEnv is the caller's environment with direnv's changes undone and
// project-specific settings dropped (what -v reports).
func (o *Options) CallerEnv() (*env.Caller, error) { return o.projectEnvs().Caller() }

// ProjectEnv evaluates a project's environment in the checkout root (its
// files are at root/<project dir>), as plan and apply do.
func (o *Options) ProjectEnv(ctx context.Context, p project.Project, root string) (*Environment, error) {
	return o.projectEnvs().of(ctx, p, root, filepath.Join(root, filepath.FromSlash(p.Dir)))
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) emit(name string, phase Phase, res *ProjectResult) {
	if o.Events != nil {
		o.Events(Event{Time: o.now(), Project: name, Phase: phase, Result: res})
	}
}

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return runtime.NumCPU()
}

// Store returns the record store of the repository under the workdir.
func Store(workdir string, repo *git.Repo) record.Store {
	return record.Store{Root: filepath.Join(workdir, workspace.RepoID(repo))}
}

func (o *Options) store() record.Store { return Store(o.Workdir, o.Repo) }

func (o *Options) report(command string) *Report {
	c := o.Comparison
	r := &Report{Command: command, Head: c.Head.SHA.String(), Branch: c.Head.Branch, Base: c.Base.Name, BaseSHA: c.Base.SHA.String()}
	if !c.MergeBase.IsZero() {
		r.MergeBase = c.MergeBase.String()
	}
	if ce, err := o.CallerEnv(); err == nil {
		r.Env = &CallerEnv{Undone: ce.Undone, Dropped: ce.Dropped, Passed: ce.Passed}
	}
	return r
}

// fromModuleSource is where a -from-module project's code comes from when
// its .envrc is not evaluated (env.envrc: ignore): read from the .envrc.
func fromModuleSource(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".envrc"))
	if err != nil {
		return "", fmt.Errorf("read .envrc of a -from-module project: %w", err)
	}
	src, ok := project.FromModuleSource(b)
	if !ok || src == "" {
		return "", errors.New(".envrc does not export TF_CLI_INIT_FROM_MODULE")
	}
	return src, nil
}

// prepare initialises a project's scratch directory: for -from-module
// projects, Terraform first copies the module into the empty directory and
// the project's own files (tfvars, overrides) are laid over it.
func prepare(ctx context.Context, r *tf.Runner, p project.Project, dir, pluginCache string) error {
	// Declared in atoll.yaml, else from the environment (TF_CLI_INIT_FROM_MODULE).
	src := p.Source
	if src == "" {
		src = env.FromModule(r.Args["init"])
	}
	if src == "" && p.FromModule {
		var err error
		if src, err = fromModuleSource(dir); err != nil {
			return err
		}
	}
	if src != "" {
		own := dir + ".own"
		if err := os.RemoveAll(own); err != nil {
			return err
		}
		if err := os.Rename(dir, own); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := r.Init(ctx, dir, tf.InitOptions{FromModule: src, PluginCacheDir: pluginCache}); err != nil {
			return err
		}
		if err := overlay(own, dir); err != nil {
			return err
		}
		if err := os.RemoveAll(own); err != nil {
			return err
		}
	}
	var backendConfig []string
	for _, a := range r.Args["init"] {
		if a.Flag == "-backend-config" {
			backendConfig = append(backendConfig, a.Value)
		}
	}
	if problem, err := project.StateProblemWith(dir, p.Workspace, backendConfig); err != nil {
		return err
	} else if problem != "" {
		return &refusal{msg: problem, hint: "atoll runs Terraform in a scratch checkout; see docs/plan-and-apply.md#state"}
	}
	if err := r.Init(ctx, dir, tf.InitOptions{PluginCacheDir: pluginCache}); err != nil {
		return err
	}
	if p.Workspace != "" && p.Workspace != "default" {
		return r.Workspace(ctx, dir, p.Workspace)
	}
	return nil
}

// overlay copies the files of src over dst, keeping modes.
func overlay(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.Symlink(link, target)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, fi.Mode().Perm())
		}
	})
}

// refusal is a safety check that stopped a project before Terraform ran.
type refusal struct{ msg, hint string }

func (r *refusal) Error() string { return r.msg }

// logFile opens a project's log, appending.
func logFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, workspace.DescribeError(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return f, workspace.DescribeError(err)
}

// stateLockTimeout is how long Terraform waits for a state lock: branches
// plan the same project at once, and each plan locks its state for a moment;
// the later one waits its turn rather than failing.
const stateLockTimeout = 10 * time.Minute

// tfRunner runs Terraform for the project name in phase, writing its output
// to log. A wait for the state lock is reported as that phase's detail.
func (o *Options) tfRunner(log *os.File, name string, phase Phase) *tf.Runner {
	r := &tf.Runner{Bin: o.TerraformBin, Stdout: log, Stderr: log, InterruptGrace: o.InterruptGrace, LockTimeout: stateLockTimeout}
	r.OnStateLock = func(holder *tf.LockInfo) {
		detail := ""
		if holder != nil {
			detail = fmt.Sprintf("waiting for the state lock, %s (up to %s)", holder, stateLockTimeout)
		}
		if o.Events != nil {
			o.Events(Event{Time: o.now(), Project: name, Phase: phase, Detail: detail})
		}
	}
	return r
}

// pluginCache is atoll's provider cache, used unless the project's
// environment names one (TF_PLUGIN_CACHE_DIR).
func (o *Options) pluginCache() string {
	return filepath.Join(o.Workdir, "plugin-cache")
}

// tfRunnerFor is a Runner with a project's environment and arguments.
func (o *Options) tfRunnerFor(log *os.File, pe *Environment, name string, phase Phase) *tf.Runner {
	r := o.tfRunner(log, name, phase)
	r.Environ, r.Args = pe.Vars, pe.Args
	return r
}

// who names the person or machine applying, for apply records.
func who() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if v := os.Getenv("GITHUB_ACTOR"); v != "" {
		name = v + " (GitHub Actions)"
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// checkouts materialises the commits a run needs, once each.
type checkouts struct {
	o    *Options
	mu   sync.Mutex
	open []*workspace.Checkout
}

func (c *checkouts) get(ctx context.Context, commit git.Hash, projects []project.Project) (*workspace.Checkout, error) {
	co, err := workspace.Materialize(ctx, c.o.Workdir, c.o.Repo, commit, projects, c.o.Config.Watch)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open = append(c.open, co)
	c.mu.Unlock()
	return co, nil
}

func (c *checkouts) warnings() []string {
	var out []string
	for _, co := range c.open {
		out = append(out, co.Warnings...)
	}
	return out
}

func (c *checkouts) close() {
	for _, co := range c.open {
		_ = co.Close()
	}
}

func projectsOf(ts []Target, deleted bool) []project.Project {
	var out []project.Project
	for _, t := range ts {
		if t.Deleted == deleted {
			out = append(out, t.Project)
		}
	}
	return out
}

// finish fills the report's order, summary and warnings.
func finish(rep *Report, results map[string]*ProjectResult, order []Target, cos *checkouts) *Report {
	rep.Warnings = cos.warnings()
	for _, t := range order {
		if r, ok := results[t.Project.Dir]; ok {
			rep.Projects = append(rep.Projects, *r)
		}
	}
	sort.SliceStable(rep.Projects, func(i, j int) bool { return rep.Projects[i].Dir < rep.Projects[j].Dir })
	rep.Summarize()
	return rep
}

func failure(res *ProjectResult, err error) {
	var ref *refusal
	var stale *tf.StalePlanError
	var te *record.TamperedError
	var we *workspace.WorkdirError
	var arg *tf.ArgError
	var envrc *envrcFailure
	switch {
	case errors.As(err, &ref):
		res.Status, res.Error, res.Hint = StatusRefused, ref.msg, ref.hint
	case errors.As(err, &arg):
		res.Status, res.Error = StatusRefused, arg.Error()
		res.Hint = "atoll gives Terraform the arguments of the project's environment, or refuses: remove it from the .envrc (or atoll.yaml env.pass), or see docs/geodesic.md"
	case errors.As(err, &envrc):
		res.Status, res.Error = StatusFailed, envrc.Error()
		res.Hint = "fix the .envrc; `cd " + envrc.dir + " && direnv allow && direnv reload` shows the same message in your shell"
	case errors.As(err, &stale):
		res.Status, res.Error = StatusRefused, stale.Error()
		res.Hint = "the state changed after the plan was made: run atoll plan again, review, then apply"
	case errors.As(err, &te):
		res.Status, res.Error = StatusRefused, te.Error()
		res.Hint = "a plan must be applied exactly as it was reviewed: run atoll plan again"
	case errors.As(err, &we):
		res.Status, res.Error, res.Hint = StatusFailed, we.Error(), we.Hint()
	default:
		res.Status, res.Error = StatusFailed, strings.TrimSpace(err.Error())
		if res.LogFile != "" {
			res.Hint = "Terraform's full output is in " + res.LogFile
		}
	}
}

// collected gathers project results from concurrent jobs and reports each
// one as it arrives.
type collected struct {
	o     *Options
	mu    sync.Mutex
	byDir map[string]*ProjectResult
}

func (c *collected) set(r *ProjectResult) {
	c.mu.Lock()
	c.byDir[r.Dir] = r
	c.mu.Unlock()
	c.o.emit(r.Name, PhaseDone, r)
}

func (c *collected) has(dir string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byDir[dir]
	return ok
}
