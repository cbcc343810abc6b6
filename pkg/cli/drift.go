package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/ci"
	"github.com/atoll-tf/atoll/pkg/drift"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/tf"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// DriftOptions are the parsed flags of `atoll drift`.
type DriftOptions struct {
	IO           *ui.IO
	Globals      *Globals
	Projects     []string
	All          bool
	Fetch        bool
	Base         string
	Workdir      string
	TerraformBin string
	Jobs         int
	Output       string

	cmd *cobra.Command
}

// NewCmdDrift builds `atoll drift`.
func NewCmdDrift(io *ui.IO, g *Globals, runF func(*DriftOptions) error) *cobra.Command {
	opts := &DriftOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "drift [PROJECT...|--all]",
		Short: "Does production differ from the base branch? Plan its head for each project",
		Long: `Plan the head of the base branch (origin/main, or as atoll changed finds
the base; --fetch fetches it first) for each project, in a scratch checkout
of that commit and with each project's own environment, as atoll plan does,
and report per project:

  in sync   the plan changes nothing: production is what the base describes
  drift     the plan would change resources or outputs
  error     the project could not be planned: nobody knows

For a drifting project, the apply ledger in the remote (refs/atoll/ledger)
tells the two causes apart:

  unmerged-apply   the project's latest apply was made from a commit the
                   base does not contain: production holds branch X's
                   change (the branch, commit, who and when are named)
  outside-atoll    the latest apply is on the base, or there is none: the
                   change was made outside atoll (by hand, the console,
                   another tool, the provider)

With no PROJECT, every project of the base's head is checked (as --all);
name projects (by name or directory) to check only those. The work tree and
HEAD play no part. drift takes no atoll locks and saves no plan an apply
could use (the plan file is deleted once read; the log is kept under the
work directory's drift/). Terraform takes and releases the state lock as
for any plan, and Ctrl-C asks it to stop cleanly so that it releases it.
Independent projects are planned in parallel (-j).

--output json prints a stable document (docs/drift.md describes it),
--output markdown a report for a job summary or an issue.

` + ExitCodesHelp + `
  atoll drift: 0 every project in sync, 2 a project drifts, 6 a project
  could not be planned (or the base could not be fetched); 6 wins over 2.`,
		Example: `  # every project, against the base as last fetched
  atoll drift

  # in a scheduled CI job: fetch the base, keep a report, fail on drift
  atoll drift --fetch --output markdown >> "$GITHUB_STEP_SUMMARY"

  # two projects, as JSON
  atoll drift conf/prod/vpc prod-eks --output json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output, runOutputs...); err != nil {
				return err
			}
			if opts.All && len(args) > 0 {
				return usagef("give PROJECT arguments or --all, not both")
			}
			if opts.Jobs < 0 {
				return usagef("--jobs must be at least 1")
			}
			opts.Projects, opts.cmd = args, cmd
			if runF != nil {
				return runF(opts)
			}
			return driftRun(cmd.Context(), opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	f := cmd.Flags()
	f.BoolVar(&opts.All, "all", false, "every project (the default when no PROJECT is named)")
	f.BoolVar(&opts.Fetch, "fetch", false, "fetch the base branch from its remote first")
	revisionFlag(f, &opts.Base, "base", "", "base `REF` whose head is planned (as atoll changed)")
	f.StringVar(&opts.Workdir, "workdir", "", "root `DIR` of scratch checkouts (ATOLL_WORKDIR; default /localhost/.atoll or ~/.cache/atoll)")
	f.StringVar(&opts.TerraformBin, "terraform-bin", "", "Terraform or OpenTofu `BINARY` (default: terraform, then tofu, on PATH)")
	f.IntVarP(&opts.Jobs, "jobs", "j", 0, "plan `N` projects at once (default: number of CPUs)")
	outputFlag(cmd, &opts.Output, "text", runOutputs...)
	_ = cmd.RegisterFlagCompletionFunc("base", completeRefs(g))
	_ = cmd.MarkFlagDirname("workdir")
	_ = cmd.MarkFlagFilename("terraform-bin")
	return cmd
}

func driftRun(ctx context.Context, opts *DriftOptions) error {
	io := opts.IO
	errStyles := ui.NewStyles(io.Err, io.Color)
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	if opts.Fetch {
		if err := fetchDriftBase(s, io, errStyles); err != nil {
			return err
		}
	}
	cmp, err := s.Repo.ResolveBase(s.Config.Base)
	if err != nil {
		return err
	}
	base := cmp.Base
	g, err := scan.Projects(s.Repo, s.Config, base.SHA, scan.Options{Cache: s.Cache})
	if err != nil {
		return err
	}
	sel, err := selectProjects(s, g, opts.Projects)
	if err != nil {
		return err
	}
	var targets []runner.Target
	var names []string
	for _, p := range g.Projects {
		if sel == nil || sel[p.Dir] {
			targets = append(targets, runner.Target{Project: p})
			names = append(names, p.Name)
		}
	}
	workdir, err := s.workdir()
	if err != nil {
		return err
	}
	bin, err := tf.Find(s.Config.TerraformBin)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err, Hint: "install Terraform (or OpenTofu), or point --terraform-bin or ATOLL_TERRAFORM_BIN at it"}
	}

	rep := &drift.Report{Command: "drift", Base: guard.BranchName(base.Name),
		BaseRef: base.Name, BaseSHA: base.SHA.String(), Fetched: opts.Fetch, Projects: []drift.Project{}}
	// The ledger only explains a drift: when it cannot be read the
	// drifts are still reported, with their cause unknown.
	remote, err := s.openRemote(ctx, io.Err, false)
	if err != nil {
		var ee *ExitError
		msg := err.Error()
		if errors.As(err, &ee) && ee.Hint != "" {
			msg += " (" + ee.Hint + ")"
		}
		rep.LedgerError = msg
		fmt.Fprintf(io.Err, "%s could not read the apply ledger, so a drift's cause will be unknown: %s\n", errStyles.Warning.Render("warning:"), msg)
	} else {
		rep.Ledger = remote.Snap.Where
	}

	if len(targets) == 0 {
		fmt.Fprintf(io.Err, "No projects on %s (%s).\n", base.Name, base.SHA.Short())
	}
	ro := &runner.Options{Repo: s.Repo, Config: s.Config, Comparison: git.Comparison{Head: git.Head{SHA: base.SHA}, Base: base},
		Workdir: workdir, TerraformBin: bin, Jobs: opts.Jobs, InterruptGrace: 5 * time.Minute}
	progress := ui.NewProgress(io.Err, errStyles, stderrTTY(io), names)
	ro.Events = progress.Handle
	stopInterrupts := watchInterrupts(ctx, io, errStyles, progress)
	dr, err := runner.Drift(ctx, ro, base.SHA, targets)
	stopInterrupts()
	progress.Stop()
	if err != nil {
		return err
	}
	rep.Warnings = dr.Warnings
	for _, w := range dr.Warnings {
		fmt.Fprintf(io.Err, "%s %s\n", errStyles.Warning.Render("warning:"), w)
	}
	byDir := map[string]project.Project{}
	for _, t := range targets {
		byDir[t.Project.Dir] = t.Project
	}
	for _, res := range dr.Projects {
		p := byDir[res.Dir]
		ws := ledgerWorkspace(p.Workspace)
		var last *drift.Apply
		ledgerRead := remote != nil
		if remote != nil {
			st, onBase, err := remote.LastApply(p.Dir, ws)
			if err != nil {
				ledgerRead = false
				fmt.Fprintf(io.Err, "%s %s: its ledger could not be read: %v\n", errStyles.Warning.Render("warning:"), p.Dir, err)
			} else if st != nil {
				e := st.Entry
				last = &drift.Apply{ID: st.ID, Branch: e.Branch, Head: e.Head, Who: e.Who, Time: e.Time, Result: e.Result, OnBase: onBase}
			}
		}
		rep.Projects = append(rep.Projects, drift.Classify(
			drift.Project{Name: p.Name, Dir: p.Dir, Workspace: workspaceOrDefault(p.Workspace)},
			driftPlan(res), last, ledgerRead, rep.Base))
	}
	rep.Summarize()

	switch opts.Output {
	case "json":
		err = ui.JSON(io.Out, rep)
	case "markdown":
		_, err = fmt.Fprint(io.Out, ui.DriftMarkdown(rep))
	default:
		err = ui.DriftTable(io.Out, ui.NewStyles(io.Out, io.Color), rep)
	}
	if err != nil {
		return err
	}
	// In GitHub Actions the report goes to the job summary too; the
	// annotations go to stderr, keeping stdout's JSON or Markdown clean.
	s.publish(io.Err, opts.Output, driftCI{rep})
	switch {
	case rep.Summary.Error > 0:
		return &silentError{code: ExitRepository}
	case rep.Summary.Drift > 0:
		return &silentError{code: ExitChanges}
	}
	return nil
}

// driftPlan is what the runner found, in drift's terms: anything but a
// finished plan is an error.
func driftPlan(res runner.DriftResult) drift.Plan {
	pl := drift.Plan{HasChanges: res.HasChanges, LogFile: res.LogFile, Duration: res.Duration,
		Changes: drift.Changes{Add: res.Counts.Add, Change: res.Counts.Change, Replace: res.Counts.Replace, Destroy: res.Counts.Destroy, Import: res.Counts.Import, Outputs: res.Outputs}}
	for _, rc := range res.Resources {
		pl.Resources = append(pl.Resources, drift.Resource{Address: rc.Address, Action: string(rc.Action)})
	}
	if res.Status != runner.StatusPlanned && res.Status != runner.StatusNoChanges {
		pl.Err, pl.Hint = res.Error, res.Hint
		if pl.Err == "" {
			pl.Err = string(res.Status)
		}
	}
	return pl
}

// fetchDriftBase fetches the base branch. A base that is a local branch
// has nothing to fetch: drift says so and plans it as it is.
func fetchDriftBase(s *session, io *ui.IO, st *ui.Styles) error {
	cmp, err := s.Repo.ResolveBase(s.Config.Base)
	var nf *git.BaseNotFoundError
	if err != nil && !errors.As(err, &nf) {
		return err
	}
	remote, branch, ok := "origin", "", false
	switch {
	case err == nil:
		remote, branch, ok = git.RemoteOf(cmp.Base.Name)
	case s.Config.Base != "":
		branch, ok = strings.TrimPrefix(s.Config.Base, "origin/"), true
	default:
		branch, ok = "main", true
	}
	if !ok {
		fmt.Fprintf(io.Err, "%s --fetch: the base %s is a local branch, so nothing was fetched; name a remote one (--base origin/main) to fetch it\n",
			st.Warning.Render("warning:"), cmp.Base.Name)
		return nil
	}
	if err := s.Repo.Fetch(remote, branch); err != nil {
		return &ExitError{Code: ExitRepository, Err: err, Hint: "check the network and the remote's URL (git remote -v); without --fetch drift plans the base as last fetched"}
	}
	return nil
}

// ledgerWorkspace is the workspace as ledger keys name it ("" for default).
func ledgerWorkspace(ws string) string {
	if ws == "default" {
		return ""
	}
	return ws
}

func workspaceOrDefault(ws string) string {
	if ws == "" {
		return "default"
	}
	return ws
}

// driftCI is atoll drift's report for the CI: the Markdown report as the
// job summary, a warning for each drifting project and an error for each
// that could not be planned.
type driftCI struct{ rep *drift.Report }

func (d driftCI) Summary() string { return ui.DriftMarkdown(d.rep) }

func (d driftCI) Annotations() []ci.Annotation {
	var out []ci.Annotation
	for _, p := range d.rep.Projects {
		switch p.Status {
		case drift.Drift:
			out = append(out, ci.Annotation{Level: ci.Warning, Title: "atoll drift: " + p.Dir, Message: p.Why})
		case drift.Error:
			out = append(out, ci.Annotation{Level: ci.Error, Title: "atoll drift: " + p.Dir, Message: p.Error})
		}
	}
	return out
}
