package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atoll-tf/atoll/pkg/atlantis"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// NewCmdConfig builds `atoll config`, the parent of the commands about
// atoll's settings.
func NewCmdConfig(io *ui.IO, g *Globals, runF func(*ImportAtlantisOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with atoll's settings (atoll.yaml)",
		Long: `Work with atoll's settings. docs/configuration.md describes atoll.yaml.

` + ExitCodesHelp,
		Example: `  atoll config import-atlantis --out -`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdImportAtlantis(io, g, runF))
	return cmd
}

// ImportAtlantisOptions are the parsed flags of `atoll config import-atlantis`.
type ImportAtlantisOptions struct {
	IO      *ui.IO
	Globals *Globals
	From    string
	Out     string
	Force   bool
}

// NewCmdImportAtlantis builds `atoll config import-atlantis`.
func NewCmdImportAtlantis(io *ui.IO, g *Globals, runF func(*ImportAtlantisOptions) error) *cobra.Command {
	opts := &ImportAtlantisOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "import-atlantis",
		Short: "Write the atoll.yaml equivalent to an atlantis.yaml",
		Long: `Translate Atlantis' repo configuration (atlantis.yaml, version 3) into
atoll.yaml and write it at the repository root.

A repository with an atlantis.yaml and no atoll.yaml already works: atoll
reads its projects and says so. This command writes the equivalent
atoll.yaml so that you can edit it, and lists every key with no atoll
meaning with what to do instead (as comments in the file and on stderr).

  dir, name, workspace         the same keys under projects:
  autoplan.when_modified       watch: globs, made relative to the repository
                               root (globs for the project's own Terraform
                               files are left out: atoll always tracks them)
  depends_on                   depends_on:
  execution_order_group        depends_on: on every project of the
                               preceding group (atoll apply keeps the order)
  workflows, workflow          not used: atoll runs init, plan and apply
                               itself; per-project settings go in .envrc
  apply_requirements           not used: a CI environment approval, and
                               atoll guard as a required status check
  terraform_version            not used: terraform_bin, or tfenv in .envrc

An existing atoll.yaml is kept unless --force is given. --out - writes to
standard output.

` + ExitCodesHelp,
		Example: `  atoll config import-atlantis
  atoll config import-atlantis --out - | less
  atoll config import-atlantis --from ops/atlantis.yaml --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return importAtlantisRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the Atlantis configuration `FILE` (default: atlantis.yaml at the repository root)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "where to write (`FILE`, - for standard output; default: atoll.yaml at the repository root)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing atoll.yaml")
	_ = cmd.MarkFlagFilename("from", "yaml", "yml")
	_ = cmd.MarkFlagFilename("out", "yaml", "yml")
	return cmd
}

func importAtlantisRun(opts *ImportAtlantisOptions) error {
	dir := opts.Globals.Chdir
	if dir == "" {
		dir = "."
	}
	repo, err := git.Open(dir)
	if err != nil {
		return err
	}
	root := repo.Root
	_ = repo.Close()
	from := opts.From
	if from == "" {
		from = filepath.Join(root, atlantis.FileName)
	} else if !filepath.IsAbs(from) {
		from = filepath.Join(dir, from)
	}
	raw, err := safefs.ReadFileFollow(from, 4<<20)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &ExitError{Code: ExitInput, Err: fmt.Errorf("%s: no such file", from), Hint: "run it in a repository with an atlantis.yaml at its root, or name the file with --from FILE"}
		}
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("%s: cannot read: %w", from, err)}
	}
	text, notes, err := config.ImportAtlantis(from, raw)
	if err != nil {
		return err
	}
	// What is written must load as it would have been read.
	if _, err := config.Parse(config.FileName, text); err != nil {
		return fmt.Errorf("the translation of %s is not a valid %s (please report this): %w", from, config.FileName, err)
	}
	io := opts.IO
	styles := ui.NewStyles(io.Err, io.Color)
	for _, n := range notes {
		fmt.Fprintf(io.Err, "%s %s: %s\n", styles.Warning.Render("not carried over:"), filepath.Base(from), n)
	}
	if opts.Out == "-" {
		_, err := io.Out.Write(text)
		return err
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(root, config.FileName)
	} else if !filepath.IsAbs(out) {
		out = filepath.Join(dir, out)
	}
	if _, err := os.Lstat(out); err == nil && !opts.Force {
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("%s exists", out), Hint: "keep it, or replace it with --force (or write elsewhere with --out FILE, --out - for standard output)"}
	}
	if err := safefs.ReplaceFile(out, text, 0o644); err != nil {
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("write %s: %w", out, err)}
	}
	fmt.Fprintf(io.Err, "wrote %s: %d project(s) from %s\n", out, countProjects(text), filepath.Base(from))
	return nil
}

func countProjects(text []byte) int {
	c, err := config.Parse(config.FileName, text)
	if err != nil {
		return 0
	}
	return len(c.Projects)
}
