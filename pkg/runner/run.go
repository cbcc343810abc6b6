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
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
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
	// Ledger records each apply on the remote: a started entry before
	// Terraform runs, its outcome after. Nil records nothing there.
	Ledger *ledger.Client
	// Who applies, and from which branch, for the ledger.
	Who    ledger.Identity
	Branch string
	// Reverts, set by plan, says which projects' plans would undo another
	// branch's unmerged apply; the plan table says so.
	Reverts func(dir, workspace string) string
	// Events receives progress; it must be safe for concurrent use.
	Events func(Event)
	// Now is the clock (tests fix it).
	Now func() time.Time
	// InterruptGrace is how long Terraform may take to stop after Ctrl-C.
	InterruptGrace time.Duration
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
	return r
}

// prepare initialises a project's scratch directory: for -from-module
// projects, Terraform first copies the module into the empty directory and
// the project's own files (tfvars, overrides) are laid over it.
func prepare(ctx context.Context, r *tf.Runner, p project.Project, dir, pluginCache string) error {
	if p.FromModule {
		// Discovery read the source, from atoll.yaml or from the direnv
		// files (.envrc and what `use envrc` sources): the one reader.
		src := p.Source
		if src == "" {
			return &refusal{
				msg:  fmt.Sprintf("%s sets the -from-module source in a way only the shell can evaluate, and atoll does not run direnv", p.SourceFrom),
				hint: "declare the source as projects[].source in atoll.yaml (see docs/configuration.md#projectssource)",
			}
		}
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
	if problem, err := project.StateProblem(dir, p.Workspace); err != nil {
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

func (o *Options) pluginCache() string {
	// terraform-exec cannot add a variable while TF_CLI_ARGS* are inherited
	// (see pkg/tf environ): then Terraform runs without atoll's cache.
	for _, v := range []string{"TF_PLUGIN_CACHE_DIR", "TF_CLI_ARGS", "TF_CLI_ARGS_init"} {
		if os.Getenv(v) != "" {
			return ""
		}
	}
	return filepath.Join(o.Workdir, "plugin-cache")
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
	switch {
	case errors.As(err, &ref):
		res.Status, res.Error, res.Hint = StatusRefused, ref.msg, ref.hint
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
