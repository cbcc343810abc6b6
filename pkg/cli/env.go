package cli

import (
	"context"
	"fmt"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

var envOutputs = []string{"text", "json"}

// EnvOptions are the parsed flags of `atoll env`.
type EnvOptions struct {
	IO      *ui.IO
	Globals *Globals
	Project string
	Workdir string
	Output  string

	cmd *cobra.Command
}

// NewCmdEnv builds `atoll env`.
func NewCmdEnv(io *ui.IO, g *Globals, runF func(*EnvOptions) error) *cobra.Command {
	opts := &EnvOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "env PROJECT",
		Short: "Show the environment and Terraform arguments a project runs with",
		Long: `Show the environment atoll gives a project's Terraform, and the arguments
init, plan and apply get from it, as atoll plan would: in a scratch checkout
of HEAD, starting from your environment with direnv's changes for your
directory undone and project-specific Terraform settings (TF_CLI_ARGS*,
TF_CLI_<COMMAND>_*, TF_DATA_DIR, TF_WORKSPACE, ...) dropped unless env.pass
keeps them, then with what the project's .envrc gives under direnv.

Values of secret-looking names (*SECRET*, *TOKEN*, *PASSWORD*, ...) are
masked. A * marks the variables the .envrc set. Compare with your shell's
env in /conf/<project>; docs/geodesic.md explains the differences.

` + ExitCodesHelp,
		Example: `  atoll env conf/acm
  atoll env acm --output json | jq -r '.args.init[]'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output, envOutputs...); err != nil {
				return err
			}
			opts.Project, opts.cmd = args[0], cmd
			if runF != nil {
				return runF(opts)
			}
			return envRun(cmd.Context(), opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	cmd.Flags().StringVar(&opts.Workdir, "workdir", "", "root `DIR` of scratch checkouts and plan records (ATOLL_WORKDIR; default /localhost/.atoll or ~/.cache/atoll)")
	outputFlag(cmd, &opts.Output, "text", envOutputs...)
	_ = cmd.MarkFlagDirname("workdir")
	return cmd
}

func envRun(ctx context.Context, opts *EnvOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	head, err := s.Repo.Head()
	if err != nil {
		return err
	}
	g, err := scan.Projects(s.Repo, s.Config, head.SHA, scan.Options{Cache: s.Cache})
	if err != nil {
		return err
	}
	sel, err := selectProjects(s, g, []string{opts.Project})
	if err != nil {
		return err
	}
	workdir, err := s.workdir()
	if err != nil {
		return err
	}
	o := &runner.Options{Repo: s.Repo, Config: s.Config, Comparison: git.Comparison{Head: head}, Workdir: workdir}
	for _, p := range g.Projects {
		if !sel[p.Dir] {
			continue
		}
		rep, err := runner.EnvOf(ctx, o, p)
		if err != nil {
			return envError(err)
		}
		if opts.Output == "json" {
			return ui.JSON(opts.IO.Out, rep)
		}
		return ui.EnvText(opts.IO.Out, ui.NewStyles(opts.IO.Out, opts.IO.Color), rep)
	}
	return &ExitError{Code: ExitInput, Err: fmt.Errorf("%s: no such project at HEAD", opts.Project), Hint: "atoll projects lists them"}
}

// envError gives an environment that could not be made its exit code: a
// failing .envrc is bad input, a missing direnv the machine's problem.
func envError(err error) error {
	hint, input := runner.EnvHint(err)
	code := ExitFailure
	if input {
		code = ExitInput
	}
	return &ExitError{Code: code, Err: err, Hint: hint}
}
