package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// LockOptions are the parsed flags of `atoll lock` and `atoll unlock`.
type LockOptions struct {
	IO       *ui.IO
	Globals  *Globals
	Projects []string
	Reason   string
	Force    string

	cmd *cobra.Command
}

const locksHelp = `Locks live in the git remote (ledger_remote in atoll.yaml, else origin; with
no remote, in this repository) as refs/atoll/locks/<project>, so everyone
and every CI job sees the same ones. docs/locking.md explains them.`

// NewCmdLock builds `atoll lock`.
func NewCmdLock(io *ui.IO, g *Globals, runF func(*LockOptions) error) *cobra.Command {
	opts := &LockOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "lock PROJECT...",
		Short: "Lock projects for this branch until it is merged",
		Long: `Take the locks of projects for the current branch, all or none. atoll apply
does this itself (lock_on: apply, the default); lock ahead of it to keep
others off a project while you work.

A lock this branch holds already is left as it is. A lock held by another
branch is an error naming its holder, branch, commit and age, and how it
will be released. A lock lasts until this branch's change is on the base
branch (merged by any method); it is then stale and the next atoll command
releases it.

` + locksHelp + `

` + ExitCodesHelp + `
  For lock: 3 another branch holds one of the locks, 6 the remote could not
  be read or written (nothing was locked).`,
		Example: `  atoll lock conf/prod/vpc
  atoll lock conf/prod/vpc conf/prod/dns --reason "migrating the zone"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Projects, opts.cmd = args, cmd
			if runF != nil {
				return runF(opts)
			}
			return lockRun(opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why you lock, shown to whoever meets the lock")
	return cmd
}

func lockRun(opts *LockOptions) error {
	ctx := opts.cmd.Context()
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	head, projects, err := headProjects(s, opts.Projects)
	if err != nil {
		return err
	}
	// Nothing read first: a free lock is taken with one push; Acquire
	// reads the remote only when a lock exists.
	r, err := s.lazyRemote(opts.IO.Err)
	if err != nil {
		return err
	}
	reason := opts.Reason
	if reason == "" {
		reason = "atoll lock"
	}
	got, err := s.acquire(ctx, opts.IO.Err, r, head, projects, reason)
	if err != nil {
		return err
	}
	for _, l := range got.Taken {
		fmt.Fprintf(opts.IO.Out, "locked %s for branch %s on %s\n", withWS(l.Dir, l.Workspace), l.Branch, r.Client.Store.Where())
	}
	for _, h := range got.Already {
		fmt.Fprintf(opts.IO.Out, "%s: already locked by this branch (since %s)\n", withWS(h.Lock.Dir, h.Lock.Workspace), h.Lock.Time.Format(time.RFC3339))
	}
	return nil
}

func withWS(dir, ws string) string {
	if ws != "" {
		return dir + " (workspace " + ws + ")"
	}
	return dir
}

// NewCmdUnlock builds `atoll unlock`.
func NewCmdUnlock(io *ui.IO, g *Globals, runF func(*LockOptions) error) *cobra.Command {
	opts := &LockOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "unlock PROJECT...",
		Short: "Release this branch's locks (another's only with --force REASON)",
		Long: `Release the locks of projects. The branch that holds a lock may release it;
anyone else needs --force REASON, and the release, the reason and the lock
it released are appended to the project's apply ledger (atoll history).

Release an orphaned lock (its branch was deleted unmerged after an apply)
only once production is what the base branch says: apply the project from
the base first, or know why not.

` + locksHelp + `

` + ExitCodesHelp + `
  For unlock: 3 the lock is another branch's and --force was not given, 6
  the remote could not be read or written (nothing was released).`,
		Example: `  atoll unlock conf/prod/vpc
  atoll unlock conf/prod/vpc --force "INC-1234: branch abandoned, main re-applied"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("force") && strings.TrimSpace(opts.Force) == "" {
				return usagef("--force needs a reason, e.g. --force \"branch abandoned, approved by X\"")
			}
			opts.Projects, opts.cmd = args, cmd
			if runF != nil {
				return runF(opts)
			}
			return unlockRun(opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	cmd.Flags().StringVar(&opts.Force, "force", "", "release locks another branch holds, for this `REASON` (kept in the ledger)")
	return cmd
}

func unlockRun(opts *LockOptions) error {
	ctx := opts.cmd.Context()
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.openRemote(ctx, opts.IO.Err, false)
	if err != nil {
		return err
	}
	keys, err := lockKeys(s, r, opts.Projects)
	if err != nil {
		return err
	}
	head, err := s.Repo.Head()
	if err != nil {
		return err
	}
	res, err := r.Snap.Unlock(ctx, keys, s.branchOf(head), opts.Force, s.identity())
	if err != nil {
		return err
	}
	for _, h := range res.Released {
		l := h.Lock
		if l.Branch != s.branchOf(head) {
			fmt.Fprintf(opts.IO.Out, "released %s, held by branch %s (%s): --force %q is kept in its ledger\n", withWS(l.Dir, l.Workspace), l.Branch, l.Who, opts.Force)
		} else {
			fmt.Fprintf(opts.IO.Out, "released %s\n", withWS(l.Dir, l.Workspace))
		}
	}
	for _, k := range res.NotHeld {
		d, w, _ := ledger.ParseKey(k)
		fmt.Fprintf(opts.IO.Out, "%s: not locked\n", withWS(d, w))
	}
	return nil
}

// LocksOptions are the parsed flags of `atoll locks`.
type LocksOptions struct {
	IO      *ui.IO
	Globals *Globals
	Output  string
	Prune   bool

	cmd *cobra.Command
}

var locksOutputs = []string{"text", "json"}

// NewCmdLocks builds `atoll locks` and `atoll locks prune`.
func NewCmdLocks(io *ui.IO, g *Globals, runF func(*LocksOptions) error) *cobra.Command {
	opts := &LocksOptions{IO: io, Globals: g}
	run := func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(opts.Output, locksOutputs...); err != nil {
			return err
		}
		opts.cmd = cmd
		if runF != nil {
			return runF(opts)
		}
		return locksRun(opts)
	}
	cmd := &cobra.Command{
		Use:   "locks",
		Short: "List project locks: holder, branch, age, state and what to do",
		Long: `List every project lock on the remote with its state:

  held      its branch's change is not on the base branch yet
  stale     its branch was merged (by merge commit, squash or rebase), or is
            gone without having applied: the next atoll command releases
            it, or atoll locks prune does now
  orphaned  its branch was deleted unmerged after an apply: production holds
            a change the base does not have. It keeps blocking until the
            project is applied from the base again, or atoll unlock --force

The base branch is fetched first.

` + locksHelp + `

` + ExitCodesHelp,
		Example: `  atoll locks
  atoll locks --output json | jq -r '.locks[] | select(.state == "orphaned") | .dir'
  atoll locks prune`,
		Args: cobra.NoArgs,
		RunE: run,
	}
	outputFlag(cmd, &opts.Output, "text", locksOutputs...)
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Release stale locks",
		Long: `Release every stale lock: those whose branch's change is on the base branch,
and those whose branch is gone without having applied. Held and orphaned
locks are never released by prune.

` + ExitCodesHelp,
		Example: "  atoll locks prune",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Prune = true
			return run(cmd, args)
		},
	}
	outputFlag(prune, &opts.Output, "text", locksOutputs...)
	cmd.AddCommand(prune)
	return cmd
}

