package cli

import (
	"context"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// ApplyOptions are the parsed flags of `atoll apply`.
type ApplyOptions struct {
	RunOptions
	AllowDirty bool
}

// NewCmdApply builds `atoll apply`.
func NewCmdApply(io *ui.IO, g *Globals, runF func(*ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{RunOptions: RunOptions{IO: io, Globals: g}}
	cmd := &cobra.Command{
		Use:   "apply [PROJECT...]",
		Short: "Apply the saved plans of HEAD, in dependency order",
		Long: `Apply the plans atoll plan saved for the current HEAD: apply before merge.

Before anything runs, atoll refuses (naming the project and the fix) when:
no plan exists for HEAD; HEAD moved since the plan; the plan was made from the
work tree (--from-worktree) and --allow-dirty is not given; the base branch
moved on and the branch is no longer up to date; the plan record or plan file
was altered; the plan was already used by an apply. Terraform itself refuses a
plan made against an older state.

Projects apply in depends_on order (atoll.yaml), independent ones in
parallel (-j). When a project fails, the projects that depend on it are
skipped; the others continue unless --fail-fast. A plan is consumed by its
apply, success or failure: after a failure, plan again.

Terraform does not roll back. When an apply fails, atoll lists what was
changed; do not merge the branch until a new plan applies cleanly.

Ctrl-C asks Terraform to stop cleanly (state lock released, state written); a
second Ctrl-C kills it, after saying what is at risk.

` + ExitCodesHelp,
		Example: `  atoll apply
  atoll apply conf/prod/vpc
  atoll apply --output json > apply.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd, args); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return applyRun(cmd.Context(), opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	opts.flags(cmd)
	cmd.Flags().BoolVar(&opts.AllowDirty, "allow-dirty", false, "apply plans made from the work tree (--from-worktree)")
	return cmd
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	rs, err := opts.setup(ctx)
	if err != nil {
		return err
	}
	defer rs.s.Close()
	rs.opts.AllowDirty = opts.AllowDirty
	rep, err := opts.execute(ctx, rs, runner.Apply)
	if err != nil {
		return err
	}
	return runExit(rep, false)
}
