package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/tf"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

var runOutputs = []string{"text", "json", "markdown"}

// RunOptions are the flags plan and apply share.
type RunOptions struct {
	IO           *ui.IO
	Globals      *Globals
	Projects     []string
	All          bool
	Base         string
	Workdir      string
	TerraformBin string
	Jobs         int
	FailFast     bool
	Output       string
	// FromWorktree (plan only) plans the work tree instead of HEAD.
	FromWorktree bool
	// Fetch updates the base from its remote first (and deepens a
	// shallow CI clone).
	Fetch bool
	// Verbose names, on stderr, what was kept out of the projects'
	// environments.
	Verbose bool

	cmd *cobra.Command
}

func (o *RunOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "every project, not only the affected ones")
	revisionFlag(f, &o.Base, "base", "", "base `REF` to compare with (as atoll changed)")
	f.StringVar(&o.Workdir, "workdir", "", "root `DIR` of scratch checkouts and plan records (ATOLL_WORKDIR; default /localhost/.atoll or ~/.cache/atoll)")
	f.StringVar(&o.TerraformBin, "terraform-bin", "", "Terraform or OpenTofu `BINARY` (default: terraform, then tofu, on PATH)")
	f.IntVarP(&o.Jobs, "jobs", "j", 0, "run `N` projects at once (default: number of CPUs)")
	f.BoolVar(&o.FailFast, "fail-fast", false, "stop starting projects after the first failure")
	f.BoolVar(&o.Fetch, "fetch", false, "fetch the base branch from its remote first (in CI, a shallow clone is deepened)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "name (on stderr) the variables of your environment kept out of the projects' (values never shown)")
	outputFlag(cmd, &o.Output, "text", runOutputs...)
	_ = cmd.RegisterFlagCompletionFunc("base", completeRefs(o.Globals))
	_ = cmd.MarkFlagDirname("workdir")
	_ = cmd.MarkFlagFilename("terraform-bin")
}

func (o *RunOptions) validate(cmd *cobra.Command, args []string) error {
	if err := checkOutput(o.Output, runOutputs...); err != nil {
		return err
	}
	if o.All && len(args) > 0 {
		return usagef("give PROJECT arguments or --all, not both")
	}
	if o.Jobs < 0 {
		return usagef("--jobs must be at least 1")
	}
	o.Projects, o.cmd = args, cmd
	return nil
}

// runSetup is what plan and apply need before running.
type runSetup struct {
	s       *session
	res     *scan.Result
	targets []runner.Target
	opts    *runner.Options
}

