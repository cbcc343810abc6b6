package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/modsource"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/safefs"
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
	// PlanText renders each plan as text (terraform show), kept as
	// plan.txt and shown by Markdown output; PlanJSON writes its JSON
	// (terraform show -json) to plan.tfplan.json. Each costs a Terraform
	// run per project, so only when asked: the counts come from the plan.
	PlanText bool
	PlanJSON bool
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
	if !c.Head.MergeCommit.IsZero() {
		r.MergeCommit = c.Head.MergeCommit.String()
	}
	if !c.MergeBase.IsZero() {
		r.MergeBase = c.MergeBase.String()
	}
	if ce, err := o.CallerEnv(); err == nil {
		r.Env = &CallerEnv{Undone: ce.Undone, Dropped: ce.Dropped, Passed: ce.Passed}
	}
	return r
}

// maxPlanBytes bounds the saved plan an apply copies.
const maxPlanBytes = 1 << 30

// sourceFromEnvrc reports whether discovery read p's -from-module source
// from its direnv files (file:line), not from atoll.yaml.
func sourceFromEnvrc(p project.Project) bool {
	file, _, _ := strings.Cut(p.SourceFrom, ":")
	return strings.HasSuffix(file, ".envrc")
}

// prepare initialises a project's scratch directory: for -from-module
// projects, Terraform first copies the module into the empty directory and
// the project's own files (tfvars, overrides) are laid over it. The module
// is the branch's to choose, links included: a checkout in which a link
// leads outside it is refused, and the overlay never writes through a link.
func prepare(ctx context.Context, r *tf.Runner, p project.Project, dir, pluginCache string) error {
	if pluginCache != "" {
		// Terraform runs the providers it finds there.
		if err := safefs.MkdirPrivate(filepath.Dir(pluginCache), pluginCache); err != nil {
			return err
		}
	}
	// The source: declared in atoll.yaml; else what the project's evaluated
	// environment gives init (TF_CLI_INIT_FROM_MODULE through direnv); else
	// what discovery read from the direnv files (env.envrc: ignore).
	src := p.Source
	if fromEnv := env.FromModule(r.Args["init"]); fromEnv != "" && (src == "" || sourceFromEnvrc(p)) {
		src = fromEnv
	}
	if src == "" && p.FromModule {
		return &refusal{
			msg:  fmt.Sprintf("%s sets the -from-module source in a way only the shell can evaluate, and its evaluated environment does not set it either", p.SourceFrom),
			hint: "declare the source as projects[].source in atoll.yaml (see docs/configuration.md#projectssource)",
		}
	}
	if err := checkPathSource(p, src); err != nil {
		return err
	}
	if src != "" {
		own := dir + ".own"
		if err := os.RemoveAll(own); err != nil {
			return err
		}
		if err := os.Rename(dir, own); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := r.Init(ctx, dir, tf.InitOptions{FromModule: src, PluginCacheDir: pluginCache}); err != nil {
			return err
		}
		if err := linksStayInside(checkoutRoot(dir, p.Dir), dir); err != nil {
			return err
		}
		if err := overlay(own, dir); err != nil {
			var le *safefs.LinkError
			if errors.As(err, &le) {
				return &refusal{msg: "laying the project's own files over the module: " + le.Error(), hint: linkHint}
			}
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

// checkPathSource refuses a -from-module source that names the file
// system outside what the checkout holds. Terraform resolves a path from
// the directory it runs in, the project's in the scratch checkout, so a
// path inside the repository reads the commit's files there; discovery
// made that directory one of the project's modules (change detection and
// the checkout both include it). A path the evaluated environment gives
// that discovery did not see (the direnv files set it in a way only the
// shell can evaluate) would name a directory the checkout does not hold.
func checkPathSource(p project.Project, src string) error {
	const hint = "vendor the module into the repository and name it relative to the project directory (../../components/x), declared as projects[].source in atoll.yaml or exported plainly in the .envrc; or give it a remote source pinned to a version"
	if modsource.IsAbsolute(src) {
		return &refusal{msg: fmt.Sprintf("the -from-module source %q is an absolute path, outside the repository: atoll cannot track what the repository does not hold", src), hint: hint}
	}
	if !modsource.IsLocal(src) {
		return nil
	}
	target, inside := modsource.Join(p.Dir, src)
	if !inside {
		return &refusal{msg: fmt.Sprintf("the -from-module source %q resolves (from %s) to %s, outside the repository: atoll cannot track what the repository does not hold", src, p.Dir, target), hint: hint}
	}
	for _, m := range p.Modules {
		if m.Dir == target && len(m.Chain) == 2 {
			return nil
		}
	}
	return &refusal{
		msg:  fmt.Sprintf("the project's environment gives the -from-module source %q (%s), which change detection did not read from %s: the scratch checkout does not hold it, and a change there would not affect the project", src, target, sourceWhere(p)),
		hint: hint,
	}
}

func sourceWhere(p project.Project) string {
	if p.SourceFrom != "" {
		return p.SourceFrom
	}
	return "its direnv files or atoll.yaml"
}

const linkHint = "a -from-module source must not hold symlinks that lead outside the checkout, nor one where the project has a directory: replace the link in the module with what it points to (docs/plan-and-apply.md#security)"

// checkoutRoot is the checkout that holds the project directory dir.
func checkoutRoot(dir, projectDir string) string {
	root := dir
	for range strings.Split(projectDir, "/") {
		root = filepath.Dir(root)
	}
	return root
}

// linksStayInside refuses a directory (what terraform init -from-module
// copied) holding a symlink that resolves, or would resolve once its target
// exists, outside root. .terraform is Terraform's own (provider links into
// the plugin cache).
func linksStayInside(root, dir string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		inside := false
		if real, err := filepath.EvalSymlinks(p); err == nil {
			inside = within(real, realRoot)
		} else {
			// Dangling or looping: judged by where it points as written,
			// from the directory's real location.
			parent, perr := filepath.EvalSymlinks(filepath.Dir(p))
			inside = perr == nil && !filepath.IsAbs(target) && within(filepath.Join(parent, target), realRoot)
		}
		if !inside {
			rel, _ := filepath.Rel(root, p)
			return &refusal{msg: fmt.Sprintf("after terraform init -from-module, %s is a symlink to %s, which leads outside the checkout", filepath.ToSlash(rel), target), hint: linkHint}
		}
		return nil
	})
}

// overlay copies the files of src (the project's own, as materialised)
// over dst, keeping modes, never writing through a symlink in dst.
func overlay(src, dst string) error {
	tree, err := safefs.OpenTree(dst)
	if err != nil {
		return err
	}
	defer tree.Close()
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		switch {
		case d.IsDir():
			return tree.MkdirAll(rel)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tree.Symlink(link, rel)
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			b, err := safefs.ReadFile(p, safefs.MaxSourceFile)
			if err != nil {
				return err
			}
			return tree.WriteFile(rel, b, fi.Mode().Perm())
		}
	})
}

