package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// GuardOptions are the parsed flags of `atoll guard`.
type GuardOptions struct {
	IO      *ui.IO
	Globals *Globals
	Stage   string
	Mode    string
	Skip    []string
	Fetch   bool
	Head    string
	Base    string
	Workdir string
	Output  string

	cmd *cobra.Command
}

var guardOutputs = []string{"text", "json", "markdown"}

// NewCmdGuard builds `atoll guard`.
func NewCmdGuard(io *ui.IO, g *Globals, runF func(*GuardOptions) error) *cobra.Command {
	opts := &GuardOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "guard",
		Short: `Check that merging (or applying) keeps "main == production"`,
		Long: `Run the checks that keep "main == production", report every one of them,
and exit non-zero when one fails. CI runs it as a required status check
before merge; atoll apply runs the apply stage itself; in the geodesic shell
it answers "may I merge this?".

Checks:
  up-to-date  the base branch's tip is in HEAD's history. strict mode: any
              new commit on the base fails; targeted mode: only commits that
              affect one of this branch's projects (same rules as changed).
  clean       no uncommitted changes in the affected projects and their
              modules (apply stage, when planning from the work tree)
  planned     every affected project has a plan for HEAD made against the
              current base tip, not dirty, not yet applied
  applied     every affected project was applied successfully at HEAD, or at
              an earlier commit of the branch with the same inputs; its
              latest apply did not fail; deleted projects were destroyed.
              Read from the apply ledger in the remote (refs/atoll/ledger/),
              so a CI job sees applies made from a laptop
  tracked     every project of the merge-base is still a project at HEAD
              or is reported deleted (none dropped out because, say, a new
              conf/ directory moved the default roots away from it)
  locks       no affected project is locked by another branch (locks are
              read from the remote's refs/atoll/locks/); in the apply stage,
              also that no project's latest apply is another branch's
              unmerged change that applying would revert

Stages: plan (up-to-date, as a warning), apply (up-to-date, clean, planned,
tracked, locks) and merge, the default (up-to-date, applied, tracked,
locks). guard.mode and
guard.skip in atoll.yaml, or --mode and --skip, adjust them; skipped checks
are reported loudly.

In GitHub Actions failed checks become ::error:: annotations and the report
is appended to $GITHUB_STEP_SUMMARY (unless --output markdown). On a pull
request the base is its target branch and GitHub's merge commit stands for
the branch's own head (see --ci); with --fetch a shallow CI clone is
deepened.

` + ExitCodesHelp + `
  For guard: 0 all checks passed, 3 a check failed, 6 a check could not be
  evaluated (unreachable remote, shallow clone, unreadable ledger or
  damaged record, an apply that never finished).`,
		Example: `  # may I merge this branch?
  atoll guard

  # in CI, as a required status check, against the freshest base
  atoll guard --fetch --output markdown >> "$GITHUB_STEP_SUMMARY"

  # only fail when main's new commits touch this branch's projects
  atoll guard --mode targeted

  # install pre-push and pre-merge-commit hooks that run the merge stage
  atoll guard install-hook`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(opts.Output, guardOutputs...); err != nil {
				return err
			}
			if !contains(guard.Stages, opts.Stage) {
				return usagef("--stage %q is not one of %s", opts.Stage, strings.Join(guard.Stages, ", "))
			}
			if opts.Mode != "" && opts.Mode != "strict" && opts.Mode != "targeted" {
				return usagef("--mode %q is not strict or targeted", opts.Mode)
			}
			for _, s := range opts.Skip {
				if !contains(config.GuardChecks, s) {
					return usagef("--skip %q is not a check (%s)", s, strings.Join(config.GuardChecks, ", "))
				}
			}
			opts.cmd = cmd
			if runF != nil {
				return runF(opts)
			}
			return guardRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Stage, "stage", "merge", "which checks: plan, apply or merge")
	f.StringVar(&opts.Mode, "mode", "", "up-to-date mode: strict or targeted (default: guard.mode in atoll.yaml, else strict)")
	f.StringSliceVar(&opts.Skip, "skip", nil, "skip a `CHECK` (repeatable); the output says so loudly")
	f.BoolVar(&opts.Fetch, "fetch", false, "fetch the base branch from its remote first")
	revisionFlag(f, &opts.Head, "head", "", "examine `REV` instead of HEAD (hooks: the commit being merged or pushed)")
	revisionFlag(f, &opts.Base, "base", "", "base `REF` (as atoll changed)")
	f.StringVar(&opts.Workdir, "workdir", "", "root `DIR` of plan and apply records (ATOLL_WORKDIR)")
	outputFlag(cmd, &opts.Output, "text", guardOutputs...)
	for flag, values := range map[string][]string{"stage": guard.Stages, "mode": {"strict", "targeted"}, "skip": config.GuardChecks} {
		values := values
		_ = cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		})
	}
	_ = cmd.RegisterFlagCompletionFunc("base", completeRefs(g))
	_ = cmd.RegisterFlagCompletionFunc("head", completeRefs(g))
	cmd.AddCommand(NewCmdInstallHook(io, g))
	return cmd
}

