package cli

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/ci"
	"github.com/atoll-tf/atoll/pkg/git"
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
	Fetch       bool
	// Dotenv is the GitLab dotenv report to write (--dotenv, ATOLL_DOTENV).
	Dotenv   string
	Projects []string

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

In CI (see --ci) the base is the pull or merge request's target branch,
and GitHub's merge commit of a pull request stands for its second parent,
the branch's head. In GitHub Actions the step outputs projects (one
directory per line), matrix (as --output github-matrix) and count are
written to $GITHUB_OUTPUT; --dotenv FILE (or ATOLL_DOTENV) writes
ATOLL_CHANGED_PROJECTS (space-separated), ATOLL_CHANGED_MATRIX and
ATOLL_CHANGED_COUNT as a GitLab dotenv report.

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

  # in GitHub Actions, projects, matrix and count are step outputs too
  # ($GITHUB_OUTPUT); in GitLab CI, write them as a dotenv report
  atoll changed --fetch --dotenv atoll.env

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
	f.BoolVar(&opts.Fetch, "fetch", false, "fetch the base branch from its remote first (in CI, a shallow clone is deepened)")
	f.StringVar(&opts.Dotenv, "dotenv", "", "write projects, matrix and count to `FILE` as a GitLab dotenv report (ATOLL_DOTENV)")
	_ = cmd.MarkFlagFilename("dotenv", "env")
	_ = cmd.RegisterFlagCompletionFunc("base", completeRefs(g))
	return cmd
}

func changedRun(opts *ChangedOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	if opts.Fetch {
		if err := s.fetchFirst(opts.cmd.Context()); err != nil {
			return err
		}
	}
	// Only the answer of changed may fall back to GitLab's merge-base of
	// the merge request when the target branch was not fetched: plan,
	// apply and guard need the target's tip.
	if h := s.Repo.BaseHint; h != nil && s.CI.DiffBaseSHA != "" {
		if sha, ok := git.ParseHash(s.CI.DiffBaseSHA); ok {
			h.Fallback = sha
		}
	}
	res, err := scan.Changed(s.Repo, s.Config, scan.Options{Uncommitted: opts.Uncommitted, Cache: s.Cache})
	if err != nil {
		return err
	}
	rep := res.Report()
	rep.Head.From, rep.Head.MergeCommit = s.headNote, mergeCommit(res.Comparison.Head)
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
	s.publish(io.Err, opts.Output, changedCI{warnings: rep.Warnings, root: s.Repo.Root})
	if err := changedCIOutputs(s, opts, rep); err != nil {
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

// changedCIOutputs hands the answer to later steps and jobs: GitHub step
// outputs, and the GitLab dotenv report --dotenv (or ATOLL_DOTENV) names.
func changedCIOutputs(s *session, opts *ChangedOptions, rep *scan.Report) error {
	var dirs []string
	for _, p := range rep.Projects {
		dirs = append(dirs, p.Dir)
	}
	var matrix bytes.Buffer
	if err := ui.ChangedMatrix(&matrix, rep); err != nil {
		return err
	}
	m, count := strings.TrimSpace(matrix.String()), strconv.Itoa(len(dirs))
	if s.CI.System == ci.GitHub && s.CI.OutputFile != "" {
		out, err := ci.GitHubOutputs([]ci.Output{{Name: "projects", Value: strings.Join(dirs, "\n")}, {Name: "matrix", Value: m}, {Name: "count", Value: count}}, ci.NewDelimiter)
		if err == nil {
			err = ci.AppendFile(s.CI.OutputFile, out)
		}
		if err != nil {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("$GITHUB_OUTPUT: %w", err), Hint: "the runner sets GITHUB_OUTPUT to a writable file: check that the step does not change it"}
		}
	}
	file := opts.Dotenv
	if file == "" {
		file = os.Getenv("ATOLL_DOTENV")
	}
	if file == "" {
		return nil
	}
	for _, d := range dirs {
		if strings.ContainsAny(d, " \t") {
			return &ExitError{Code: ExitInput, Err: fmt.Errorf("--dotenv: project directory %q holds a space, which a space-separated dotenv value cannot carry", d),
				Hint: "read the projects from --output json (or ATOLL_CHANGED_MATRIX) instead, or rename the directory"}
		}
	}
	out, err := ci.Dotenv([]ci.Output{{Name: "ATOLL_CHANGED_PROJECTS", Value: strings.Join(dirs, " ")}, {Name: "ATOLL_CHANGED_MATRIX", Value: m}, {Name: "ATOLL_CHANGED_COUNT", Value: count}})
	if err != nil {
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("--dotenv %s: %w", file, err), Hint: "pass the projects between jobs as an artifact of --output json instead"}
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("--dotenv: %w", err), Hint: "name a writable file, relative to the job's directory"}
	}
	return nil
}

// mergeCommit is the merge commit a head stands in for, when it does.
func mergeCommit(h git.Head) string {
	if h.MergeCommit.IsZero() {
		return ""
	}
	return h.MergeCommit.String()
}