// setup resolves the comparison, the targets, the work directory and the
// Terraform binary.
func (o *RunOptions) setup(ctx context.Context) (*runSetup, error) {
	s, err := o.Globals.open(o.cmd.Flags())
	if err != nil {
		return nil, err
	}
	if o.Fetch {
		if err := s.fetchFirst(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	res, err := scan.Changed(s.Repo, s.Config, scan.Options{Cache: s.Cache, Uncommitted: o.FromWorktree})
	if err != nil {
		s.Close()
		return nil, err
	}
	targets, err := o.targets(s, res)
	if err != nil {
		s.Close()
		return nil, err
	}
	workdir, err := s.workdir()
	if err != nil {
		s.Close()
		return nil, err
	}
	bin, err := tf.Find(s.Config.TerraformBin)
	if err != nil {
		s.Close()
		return nil, &ExitError{Code: ExitFailure, Err: err, Hint: "install Terraform (or OpenTofu), or point --terraform-bin or ATOLL_TERRAFORM_BIN at it"}
	}
	return &runSetup{s: s, res: res, targets: targets, opts: &runner.Options{
		Repo: s.Repo, Config: s.Config, Comparison: res.Comparison,
		Workdir: workdir, TerraformBin: bin, Jobs: o.Jobs, FailFast: o.FailFast, FromWorktree: o.FromWorktree,
		InterruptGrace: 5 * time.Minute,
	}}, nil
}

// targets are the affected projects, the named ones, or all of them.
func (o *RunOptions) targets(s *session, res *scan.Result) ([]runner.Target, error) {
	head, err := scan.Projects(s.Repo, s.Config, res.Comparison.Head.SHA, scan.Options{Cache: s.Cache, Uncommitted: o.FromWorktree})
	if err != nil {
		return nil, err
	}
	byDir := map[string]project.Project{}
	for _, p := range head.Projects {
		byDir[p.Dir] = p
	}
	var deleted []affected.Project
	for _, p := range res.Projects {
		if p.Status == affected.Deleted {
			deleted = append(deleted, p)
		}
	}
	deletedTarget := func(p affected.Project) runner.Target {
		// A deleted project is planned from the merge-base, with the
		// modules it used there.
		if !res.Comparison.MergeBase.IsZero() {
			if base, err := scan.Projects(s.Repo, s.Config, res.Comparison.MergeBase, scan.Options{Cache: s.Cache}); err == nil {
				for _, bp := range base.Projects {
					if bp.Dir == p.Dir {
						return runner.Target{Project: bp, Deleted: true}
					}
				}
			}
		}
		return runner.Target{Project: project.Project{Name: p.Name, Dir: p.Dir}, Deleted: true}
	}

	var out []runner.Target
	switch {
	case o.All:
		for _, p := range head.Projects {
			out = append(out, runner.Target{Project: p})
		}
	case len(o.Projects) > 0:
		all := &project.Graph{Projects: append([]project.Project{}, head.Projects...)}
		for _, p := range deleted {
			all.Projects = append(all.Projects, projectStub(p))
		}
		sel, err := selectProjects(s, all, o.Projects)
		if err != nil {
			return nil, err
		}
		for _, p := range deleted {
			if sel[p.Dir] {
				out = append(out, deletedTarget(p))
			}
		}
		for _, p := range head.Projects {
			if sel[p.Dir] {
				out = append(out, runner.Target{Project: p})
			}
		}
	default:
		for _, p := range res.Projects {
			if p.Status == affected.Deleted {
				out = append(out, deletedTarget(p))
			} else if hp, ok := byDir[p.Dir]; ok {
				out = append(out, runner.Target{Project: hp})
			}
		}
	}
	return out, nil
}

// execute runs fn with live progress on stderr and renders the report.
func (o *RunOptions) execute(ctx context.Context, rs *runSetup, fn func(context.Context, *runner.Options, []runner.Target) (*runner.Report, error)) (*runner.Report, error) {
	io := o.IO
	errStyles := ui.NewStyles(io.Err, io.Color)
	var names []string
	for _, t := range rs.targets {
		names = append(names, t.Project.Name)
	}
	// What atoll changed warns about (a module source that names nothing,
	// projects it lost track of) concerns what is about to run as well.
	for _, w := range rs.res.Warnings {
		fmt.Fprintf(io.Err, "%s %s\n", errStyles.Warning.Render("warning:"), w)
	}
	if len(names) == 0 {
		fmt.Fprintf(io.Err, "No projects to %s: nothing is affected against %s (use --all or name projects).\n", o.cmd.Name(), rs.res.Comparison.Base.Name)
	}
	for _, p := range rs.res.Projects {
		if p.Status == affected.Renamed {
			fmt.Fprintf(io.Err, "%s %s was moved from %s. In geodesic the state key follows the path: this %s uses a new state, and what %s created stays in the old one. Migrate the state, or destroy the old project, before merging.\n",
				errStyles.Warning.Render("warning:"), p.Dir, p.From, o.cmd.Name(), p.From)
		}
	}
	if o.Verbose {
		if err := verboseEnv(io, errStyles, rs.opts); err != nil {
			return nil, err
		}
	}
	progress := ui.NewProgress(io.Err, errStyles, stderrTTY(io), names)
	rs.opts.Events = logGroups(rs.s.CI, io.Err, o.cmd.Name(), progress.Handle)
	stopInterrupts := watchInterrupts(ctx, io, errStyles, progress)
	rep, err := fn(ctx, rs.opts, rs.targets)
	stopInterrupts()
	progress.Stop()
	if err != nil {
		return nil, err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(io.Err, "%s %s\n", errStyles.Warning.Render("warning:"), w)
	}
	switch o.Output {
	case "json":
		err = ui.JSON(io.Out, rep)
	case "markdown":
		for i, part := range ui.RunMarkdown(rep) {
			if i > 0 {
				fmt.Fprintln(io.Out, "\n<!-- atoll: next part -->")
			}
			fmt.Fprint(io.Out, part)
		}
	default:
		if len(rep.Projects) > 0 {
			err = ui.RunTable(io.Out, ui.NewStyles(io.Out, io.Color), rep)
		}
	}
	if err != nil {
		return rep, err
	}
	rs.s.publish(io.Err, o.Output, runCI{rep: rep, warnings: rs.res.Warnings, root: rs.s.Repo.Root})
	return rep, nil
}

// verboseEnv names what every project's environment leaves out of the
// caller's, and what env.pass keeps.
func verboseEnv(io *ui.IO, s *ui.Styles, o *runner.Options) error {
	c, err := o.CallerEnv()
	if err != nil {
		return err
	}
	ui.CallerEnv(io.Err, s, c.Undone, c.Dropped, c.Passed)
	return nil
}

// stderrTTY: progress is drawn in place only on a terminal.
func stderrTTY(io *ui.IO) bool {
	if f, ok := io.Err.(*os.File); ok {
		return ui.IsTerminal(f)
	}
	return false
}

// watchInterrupts explains the first Ctrl-C (Terraform is asked to stop
// cleanly) and the second (what killing it now would risk), then exits.
func watchInterrupts(ctx context.Context, io *ui.IO, s *ui.Styles, p *ui.Progress) func() {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		// A run that ended is not interrupted, whichever came first here.
		select {
		case <-done:
			return
		default:
		}
		fmt.Fprintf(io.Err, "\n%s interrupted: Terraform was asked to stop cleanly (it releases its state lock and writes its state). Waiting for it; press Ctrl-C again to kill it.\n", s.Warning.Render("atoll:"))
		second := make(chan os.Signal, 1)
		notifyInterrupt(second)
		defer stopNotify(second)
		select {
		case <-done:
		case <-second:
			running := p.Running()
			fmt.Fprintf(io.Err, "%s killing Terraform now. At risk: %s. A killed Terraform may leave the state locked (terraform force-unlock LOCK_ID) and may not have recorded resources it was creating: check the state before planning again.\n",
				s.Error.Render("atoll:"), strings.Join(running, ", "))
			abortOnce.Do(func() { close(abort) })
		}
	}()
	// Waiting for the watcher means it cannot speak up later, when Main
	// cancels the context on its way out.
	return func() { close(done); <-exited }
}

// runExit maps a report to the exit code: failures first, then refusals.
// A deleted project that still needs its destroy is a change to make.
func runExit(rep *runner.Report, detailed bool) error {
	needsDestroy := false
	for _, p := range rep.Projects {
		needsDestroy = needsDestroy || p.Status == runner.StatusNeedsDestroy
	}
	switch {
	case rep.Summary.Failed > 0:
		return &silentError{code: ExitFailure}
	case rep.Summary.Refused > 0:
		return &silentError{code: ExitCheckFailed}
	case detailed && (rep.Summary.WithChanges > 0 || needsDestroy):
		return &silentError{code: ExitChanges}
	}
	return nil
}

func notifyInterrupt(c chan os.Signal) { signal.Notify(c, os.Interrupt, syscall.SIGTERM) }
func stopNotify(c chan os.Signal)      { signal.Stop(c) }
