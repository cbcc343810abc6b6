package cli

import (
	"context"
	"fmt"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/ui"

	"github.com/atoll-tf/atoll/pkg/runner"

	"github.com/spf13/cobra"
)

// PlanOptions are the parsed flags of `atoll plan`.
type PlanOptions struct {
	RunOptions
	DestroyDeleted   bool
	DetailedExitcode bool
	// Bundle is the file the saved plans are also written to, for an
	// apply in another clone.
	Bundle string
	// PlanJSON and PlanText keep terraform show -json and terraform show
	// of each plan next to it.
	PlanJSON, PlanText bool
}

// NewCmdPlan builds `atoll plan`.
func NewCmdPlan(io *ui.IO, g *Globals, runF func(*PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{RunOptions: RunOptions{IO: io, Globals: g}}
	cmd := &cobra.Command{
		Use:   "plan [PROJECT...]",
		Short: "Plan the affected projects from a scratch checkout of HEAD",
		Long: `Plan Terraform projects from a scratch checkout of the HEAD commit, never from
the work tree or /conf, so several branches can plan the same project at once.

By default the projects atoll changed lists are planned; name projects (by
name or directory, relative to the repository root or to the current
directory: "atoll plan ." in conf/prod/vpc) or pass --all instead. For each project atoll writes the
files of the commit it needs (the project, the local modules it uses, its
watched files) under the work directory, runs terraform init and terraform
plan -out, and saves a plan record binding the plan to HEAD, the base and
merge-base, and a hash of its inputs. atoll apply applies exactly those plans.

Deleted projects are listed as needing a destroy; --destroy-deleted plans the
destroy from a checkout of the merge-base.

Independent projects plan in parallel (-j). Terraform's full output is in a
log file next to each plan (plan.log). The counts come from terraform plan
-json itself, so the log holds its messages as text: a line per planned
change ("aws_vpc.main: Plan to update"), the "Plan:" line and Terraform's
diagnostics. --plan-text also keeps Terraform's full text rendering of each
plan, attribute by attribute, in plan.txt, and --plan-json its JSON
(terraform show -json, for policy checks) in plan.tfplan.json: each costs
one more terraform show per project. --output markdown implies --plan-text,
and so does a CI job (its log shows each plan's text after the project's
Terraform output) unless --plan-text=false.

--bundle FILE also writes the saved plans, their records and logs into one
file (mode 0600) that atoll apply --bundle FILE applies in another clone, at
another path, with another work dir: in CI, plan in one job and apply in
another. It holds the plans' secrets in clear: keep it private and
short-lived.

` + ExitCodesHelp + `
  With --detailed-exitcode: 0 no changes, 2 changes, 1 error.`,
		Example: `  # plan what this branch affects
  atoll plan

  # two projects, by name or directory, four at a time
  atoll plan conf/prod/vpc prod-eks -j 4

  # in CI: a PR comment, and an exit code that says whether there are changes
  atoll plan --output markdown --detailed-exitcode > plan.md

  # in CI: the plans, for the job that applies them
  atoll plan --destroy-deleted --bundle plans.atoll

  # each plan's JSON next to it, for a policy check
  atoll plan --plan-json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd, args); err != nil {
				return err
			}
			if cmd.Flags().Changed("bundle") && opts.Bundle == "" {
				return usagef("--bundle needs a FILE to write the plans to")
			}
			if opts.Bundle != "" && opts.FromWorktree {
				return usagef("--bundle and --from-worktree do not go together: a plan of the work tree was made from no commit, so no other clone can apply it")
			}
			if runF != nil {
				return runF(opts)
			}
			return planRun(cmd.Context(), opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	opts.flags(cmd)
	cmd.Flags().BoolVar(&opts.DestroyDeleted, "destroy-deleted", false, "plan a destroy for projects deleted on this branch (from the merge-base)")
	cmd.Flags().BoolVar(&opts.FromWorktree, "from-worktree", false, "plan the work tree, uncommitted edits included (such plans are dirty: apply refuses them without --allow-dirty)")
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing changes, 2 when something does, 1 on error")
	cmd.Flags().StringVar(&opts.Bundle, "bundle", "", "also write the saved plans to `FILE`, a bundle that atoll apply --bundle applies in another clone (it holds secrets in clear)")
	_ = cmd.MarkFlagFilename("bundle")
	cmd.Flags().BoolVar(&opts.PlanJSON, "plan-json", false, "also keep terraform show -json of each plan next to it (plan.tfplan.json): one more terraform run per project")
	cmd.Flags().BoolVar(&opts.PlanText, "plan-text", false, "also keep Terraform's text rendering of each plan next to it (plan.txt; implied by --output markdown and in CI): one more terraform run per project")
	return cmd
}

func planRun(ctx context.Context, opts *PlanOptions) error {
	rs, err := opts.setup(ctx)
	if err != nil {
		return err
	}
	defer rs.s.Close()
	bundleFile := ""
	if opts.Bundle != "" {
		bundleFile = bundlePath(rs.s, opts.Bundle)
		if err := clearBundle(bundleFile); err != nil {
			return err
		}
	}
	rs.opts.DestroyDeleted = opts.DestroyDeleted
	// Each rendering of a plan costs a terraform show: only when asked,
	// or (the text) when an output shows it: Markdown, and a CI job's log
	// groups, unless --plan-text=false.
	rs.opts.PlanText = opts.PlanText || opts.Output == "markdown" ||
		(rs.s.CI.Active() && !opts.cmd.Flags().Changed("plan-text"))
	rs.opts.PlanJSON = opts.PlanJSON
	if err := planLedger(ctx, opts, rs); err != nil {
		return err
	}
	rep, err := opts.execute(ctx, rs, runner.Plan)
	if err != nil {
		return err
	}
	if bundleFile != "" {
		if err := writeBundle(ctx, opts.IO, rs, rep, bundleFile); err != nil {
			return err
		}
	}
	return runExit(rep, opts.DetailedExitcode)
}

// planLedger reads the locks and the ledger, so that the plan table says
// which plans would revert another branch's unmerged apply, and takes the
// locks first when lock_on is plan. Without lock_on: plan, a remote that
// cannot be read only costs the warning.
func planLedger(ctx context.Context, opts *PlanOptions, rs *runSetup) error {
	r, err := rs.s.openRemote(ctx, opts.IO.Err, false)
	lockOnPlan := rs.s.Config.EffectiveLockOn() == "plan"
	if err != nil {
		if lockOnPlan {
			return err
		}
		fmt.Fprintf(opts.IO.Err, "%s could not read the locks and the apply ledger, so this plan cannot say whether it would revert another branch's apply: %v\n",
			ui.NewStyles(opts.IO.Err, opts.IO.Color).Warning.Render("warning:"), err)
		return nil
	}
	head := rs.res.Comparison.Head
	branch := rs.s.branchOf(head)
	rs.opts.Reverts = func(dir, ws string) string {
		rv, err := r.Reverts(dir, ws, head.SHA, branch)
		if err != nil || rv == nil {
			return ""
		}
		return rv.String()
	}
	if lockOnPlan && !opts.FromWorktree {
		var ps []project.Project
		for _, t := range rs.targets {
			ps = append(ps, t.Project)
		}
		if len(ps) > 0 {
			if _, err := rs.s.acquire(ctx, opts.IO.Err, r, head, ps, "atoll plan (lock_on: plan)"); err != nil {
				return err
			}
		}
	}
	return nil
}
