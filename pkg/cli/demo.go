package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/atoll-tf/atoll/pkg/demo"
	"github.com/atoll-tf/atoll/pkg/tf"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// DemoOptions are the parsed flags of `atoll demo`.
type DemoOptions struct {
	IO  *ui.IO
	Dir string
	// FindTerraform finds the binary plan and apply would run; without
	// one the demo stops after atoll changed.
	FindTerraform func() (string, error)

	cmd *cobra.Command
}

// NewCmdDemo builds `atoll demo`.
func NewCmdDemo(io *ui.IO, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: io, FindTerraform: func() (string, error) { return tf.Find("") }}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try atoll in a throw-away sandbox repository",
		Long: `Build a sandbox (a bare origin and a clone with geodesic layout: projects under
conf/, shared local modules under modules/, Terraform built-ins only), make a
feature branch that edits one shared module and one project, and run
atoll changed on it, narrating each step. With Terraform installed, go on:
plan from scratch checkouts, see apply refuse a branch that is behind main,
catch up, plan and apply; see a second branch's apply refused by the first
one's lock; pass atoll guard and merge; see the lock released, the second
branch apply and merge, and atoll status say main == production. State stays
inside the sandbox. The sandbox is kept so you can cd into it and try
commands yourself.

Needs git on PATH; plan and apply need terraform (or tofu).

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
	step := func(say, cmd string) {
		n++
		fmt.Fprintf(io.Out, "\n%s %s\n", s.Bold.Render(fmt.Sprintf("%d.", n)), say)
		if cmd != "" {
			fmt.Fprintf(io.Out, "   %s\n\n", s.Muted.Render("$ "+cmd))
		}
	}
	// The demo always shows tables: it is read by a person.
	tty := *io
	tty.OutTTY = true
	atoll := func(args ...string) int {
		return Run(opts.cmd.Context(), &tty, append([]string{"-C", sb.Work}, args...))
	}
	step("Ask atoll which projects the branch affects, and why.", "atoll changed")
	if code := atoll("changed"); code != ExitOK {
		return &silentError{code: code}
	}
	fmt.Fprintln(io.Out, "\nconf/prod/eks changed on main, not on the branch: it is not listed.\nconf/prod/vpc and conf/staging/vpc are listed through the module chain.")

	workdir := filepath.Join(sb.Root, "atoll-work")
	if _, err := opts.FindTerraform(); err != nil {
		fmt.Fprintf(io.Out, "\nTerraform is not installed, so the demo stops before plan and apply (%v).\n", err)
	} else {
		step("Plan the affected projects, each from a scratch checkout of the branch's commit (never the work tree).", "atoll plan")
		if code := atoll("plan", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		step("Try to apply. main moved on since the branch started, so applying now would make main stop describing production: atoll refuses.", "atoll apply")
		if code := atoll("apply", "--workdir", workdir); code != ExitCheckFailed {
			return fmt.Errorf("the demo expected apply to refuse a branch behind main (exit %d), got exit %d", ExitCheckFailed, code)
		}
		step("Catch up with main, plan again at the new commit, and apply from the branch.", "git merge origin/main && atoll plan && atoll apply")
		if err := demo.CatchUp(sb); err != nil {
			return err
		}
		if code := atoll("plan", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		if code := atoll("apply", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		step("Meanwhile a second branch changes conf/prod/vpc, which production now runs from "+sb.Branch+" (applied, not merged). Its plan warns that it would revert that apply, and its apply is refused: "+sb.Branch+" holds the project's lock, kept in origin's refs/atoll/locks/.",
			"git checkout -b "+demo.SecondBranch+" origin/main && $EDITOR conf/prod/vpc/main.tf && git commit -am 'vpc: a note' && atoll plan && atoll apply")
		if err := demo.StartSecondBranch(sb); err != nil {
			return err
		}
		if code := atoll("plan", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		if code := atoll("apply", "--workdir", workdir); code != ExitCheckFailed {
			return fmt.Errorf("the demo expected apply to refuse the second branch for the lock (exit %d), got exit %d", ExitCheckFailed, code)
		}
		step("Back on the first branch: may it be merged? atoll guard, the required status check, finds it up to date with main, applied at HEAD, and holding its own locks.",
			"git checkout "+sb.Branch+" && atoll guard")
		if err := demo.Checkout(sb, sb.Branch); err != nil {
			return err
		}
		if code := atoll("guard", "--workdir", workdir); code != ExitOK {
			return fmt.Errorf("the demo expected atoll guard to pass the applied branch, got exit %d", code)
		}
		step("The apply succeeded and the guard passed: merge it, and main describes production.", "git checkout main && git merge "+sb.Branch+" && git push")
		if err := demo.Merge(sb, sb.Branch); err != nil {
			return err
		}
		step("The first branch's change is on main, so its locks are stale. Any atoll command that meets a stale lock releases it; atoll locks prune releases them all now.",
			"atoll locks && atoll locks prune && atoll locks")
		for _, args := range [][]string{{"locks"}, {"locks", "prune"}, {"locks"}} {
			if code := atoll(args...); code != ExitOK {
				return &silentError{code: code}
			}
		}
		step("The lock is released: the second branch catches up with main, plans and applies.",
			"git checkout "+demo.SecondBranch+" && git merge origin/main && atoll plan && atoll apply")
		if err := demo.Checkout(sb, demo.SecondBranch); err != nil {
			return err
		}
		if err := demo.CatchUp(sb); err != nil {
			return err
		}
		if code := atoll("plan", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		if code := atoll("apply", "--workdir", workdir); code != ExitOK {
			return &silentError{code: code}
		}
		step("It passes the guard too, and is merged.", "atoll guard && git checkout main && git merge "+demo.SecondBranch+" && git push")
		if code := atoll("guard", "--workdir", workdir); code != ExitOK {
			return fmt.Errorf("the demo expected atoll guard to pass the second branch, got exit %d", code)
		}
		if err := demo.Merge(sb, demo.SecondBranch); err != nil {
			return err
		}
		step("Who applied what, and is main == production?", "atoll history && atoll status")
		if code := atoll("history"); code != ExitOK {
			return &silentError{code: code}
		}
		if code := atoll("status"); code != ExitOK {
			return &silentError{code: code}
		}
	}

	fmt.Fprintf(io.Out, `
The sandbox is at %s (state files in state/, scratch checkouts in atoll-work/).
Try:
  cd %s
  export ATOLL_WORKDIR=%s
  git checkout -b next && echo '# note' >> modules/network/main.tf && git commit -qam note
  atoll changed -v                  # which refs were compared, and why
  atoll changed --output json       # for CI
  atoll projects
  atoll plan --output markdown      # a PR comment
`, sb.Root, sb.Work, workdir)
	return nil
}