// refusal is a safety check that stopped a project before Terraform ran.
type refusal struct{ msg, hint string }

func (r *refusal) Error() string { return r.msg }

// logFile opens a project's log, appending, in a directory below workdir
// that only the current user can change.
func logFile(workdir, path string) (*os.File, error) {
	if err := safefs.MkdirPrivate(workdir, filepath.Dir(path)); err != nil {
		return nil, workspace.DescribeError(err)
	}
	f, err := safefs.OpenPrivate(path, os.O_WRONLY|os.O_APPEND, 0o600)
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

// who names the person or job applying, for apply records: the
// identity the caller gave (from the CI when one runs atoll), else the
// local user on this host.
func (o *Options) who() string {
	if o.Who.User != "" {
		return o.Who.String()
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
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
	var np *safefs.NotPrivateError
	var arg *tf.ArgError
	var envrc *envrcFailure
	switch {
	case errors.As(err, &np):
		res.Status, res.Error, res.Hint = StatusRefused, np.Error(), np.Fix
	case errors.As(err, &ref):
		res.Status, res.Error, res.Hint = StatusRefused, ref.msg, ref.hint
	case errors.As(err, &arg):
		res.Status, res.Error = StatusRefused, arg.Error()
		res.Hint = "atoll gives Terraform the arguments of the project's environment, or refuses: remove it from the .envrc (or atoll.yaml env.pass), or see docs/geodesic.md"
	case errors.As(err, &envrc):
		res.Status, res.Error, res.ErrorFile = StatusFailed, envrc.Error(), envrc.err.File
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

func (c *collected) status(dir string) Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byDir[dir]; ok {
		return r.Status
	}
	return ""
}

func (c *collected) has(dir string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byDir[dir]
	return ok
}
