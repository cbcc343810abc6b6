package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"

	"github.com/atoll-tf/atoll/pkg/guard"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// ApplyOptions are the parsed flags of `atoll apply`.
type ApplyOptions struct {
	RunOptions
	AllowDirty bool
	Force      string
	// Bundle is a file of plans made in another clone (atoll plan
	// --bundle) to apply.
	Bundle string
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

--bundle FILE applies the plans of a bundle that atoll plan --bundle wrote in
another clone or CI job. The bundle is refused (exit 3) when it was planned
in another repository, at another commit, against another base branch or
merge-base, or by another version of atoll, and (exit 5) when it is damaged,
truncated or altered. Its plans are then put into this work dir and checked
like plans made here: a plan this work dir already applied is refused.

Ctrl-C asks Terraform to stop cleanly (state lock released, state written); a
second Ctrl-C kills it, after saying what is at risk.

` + ExitCodesHelp,
		Example: `  atoll apply
  atoll apply conf/prod/vpc
  atoll apply --output json > apply.json

  # in CI: the plans the plan job made
  atoll apply --bundle plans.atoll`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd, args); err != nil {
				return err
			}
			if cmd.Flags().Changed("force") && strings.TrimSpace(opts.Force) == "" {
				return usagef("--force needs a reason, e.g. --force \"hotfix, approved by X\"")
			}
			if cmd.Flags().Changed("bundle") && opts.Bundle == "" {
				return usagef("--bundle needs the FILE atoll plan --bundle wrote")
			}
			if opts.Bundle != "" && opts.AllowDirty {
				return usagef("--bundle and --allow-dirty do not go together: a bundle never holds plans of a work tree")
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
	cmd.Flags().StringVar(&opts.Bundle, "bundle", "", "apply the plans of `FILE`, a bundle atoll plan --bundle wrote in another clone or job")
	_ = cmd.MarkFlagFilename("bundle")
	cmd.Flags().StringVar(&opts.Force, "force", "", "apply although the guard's up-to-date or locks check failed, for this `REASON` (stored in the apply record)")
	return cmd
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	// Plans of the work tree were made for the projects its uncommitted
	// edits affect: with --allow-dirty, those are the ones to apply.
	opts.FromWorktree = opts.AllowDirty
	rs, err := opts.setup(ctx)
	if err != nil {
		return err
	}
	defer rs.s.Close()
	rs.opts.AllowDirty = opts.AllowDirty
	if opts.Bundle != "" {
		if err := importBundle(ctx, opts.IO, rs, bundlePath(rs.s, opts.Bundle)); err != nil {
			return err
		}
	}
	// The locks and the ledger, read once for the guard and the locks.
	remote, err := rs.s.openRemote(ctx, opts.IO.Err, false)
	if err != nil {
		return err
	}
	if err := applyGuard(ctx, opts, rs, remote); err != nil {
		return err
	}
	if err := applyLocks(ctx, opts, rs, remote); err != nil {
		return err
	}
	rs.opts.Ledger, rs.opts.Who, rs.opts.Branch = remote.Client, rs.s.identity(), rs.s.branchOf(rs.res.Comparison.Head)
	rep, err := opts.execute(ctx, rs, runner.Apply)
	if err != nil {
		return err
	}
	return runExit(rep, false)
}

// applyGuard runs the guard's apply stage before anything is applied. The
// planned check is left to the runner, which refuses project by project;
// any other failed check refuses the whole apply unless --force gives a
// reason, which the apply records keep.
func applyGuard(ctx context.Context, opts *ApplyOptions, rs *runSetup, remote *guard.Remote) error {
	dirty := false
	for _, t := range rs.targets {
		if rec, err := runner.Store(rs.opts.Workdir, rs.s.Repo).LoadPlan(t.Project.Dir, rs.res.Comparison.Head.SHA.String()); err == nil && rec.Dirty {
			dirty = true
		}
	}
	rep, err := evaluateGuard(ctx, rs.s, opts.IO.Err, guard.Options{Stage: guard.StageApply, FromWorktree: dirty, Enforce: true, Remote: remote})
	if err != nil {
		return err
	}
	rs.opts.UpToDateChecked = true
	var blocking []string
	for _, c := range rep.Failed() {
		if c.Name != guard.Planned {
			blocking = append(blocking, c.Name)
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	io := opts.IO
	s := ui.NewStyles(io.Err, io.Color)
	_ = ui.GuardChecklist(io.Err, s, rep)
	if opts.Force != "" {
		fmt.Fprintf(io.Err, "%s applying despite failed checks (%s): --force %q is stored in each apply record\n", s.Warning.Render("warning:"), strings.Join(blocking, ", "), opts.Force)
		rs.opts.Force = opts.Force
		return nil
	}
	return &ExitError{Code: ExitCheckFailed,
		Err:  fmt.Errorf("apply refused: the guard's %s check failed, so applying would break main == production", strings.Join(blocking, ", ")),
		Hint: "fix what the checklist above says; to apply anyway, give a reason: --force \"REASON\""}
}

// applyLocks takes the locks of the projects to apply, all or none,
// before Terraform starts (lock_on: apply or plan). With --force, the
// locks other branches hold stay theirs and the others are taken.
func applyLocks(ctx context.Context, opts *ApplyOptions, rs *runSetup, remote *guard.Remote) error {
	errStyles := ui.NewStyles(opts.IO.Err, opts.IO.Color)
	if rs.s.Config.EffectiveLockOn() == "never" {
		fmt.Fprintf(opts.IO.Err, "%s lock_on: never: atoll takes no locks, so nothing stops another branch from applying these projects meanwhile and reverting each other\n", errStyles.Warning.Render("warning:"))
		return nil
	}
	var ps []project.Project
	for _, t := range rs.targets {
		ps = append(ps, t.Project)
	}
	if len(ps) == 0 {
		return nil
	}
	head := rs.res.Comparison.Head
	_, err := rs.s.acquire(ctx, opts.IO.Err, remote, head, ps, "atoll apply")
	var locked *ledger.LockedError
	if errors.As(err, &locked) && opts.Force != "" {
		blocked := map[string]bool{}
		for _, b := range locked.Blocked {
			blocked[b.Held.Lock.Dir] = true
			fmt.Fprintf(opts.IO.Err, "%s --force: applying %s although branch %s holds its lock (the lock stays theirs)\n", errStyles.Warning.Render("warning:"), b.Held.Lock.Dir, b.Held.Lock.Branch)
		}
		var rest []project.Project
		for _, p := range ps {
			if !blocked[p.Dir] {
				rest = append(rest, p)
			}
		}
		if len(rest) == 0 {
			return nil
		}
		_, err = rs.s.acquire(ctx, opts.IO.Err, remote, head, rest, "atoll apply")
	}
	return err
}