func locksRun(opts *LocksOptions) error {
	ctx := opts.cmd.Context()
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.openRemote(ctx, opts.IO.Err, true)
	if err != nil {
		return err
	}
	rep, err := r.Locks(time.Now())
	if err != nil {
		return err
	}
	if opts.Prune {
		released, err := r.Client.Release(ctx, rep.StaleLocks())
		if err != nil {
			return err
		}
		gone := map[string]bool{}
		for _, h := range released {
			gone[h.Ref] = true
		}
		var kept []guard.LockInfo
		for _, l := range rep.Locks {
			if gone[l.Ref] {
				rep.Released = append(rep.Released, l)
			} else {
				kept = append(kept, l)
			}
		}
		rep.Locks = append([]guard.LockInfo{}, kept...)
		for _, l := range rep.Released {
			fmt.Fprintf(opts.IO.Err, "released %s (branch %s): %s\n", withWS(l.Dir, l.Workspace), l.Branch, l.Why)
		}
		if len(rep.Released) == 0 {
			fmt.Fprintln(opts.IO.Err, "no stale locks")
		}
	}
	if opts.Output == "json" {
		return ui.JSON(opts.IO.Out, rep)
	}
	return ui.LocksTable(opts.IO.Out, ui.NewStyles(opts.IO.Out, opts.IO.Color), rep)
}

