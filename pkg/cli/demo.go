package cli

import (
	"fmt"
	"os"

	"github.com/atoll-tf/atoll/pkg/demo"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// DemoOptions are the parsed flags of `atoll demo`.
type DemoOptions struct {
	IO  *ui.IO
	Dir string

	cmd *cobra.Command
}

// NewCmdDemo builds `atoll demo`.
func NewCmdDemo(io *ui.IO, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try atoll in a throw-away sandbox repository",
		Long: `Build a sandbox (a bare origin and a clone with geodesic layout: projects under
conf/, shared local modules under modules/, Terraform built-ins only), make a
feature branch that edits one shared module and one project, and run
atoll changed on it, narrating each step. The sandbox is kept so you can cd
into it and try commands yourself.

Needs git on PATH.

` + ExitCodesHelp,
		Example: `  atoll demo
  atoll demo --dir /tmp/atoll-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.cmd = cmd
			if runF != nil {
				return runF(opts)
			}
			return demoRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "create the sandbox in `DIR` (default: a new temporary directory)")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

func demoRun(opts *DemoOptions) error {
	io := opts.IO
	s := ui.NewStyles(io.Out, io.Color)
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "atoll-demo-"); err != nil {
			return err
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return usagef("--dir %s is not empty: give a new or empty directory", dir)
	}
	n := 0
	sb, err := demo.Build(dir, func(st demo.Step) {
		n++
		fmt.Fprintf(io.Out, "%s %s\n", s.Bold.Render(fmt.Sprintf("%d.", n)), st.Say)
		if st.Cmd != "" {
			fmt.Fprintf(io.Out, "   %s\n", s.Muted.Render("$ "+st.Cmd))
		}
	})
	if err != nil {
		return err
	}
	n++
	fmt.Fprintf(io.Out, "%s Ask atoll which projects the branch affects, and why.\n   %s\n\n", s.Bold.Render(fmt.Sprintf("%d.", n)), s.Muted.Render("$ atoll changed"))
	// The demo always shows the table: it is read by a person.
	tty := *io
	tty.OutTTY = true
	if code := Run(opts.cmd.Context(), &tty, []string{"-C", sb.Work, "changed"}); code != ExitOK {
		return &silentError{code: code}
	}
	fmt.Fprintf(io.Out, `
conf/prod/eks changed on main, not on the branch: it is not listed.
conf/prod/vpc and conf/staging/vpc are listed through the module chain.

The sandbox is at %s
Try:
  cd %s
  atoll changed -v                  # which refs were compared, and why
  atoll changed --output json       # for CI
  for p in $(atoll changed); do echo "plan $p"; done
  atoll projects
`, sb.Root, sb.Work)
	return nil
}
