// Package cli holds atoll's cobra commands. Each command parses and
// validates its flags into an Options struct and hands it to a run function
// that does the work; the work itself lives in the domain packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/atoll-tf/atoll/pkg/build"
	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/ci"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/atoll-tf/atoll/pkg/workspace"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Main runs atoll with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, ui.System(), os.Args[1:]) }()
	select {
	case code := <-done:
		return code
	case <-abort:
		// A second Ctrl-C: return at once; main exits, and Terraform,
		// started with a parent-death signal, is killed with it.
		return ExitInterrupted
	}
}

// abort is closed by a second Ctrl-C (see watchInterrupts).
var (
	abort     = make(chan struct{})
	abortOnce sync.Once
)

// Run executes one command line and returns its exit code.
func Run(ctx context.Context, io *ui.IO, args []string) int {
	root, g := newRootCmd(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	s := ui.NewStyles(io.Err, io.Color)
	if ctx.Err() != nil {
		printError(io.Err, s, errors.New("interrupted"), "")
		return ExitInterrupted
	}
	var se *silentError
	if errors.As(err, &se) {
		return se.code
	}
	code, hint := classify(err)
	cobraUsage := code == ExitFailure && isCobraUsage(err)
	if cobraUsage {
		code = ExitUsage
	}
	// The CI, when it could be told, gets the error on the file it is
	// about, and a hint in its own terms.
	if e, cerr := g.ciEnv(); cerr == nil && e.Active() {
		hint = ciHint(e, err, hint)
		if a, ok := errorAnnotation(err, g.root); ok {
			e.Annotate(io.Err, []ci.Annotation{a})
		}
	}
	printError(io.Err, s, err, hint)
	// The usage text helps with the shape of the command line (an unknown
	// flag, a wrong number of arguments), not with a value it holds: an
	// unknown project or a malformed ref gets its hint alone.
	var ue *UsageError
	if (cobraUsage || errors.As(err, &ue)) && cmd != nil {
		fmt.Fprintf(io.Err, "\n%s", cmd.UsageString())
	}
	return code
}

// silentError carries an exit code whose story was already told on screen.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// isCobraUsage recognises the errors cobra itself returns for bad command
// lines (unknown commands, wrong argument counts).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "invalid argument", "unknown flag", "unknown shorthand flag", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// Globals are the flags every command has.
type Globals struct {
	Chdir      string
	ConfigFile string
	NoCache    bool
	// CI is --ci: auto, github, gitlab or none ("": ATOLL_CI, else auto).
	CI string

	// io is where open prints what the user should know about the
	// configuration it read (settings imported from atlantis.yaml).
	io *ui.IO
	// ci is the CI environment, once read; root the repository's root,
	// once opened (for annotations of errors).
	ci   *ci.Env
	root string
}

// NewRootCmd builds the command tree.
func NewRootCmd(io *ui.IO) *cobra.Command {
	root, _ := newRootCmd(io)
	return root
}

func newRootCmd(io *ui.IO) (*cobra.Command, *Globals) {
	g := &Globals{io: io}
	root := &cobra.Command{
		Use:   "atoll",
		Short: "Apply-before-merge Terraform for monorepos",
		Long: `atoll makes "apply before merge" Terraform work safe in a monorepo.

Terraform has no rollback, so merging first and applying after lets main drift
from production. atoll serves the other order: branch, plan, get approval,
apply from the branch, and merge only when the apply succeeded.

  atoll changed    which projects this branch affects, and why
  atoll plan       plan them from a scratch checkout of HEAD
  atoll apply      apply those plans, in dependency order, before merging
  atoll guard      may this branch be merged? (main == production)
  atoll status     is main == production? per project, from the ledger
  atoll drift      does production differ from main? plans main's head
  atoll locks      project locks (atoll lock, atoll unlock), in the remote
  atoll history    who applied what, when, with what result
  atoll projects   the Terraform root projects atoll sees
  atoll env        the environment and arguments a project runs with
  atoll config     settings: import an atlantis.yaml
  atoll demo       try it all in a throw-away sandbox

` + ExitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       build.Version,
	}
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	root.SetVersionTemplate("atoll {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVarP(&g.Chdir, "chdir", "C", "", "run as if atoll was started in `DIR`")
	pf.StringVar(&g.ConfigFile, "config", "", "configuration `FILE` (default: atoll.yaml at the repository root)")
	pf.BoolVar(&g.NoCache, "no-cache", false, "do not read or write atoll's cache (also ATOLL_NO_CACHE=1)")
	pf.Var(ciModeValue{&g.CI}, "ci", "CI integration `MODE`: auto (GitHub Actions and GitLab CI are recognised), github, gitlab or none (also ATOLL_CI)")
	_ = root.RegisterFlagCompletionFunc("ci", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return ci.Modes, cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")
	_ = root.MarkPersistentFlagDirname("chdir")

	root.AddCommand(
		NewCmdChanged(io, g, nil),
		NewCmdProjects(io, g, nil),
		NewCmdEnv(io, g, nil),
		NewCmdPlan(io, g, nil),
		NewCmdApply(io, g, nil),
		NewCmdClean(io, g, nil),
		NewCmdGuard(io, g, nil),
		NewCmdLock(io, g, nil),
		NewCmdUnlock(io, g, nil),
		NewCmdLocks(io, g, nil),
		NewCmdHistory(io, g, nil),
		NewCmdStatus(io, g, nil),
		NewCmdConfig(io, g, nil),
		NewCmdDrift(io, g, nil),
		NewCmdDemo(io, nil),
		NewCmdVersion(io),
	)
	return root, g
}

// session is an opened repository with its configuration and cache.
type session struct {
	Repo   *git.Repo
	Config *config.Config
	Cache  *cache.Store
	// Cwd is the absolute directory atoll runs in (-C DIR when given):
	// project arguments written as paths are relative to it.
	Cwd    string
	ledger *ledger.Client
	// CI is the CI atoll runs in (System none outside CI).
	CI ci.Env
	// headNote says why the head examined is not HEAD (GitHub's merge
	// commit), for JSON output; empty when it is HEAD.
	headNote string
	// deepened: --fetch fetched the whole history of the base already.
	deepened bool
	errw     io.Writer
	// who is identity's answer, asked of git once per run.
	who     ledger.Identity
	whoOnce sync.Once
}

// workdir resolves the root of scratch checkouts and records.
func (s *session) workdir() (string, error) {
	dir, err := workspace.Resolve(s.Config.Workdir)
	if err != nil {
		return "", &ExitError{Code: ExitInput, Err: err, Hint: "set --workdir, ATOLL_WORKDIR or workdir: in atoll.yaml to a writable directory outside the repository"}
	}
	// Whatever atoll and Terraform create from here on (checkouts, plans,
	// records, logs, state files) is the current user's alone.
	syscall.Umask(0o077)
	if err := workspace.SecureWorkdir(dir); err != nil {
		var np *safefs.NotPrivateError
		if errors.As(err, &np) {
			return "", &ExitError{Code: ExitInput, Err: err, Hint: np.Fix}
		}
		var we *workspace.WorkdirError
		if errors.As(err, &we) {
			return "", &ExitError{Code: ExitInput, Err: err, Hint: we.Hint()}
		}
		return "", &ExitError{Code: ExitInput, Err: fmt.Errorf("workdir %s: %w", dir, err), Hint: "set --workdir, ATOLL_WORKDIR or workdir: in atoll.yaml to a writable directory outside the repository"}
	}
	return dir, nil
}

// Close releases the repository.
func (s *session) Close() error {
	_ = s.Cache.Flush() // what a scan left being written
	return s.Repo.Close()
}

// open finds the repository, loads the configuration (flags bound from fs)
// and opens the cache.
func (g *Globals) open(fs *pflag.FlagSet) (*session, error) {
	e, err := g.ciEnv()
	if err != nil {
		return nil, err
	}
	dir := g.Chdir
	if dir == "" {
		dir = "."
	}
	repo, err := git.Open(dir)
	if err != nil {
		return nil, err
	}
	g.root = repo.Root
	file := g.ConfigFile
	if file != "" && !filepath.IsAbs(file) && g.Chdir != "" {
		file = filepath.Join(g.Chdir, file) // relative to -C, like everything else
	}
	cfg, err := config.Load(repo.Root, file, fs)
	if err != nil {
		_ = repo.Close()
		return nil, err
	}
	cwd, err := filepath.Abs(dir)
	if err != nil {
		_ = repo.Close()
		return nil, err
	}
	if sum := cfg.ImportSummary(); sum != "" && g.io != nil {
		fmt.Fprintf(g.io.Err, "%s %s\n", ui.NewStyles(g.io.Err, g.io.Color).Muted.Render("note:"), sum)
	}
	s := &session{Repo: repo, Config: cfg, Cwd: cwd, CI: e, errw: io.Discard}
	if g.io != nil {
		s.errw = g.io.Err
	}
	if !g.NoCache && !truthy(os.Getenv("ATOLL_NO_CACHE")) {
		s.Cache = cache.Open(scan.CacheDir(repo), cacheVersion())
	}
	if err := s.adoptCI(context.Background(), fs); err != nil {
		_ = repo.Close()
		return nil, err
	}
	return s, nil
}

// cacheVersion identifies the build that writes the cache, so that no
// build trusts entries another wrote. Release builds carry their version;
// development builds are told apart by their executable's size and time.
func cacheVersion() string {
	v := build.Version + "+" + build.Commit
	if build.Version == "dev" {
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				v += fmt.Sprintf("+%d-%d", fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return v
}

func truthy(v string) bool {
	return v != "" && v != "0" && v != "false"
}

// outputFlag registers -o/--output with completion of its values.
func outputFlag(cmd *cobra.Command, p *string, def string, values ...string) {
	cmd.Flags().StringVarP(p, "output", "o", def, "output `FORMAT`: "+strings.Join(values, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	})
}

func checkOutput(v string, values ...string) error {
	for _, x := range values {
		if v == x {
			return nil
		}
	}
	return usagef("--output %q is not one of %s", v, strings.Join(values, ", "))
}