// HistoryOptions are the parsed flags of `atoll history`.
type HistoryOptions struct {
	IO       *ui.IO
	Globals  *Globals
	Projects []string
	Limit    int
	Output   string

	cmd *cobra.Command
}

// NewCmdHistory builds `atoll history`.
func NewCmdHistory(io *ui.IO, g *Globals, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "history [PROJECT...]",
		Short: "Who applied what, from which branch and commit, when, with what result",
		Long: `Show the apply ledger, newest first: every apply and destroy (started, then
its result: success, failed, interrupted, refused), and every lock released
with --force. The ledger lives in the git remote as refs/atoll/ledger/<project>;
every clone and CI job sees the same one.

A "started" entry with no result after it is an apply whose outcome is
unknown (killed half way): atoll guard refuses to judge the project until it
is planned and applied again.

` + ExitCodesHelp,
		Example: `  atoll history
  atoll history conf/prod/vpc -n 5
  atoll history --output json | jq '.entries[] | select(.result == "failed")'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output, locksOutputs...); err != nil {
				return err
			}
			if opts.Limit < 0 {
				return usagef("-n must be 0 (all) or more")
			}
			opts.Projects, opts.cmd = args, cmd
			if runF != nil {
				return runF(opts)
			}
			return historyRun(opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 50, "show at most `N` entries (0: all)")
	outputFlag(cmd, &opts.Output, "text", locksOutputs...)
	return cmd
}

func historyRun(opts *HistoryOptions) error {
	ctx := opts.cmd.Context()
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.openRemote(ctx, opts.IO.Err, false)
	if err != nil {
		return err
	}
	var keys []string
	if len(opts.Projects) > 0 {
		if keys, err = lockKeys(s, r, opts.Projects); err != nil {
			return err
		}
	}
	rep, err := r.History(keys, opts.Limit)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return ui.JSON(opts.IO.Out, rep)
	}
	return ui.HistoryTable(opts.IO.Out, ui.NewStyles(opts.IO.Out, opts.IO.Color), rep)
}

// StatusOptions are the parsed flags of `atoll status`.
type StatusOptions struct {
	IO      *ui.IO
	Globals *Globals
	Output  string

	cmd *cobra.Command
}

var statusOutputs = []string{"text", "json", "markdown"}

// NewCmdStatus builds `atoll status`.
func NewCmdStatus(io *ui.IO, g *Globals, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Is main == production? Per project: applied from which commit, on the base or not, locked by whom",
		Long: `For each project (those on the base branch, and any the ledger or a lock
names): the commit its production was last applied from, and from which
branch; whether the base branch contains that change (its commit is in the
base's history, or the project's inputs at the base's tip are the ones
applied); and who holds its lock. The base branch is fetched first.

ON <BASE> is "yes" when the base has the applied change, "no" when
production runs a change the base lacks (an unmerged or abandoned branch's
apply), "unknown" when the latest apply never completed.

` + ExitCodesHelp,
		Example: `  atoll status
  atoll status --output markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(opts.Output, statusOutputs...); err != nil {
				return err
			}
			opts.cmd = cmd
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	outputFlag(cmd, &opts.Output, "text", statusOutputs...)
	return cmd
}

func statusRun(opts *StatusOptions) error {
	ctx := opts.cmd.Context()
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.openRemote(ctx, opts.IO.Err, true)
	if err != nil {
		return err
	}
	var projects [][2]string
	names := map[string]string{}
	if !r.BaseTip.IsZero() {
		g, err := scan.Projects(s.Repo, s.Config, r.BaseTip, scan.Options{Cache: s.Cache})
		if err != nil {
			return err
		}
		for _, p := range g.Projects {
			ws := p.Workspace
			if ws == "default" {
				ws = ""
			}
			projects = append(projects, [2]string{p.Dir, ws})
			names[p.Dir] = p.Name
		}
	}
	now := time.Now()
	rep, err := r.Status(projects, names, now)
	if err != nil {
		return err
	}
	switch opts.Output {
	case "json":
		err = ui.JSON(opts.IO.Out, rep)
	case "markdown":
		_, err = fmt.Fprint(opts.IO.Out, ui.StatusMarkdown(rep, now))
	default:
		err = ui.StatusTable(opts.IO.Out, ui.NewStyles(opts.IO.Out, opts.IO.Color), rep, now)
	}
	if err != nil {
		return err
	}
	s.publish(opts.IO.Err, opts.Output, statusCI{rep, now})
	return nil
}