// evaluateGuard runs a stage of the guard for an opened session; loud
// messages of the ledger go to errw.
func evaluateGuard(ctx context.Context, s *session, errw io.Writer, o guard.Options) (*guard.Report, error) {
	workdir, err := s.workdir()
	if err != nil {
		return nil, err
	}
	if o.Ledger, err = s.ledgerClient(errw); err != nil {
		return nil, err
	}
	o.Repo, o.Config, o.Cache, o.Workdir, o.Context = s.Repo, s.Config, s.Cache, workdir, ctx
	if head, err := s.Repo.Head(); err == nil && o.Head == nil {
		o.Branch = s.branchOf(head)
	}
	rep, err := guard.Run(o)
	var ee *guard.EvalError
	if errors.As(err, &ee) {
		return nil, &ExitError{Code: ExitRepository, Err: err, Hint: ee.Hint}
	}
	return rep, err
}

func guardRun(opts *GuardOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	o := guard.Options{Stage: guard.Stage(opts.Stage), Mode: opts.Mode, Skip: opts.Skip, Fetch: opts.Fetch}
	if opts.Head != "" {
		ref, ok, err := s.Repo.ResolveRevision(opts.Head)
		if err != nil {
			return err
		}
		if !ok {
			return &ExitError{Code: ExitRepository, Err: fmt.Errorf("--head %q: no such commit", opts.Head)}
		}
		// A SHA or an expression names no branch.
		branch, isBranch := strings.CutPrefix(ref.Name, "refs/heads/")
		if !isBranch {
			branch = ""
		}
		o.Head = &git.Head{SHA: ref.SHA, Branch: branch}
	}
	rep, err := evaluateGuard(opts.cmd.Context(), s, opts.IO.Err, o)
	if err != nil {
		return err
	}
	io := opts.IO
	switch opts.Output {
	case "json":
		err = ui.JSON(io.Out, rep)
	case "markdown":
		_, err = fmt.Fprint(io.Out, ui.GuardMarkdown(rep))
	default:
		err = ui.GuardChecklist(io.Out, ui.NewStyles(io.Out, io.Color), rep)
	}
	if err != nil {
		return err
	}
	// Annotations go to stdout, where the runner reads them, unless it
	// carries JSON or Markdown.
	w := io.Out
	if opts.Output != "text" {
		w = io.Err
	}
	s.publish(w, opts.Output, guardCI{rep})
	if !rep.Passed {
		return &silentError{code: ExitCheckFailed}
	}
	return nil
}

// hookMarker identifies hooks atoll wrote; others are never overwritten.
const hookMarker = "# installed by atoll guard install-hook"

var hookScripts = map[string]string{
	// pre-push: guard only pushes to the base branch (a merge done locally).
	"pre-push": `#!/bin/sh
` + hookMarker + `
# Refuses to push to the base branch a commit whose projects were not applied.
base=$(git symbolic-ref -q --short refs/remotes/origin/HEAD 2>/dev/null | sed 's|^origin/||')
base=${base:-main}
while read -r local_ref local_sha remote_ref remote_sha; do
  if [ "$remote_ref" = "refs/heads/$base" ] && [ "$local_sha" != "0000000000000000000000000000000000000000" ]; then
    atoll guard --stage merge --head "$local_sha" </dev/null || exit 1
  fi
done
exit 0
`,
	// pre-merge-commit: a local merge into the base branch.
	"pre-merge-commit": `#!/bin/sh
` + hookMarker + `
# Refuses a local merge into the base branch of a branch that was not applied.
base=$(git symbolic-ref -q --short refs/remotes/origin/HEAD 2>/dev/null | sed 's|^origin/||')
base=${base:-main}
[ "$(git symbolic-ref -q --short HEAD)" = "$base" ] || exit 0
# MERGE_HEAD is written after this hook runs; git merge names the commits
# it merges in GITHEAD_<sha> variables (one per commit of an octopus).
heads=$(env | sed -n 's/^GITHEAD_\([0-9a-f]*\)=.*/\1/p')
if [ -z "$heads" ]; then
  heads=$(git rev-parse -q --verify MERGE_HEAD) || { echo "atoll guard: cannot tell which commit is being merged: not merging" >&2; exit 1; }
fi
for head in $heads; do
  # Already on the remote base (git pull): nothing new to check.
  git merge-base --is-ancestor "$head" "refs/remotes/origin/$base" 2>/dev/null && continue
  atoll guard --stage merge --head "$head" </dev/null || exit 1
done
exit 0
`,
}

// NewCmdInstallHook builds `atoll guard install-hook`.
func NewCmdInstallHook(io *ui.IO, g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "install-hook",
		Short: "Install git hooks that run the merge stage before merging into the base",
		Long: `Install a pre-push hook (for pushes to the base branch) and a pre-merge-commit
hook (for local merges into the base branch) that run atoll guard --stage
merge on the commit being merged. An existing hook that atoll did not write
is never overwritten.

` + ExitCodesHelp,
		Example: "  atoll guard install-hook",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.open(nil)
			if err != nil {
				return err
			}
			defer s.Close()
			dir := s.Repo.HooksDir()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			var refused []string
			for _, name := range []string{"pre-push", "pre-merge-commit"} {
				p := filepath.Join(dir, name)
				if b, err := os.ReadFile(p); err == nil && !strings.Contains(string(b), hookMarker) {
					refused = append(refused, p)
					continue
				}
				if err := os.WriteFile(p, []byte(hookScripts[name]), 0o755); err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "installed %s\n", p)
			}
			if len(refused) > 0 {
				return &ExitError{Code: ExitFailure,
					Err:  fmt.Errorf("not overwriting hooks atoll did not write: %s", strings.Join(refused, ", ")),
					Hint: "add `atoll guard --stage merge` to them yourself, or move them aside and run install-hook again"}
			}
			return nil
		},
	}
}
