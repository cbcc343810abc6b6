package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

var projectsOutputs = []string{"text", "json"}

// ProjectsOptions are the parsed flags of `atoll projects`.
type ProjectsOptions struct {
	IO          *ui.IO
	Globals     *Globals
	Rev         string
	Output      string
	Uncommitted bool
	Projects    []string

	cmd *cobra.Command
}

// NewCmdProjects builds `atoll projects`.
func NewCmdProjects(io *ui.IO, g *Globals, runF func(*ProjectsOptions) error) *cobra.Command {
	opts := &ProjectsOptions{IO: io, Globals: g}
	cmd := &cobra.Command{
		Use:   "projects [PROJECT...]",
		Short: "List the Terraform root projects and the local modules they use",
		Long: `List the Terraform root projects atoll finds, as configured.

A project is a directory under the project roots (default: conf/ when the
repository has one, else the whole repository) that holds *.tf, *.tf.json or
*.tofu files, or whose direnv files (.envrc, and the *.envrc files it sources
with "use envrc") set TF_CLI_INIT_FROM_MODULE or TF_FROM_MODULE, or that
atoll.yaml declares. A directory used as a local module source by another
directory is a module, not a project, unless atoll.yaml declares it.

Projects are read from the committed tree of --rev (default HEAD), never from
uncommitted edits unless --uncommitted is given.

` + ExitCodesHelp,
		Example: `  atoll projects
  atoll projects --output json | jq -r '.projects[].name'
  atoll projects conf/prod/vpc --output json   # one project and its modules`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output, projectsOutputs...); err != nil {
				return err
			}
			if opts.Uncommitted && cmd.Flags().Changed("rev") {
				return usagef("--uncommitted describes the work tree on top of HEAD; it cannot be combined with --rev")
			}
			opts.Projects, opts.cmd = args, cmd
			if runF != nil {
				return runF(opts)
			}
			return projectsRun(opts)
		},
		ValidArgsFunction: completeProjects(g),
	}
	revisionFlag(cmd.Flags(), &opts.Rev, "rev", "HEAD", "commit, branch or tag to read the projects from")
	cmd.Flags().BoolVar(&opts.Uncommitted, "uncommitted", false, "read the work tree (with uncommitted edits) instead of HEAD")
	outputFlag(cmd, &opts.Output, "text", projectsOutputs...)
	_ = cmd.RegisterFlagCompletionFunc("rev", completeRefs(g))
	return cmd
}

func projectsRun(opts *ProjectsOptions) error {
	s, err := opts.Globals.open(opts.cmd.Flags())
	if err != nil {
		return err
	}
	defer s.Close()
	ref, ok, err := s.Repo.ResolveRevision(opts.Rev)
	if err != nil {
		return err
	}
	if !ok {
		return &ExitError{Code: ExitRepository, Err: fmt.Errorf("--rev %q: no such commit, branch or tag", opts.Rev), Hint: "check the name, or fetch it"}
	}
	g, err := scan.Projects(s.Repo, s.Config, ref.SHA, scan.Options{Cache: s.Cache, Uncommitted: opts.Uncommitted})
	if err != nil {
		return err
	}
	sel, err := selectProjects(s, g, opts.Projects)
	if err != nil {
		return err
	}
	if sel != nil {
		kept := g.Projects[:0:0]
		for _, p := range g.Projects {
			if sel[p.Dir] {
				kept = append(kept, p)
			}
		}
		g.Projects = kept
	}
	if g.Warnings == nil {
		g.Warnings = []string{}
	}
	io := opts.IO
	styles := ui.NewStyles(io.Err, io.Color)
	for _, w := range g.Warnings {
		fmt.Fprintf(io.Err, "%s %s\n", styles.Warning.Render("warning:"), w)
	}
	switch {
	case opts.Output == "json":
		return ui.JSON(io.Out, struct {
			Rev string `json:"rev"`
			SHA string `json:"sha"`
			*project.Graph
		}{opts.Rev, ref.SHA.String(), g})
	case io.OutTTY:
		return ui.ProjectsTable(io.Out, ui.NewStyles(io.Out, io.Color), g, s.Config.Committed())
	default:
		for _, p := range g.Projects {
			fmt.Fprintln(io.Out, p.Dir)
		}
		return nil
	}
}

// projectStub stands for a deleted project, which exists only at the base.
func projectStub(p affected.Project) project.Project {
	return project.Project{Name: p.Name, Dir: p.Dir}
}

// completeRefs completes branch and remote-branch names.
func completeRefs(g *Globals) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		s, err := g.open(nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer s.Close()
		names, err := s.Repo.Branches()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
