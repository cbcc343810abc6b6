package cli

import (
	"fmt"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

var changedOutputs = []string{"text", "json", "markdown", "github-matrix"}

// ChangedOptions are the parsed flags of `atoll changed`.
type ChangedOptions struct {
	IO          *ui.IO
	Globals     *Globals
	Base        string
	Output      string
	Uncommitted bool
	ExitCode    bool
	Verbose     bool
	Projects    []string

	cmd *cobra.Command
}

// NewCmdChanged builds `atoll changed`. runF replaces the run function in tests.
func NewCmdChanged(io *ui.IO, g *Globals, runF func(*ChangedOptions) error) *cobra.Command {
	opts := &ChangedOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "changed [PROJECT...]",
		Short: "List the projects this branch affects, and why",
		Long: `List the Terraform projects that the current branch affects.

HEAD is compared with its merge-base with the base branch (three-dot
semantics, also for an explicit --base), so commits that landed on the base
after the branch started are never blamed on the branch. A project is
affected when a changed file (added, modified, deleted, or either side of a
rename) is:

  1. inside the project directory;
  2. inside a local module the project uses, directly or through other
     modules (module "x" { source = "../modules/x" });
  3. matched by the project's or the global watch globs in atoll.yaml;
  4. a .envrc in a parent directory of the project (geodesic source_up).

The base is --base, ATOLL_BASE or base: in atoll.yaml; otherwise the
remote's default branch (origin/HEAD), origin/main, origin/master, then
local main and master. On the base branch itself, HEAD is compared with its
first parent.

Only committed files count; --uncommitted adds staged, unstaged, deleted and
untracked files of the work tree.

Output: a table on a terminal; one project directory per line when piped
(for shell loops); --output json, markdown (PR comments) or github-matrix.

With PROJECT arguments, only those are reported; with --exit-code, whether
they are affected. A PROJECT is a name or a directory, relative to the
repository root or to the current directory ("." in a project directory).

` + ExitCodesHelp,
		Example: `  # what does this branch touch?
  atoll changed

  # plan each affected project in a shell loop (paths are relative to the
  # repository root; deleted projects are listed too)
  cd "$(git rev-parse --show-toplevel)" && atoll changed | while IFS= read -r p; do [ -d "$p" ] && (cd "$p" && terraform init -input=false && terraform plan -input=false); done

  # against another base, including uncommitted edits
  atoll changed --base origin/release --uncommitted

  # in CI: a matrix for GitHub Actions, and a PR comment
  atoll changed --output github-matrix
  atoll changed --output markdown >> "$GITHUB_STEP_SUMMARY"

  # is conf/prod/vpc affected? (exit 2: yes, 0: no)
  atoll changed --exit-code conf/prod/vpc`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output, changedOutputs...); err != nil {
				return err
			}
			opts.Projects = args
			opts.cmd = cmd
			if runF != nil {
				return runF(opts)
			}
			return changedRun(opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	f := cmd.Flags()
	revisionFlag(f, &opts.Base, "base", "", "base `REF` to compare with (default: origin/HEAD, origin/main, origin/master, main, master)")
	outputFlag(cmd, &opts.Output, "text", changedOutputs...)
	f.BoolVar(&opts.Uncommitted, "uncommitted", false, "include staged, unstaged, deleted and untracked files of the work tree")
	f.BoolVar(&opts.ExitCode, "exit-code", false, "exit 2 when projects are affected, 0 when none are")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "say which refs were compared and why (on stderr)")
	_ = cmd.RegisterFlagCompletionFunc("base", completeRefs(g))
	return cmd
}

func changedRun(opts *ChangedOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := scan.Changed(s.Repo, s.Config, scan.Options{Uncommitted: opts.Uncommitted, Cache: s.Cache})
	if err != nil {
		return err
	}
	rep := res.Report()
	if len(opts.Projects) > 0 {
		head, err := scan.Projects(s.Repo, s.Config, res.Comparison.Head.SHA, scan.Options{Cache: s.Cache, Uncommitted: opts.Uncommitted})
		if err != nil {
			return err
		}
		// Deleted projects are named by their old directory.
		for _, p := range rep.Projects {
			if p.Status == affected.Deleted {
				head.Projects = append(head.Projects, projectStub(p))
			}
		}
		sel, err := selectProjects(s, head, opts.Projects)
		if err != nil {
			return err
		}
		kept := rep.Projects[:0:0]
		for _, p := range rep.Projects {
			if sel[p.Dir] {
				kept = append(kept, p)
			}
		}
		rep.Projects = kept
	}

	io := opts.IO
	styles := ui.NewStyles(io.Err, io.Color)
	for _, w := range rep.Warnings {
		fmt.Fprintf(io.Err, "%s %s\n", styles.Warning.Render("warning:"), w)
	}
	if opts.Verbose {
		describeComparison(io, styles, rep)
	}
	switch opts.Output {
	case "json":
		err = ui.JSON(io.Out, rep)
	case "markdown":
		err = ui.ChangedMarkdown(io.Out, rep)
	case "github-matrix":
		err = ui.ChangedMatrix(io.Out, rep)
	default:
		if io.OutTTY {
			if len(rep.Projects) == 0 {
				fmt.Fprintf(io.Err, "No projects affected (compared %s with merge-base %s of %s).\n", shortSHA(rep.Head.SHA), shortSHA(rep.MergeBase), rep.Base.Ref)
			} else {
				err = ui.ChangedTable(io.Out, ui.NewStyles(io.Out, io.Color), rep)
			}
		} else {
			err = ui.ChangedPlain(io.Out, rep)
			for _, p := range rep.Projects {
				if note := ui.StatusNote(p); note != "" {
					fmt.Fprintf(io.Err, "%s %s: %s\n", styles.Warning.Render("note:"), p.Dir, note)
				}
			}
		}
	}
	if err != nil {
		return err
	}
	if opts.ExitCode && len(rep.Projects) > 0 {
		return &silentError{code: ExitChanges}
	}
	return nil
}

func describeComparison(io *ui.IO, s *ui.Styles, rep *scan.Report) {
	head := rep.Head.Branch
	if head == "" {
		head = "detached HEAD"
	}
	fmt.Fprintf(io.Err, "%s %s %s\n", s.Muted.Render("head:      "), head, rep.Head.SHA)
	fmt.Fprintf(io.Err, "%s %s %s (rule %s; tried %v)\n", s.Muted.Render("base:      "), rep.Base.Ref, rep.Base.SHA, rep.Base.Rule, rep.Base.Tried)
	mb := rep.MergeBase
	if mb == "" {
		mb = "(none: root commit, everything is new)"
	}
	fmt.Fprintf(io.Err, "%s %s\n", s.Muted.Render("merge-base:"), mb)
	if rep.Uncommitted {
		fmt.Fprintf(io.Err, "%s including uncommitted changes\n", s.Muted.Render("work tree: "))
	}
}

func shortSHA(s string) string {
	if len(s) >= 8 {
		return s[:8]
	}
	return "(none)"
}
