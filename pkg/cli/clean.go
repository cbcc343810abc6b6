package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/atoll-tf/atoll/pkg/workspace"
	"github.com/spf13/cobra"
)

// CleanOptions are the parsed flags of `atoll clean`.
type CleanOptions struct {
	IO        *ui.IO
	Globals   *Globals
	All       bool
	OlderThan time.Duration
	Merged    bool
	Workdir   string
	Base      string

	cmd *cobra.Command
}

// parseAge reads an age: weeks ("2w"), days ("7d"), or a Go duration
// ("36h", "90m", "1h30m").
func parseAge(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix, name string
		unit         time.Duration
	}{{"w", "weeks", 7 * 24 * time.Hour}, {"d", "days", 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q is not a whole number of %s (ages are like 2w, 7d, 36h, 90m)", s, u.name)
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not an age: use weeks, days, hours or minutes, like 2w, 7d, 36h, 90m", s)
	}
	return d, nil
}

// NewCmdClean builds `atoll clean`.
func NewCmdClean(io *ui.IO, g *Globals, runF func(*CleanOptions) error) *cobra.Command {
	opts := &CleanOptions{IO: io, Globals: g}
	var age string
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove scratch checkouts, old plans and logs of this repository",
		Long: `Remove the scratch checkouts atoll plan and apply made for this repository
under the work directory: all of them, those older than a given age, or
those of commits already merged into the base branch. --older-than and
--merged also remove saved plans with their logs and records (plan files
hold secrets in clear) by the same rule; --all alone keeps them, so that
apply can still use them. Leftovers of
interrupted runs are always removed; checkouts and plans in use by a running
plan or apply are not. Apply records are kept, and the apply ledger lives in
the git remote (atoll history): clean never touches it.

` + ExitCodesHelp,
		Example: `  atoll clean --older-than 7d
  atoll clean --merged
  atoll clean --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if age != "" {
				d, err := parseAge(age)
				if err != nil {
					return usagef("--older-than: %v", err)
				}
				opts.OlderThan = d
			}
			if !opts.All && opts.OlderThan == 0 && !opts.Merged {
				return usagef("say what to remove: --all, --older-than AGE or --merged")
			}
			opts.cmd = cmd
			if runF != nil {
				return runF(opts)
			}
			return cleanRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "remove every checkout of this repository")
	cmd.Flags().StringVar(&age, "older-than", "", "remove checkouts older than `AGE` (2w, 7d, 36h, 90m)")
	cmd.Flags().BoolVar(&opts.Merged, "merged", false, "remove checkouts of commits already in the base branch")
	revisionFlag(cmd.Flags(), &opts.Base, "base", "", "base `REF` for --merged (as atoll changed)")
	cmd.Flags().StringVar(&opts.Workdir, "workdir", "", "root `DIR` of scratch checkouts (ATOLL_WORKDIR)")
	return cmd
}

func cleanRun(opts *CleanOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	workdir, err := s.workdir()
	if err != nil {
		return err
	}
	co := workspace.CleanOptions{RepoID: workspace.RepoID(s.Repo), All: opts.All, OlderThan: opts.OlderThan}
	if opts.Merged && !opts.All {
		cmp, err := s.Repo.ResolveBase(s.Config.Base)
		if err != nil {
			return err
		}
		keepOld := opts.OlderThan == 0
		co.Keep = func(short string) bool {
			ref, ok, err := s.Repo.ResolveRevision(short)
			if err != nil || !ok {
				return keepOld // unknown commit: only age can remove it
			}
			merged, err := s.Repo.IsAncestor(ref.SHA, cmp.Base.SHA)
			return err != nil || !merged
		}
		if opts.OlderThan == 0 {
			co.All = true // every merged one
		}
	}
	removed, err := workspace.Clean(workdir, co)
	// Old plans (they hold secrets in clear), their logs and records go by
	// the same rule as checkouts: plan directories are named by commit.
	store := runner.Store(workdir, s.Repo)
	var keepPlan func(string) bool
	if co.Keep != nil {
		keepPlan = func(head string) bool { return co.Keep(head[:min(len(head), 8)]) }
	}
	// --all alone keeps them: apply rebuilds the checkout of a plan it
	// still has to apply.
	if opts.OlderThan > 0 || opts.Merged {
		plans, perr := store.PrunePlans(opts.OlderThan, keepPlan)
		removed = append(removed, plans...)
		err = errors.Join(err, perr)
	}
	// Work-tree plans (--from-worktree) are never reused: --all removes them.
	if opts.All {
		worktrees, _ := filepath.Glob(filepath.Join(workdir, co.RepoID, "worktree-*"))
		for _, w := range worktrees {
			if os.RemoveAll(w) == nil {
				removed = append(removed, w)
			}
		}
	}
	for _, r := range removed {
		fmt.Fprintln(opts.IO.Out, r)
	}
	fmt.Fprintf(opts.IO.Err, "removed %d scratch %s\n", len(removed), map[bool]string{true: "directory", false: "directories"}[len(removed) == 1])
	return err
}
