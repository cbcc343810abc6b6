package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/atoll-tf/atoll/pkg/atlantis"
	"github.com/atoll-tf/atoll/pkg/bundle"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/ui"
)

// Exit codes. This table is the one place they are defined; README.md and
// every command's help show it.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitChanges     = 2 // --exit-code / --detailed-exitcode: something to do
	ExitCheckFailed = 3 // a guard check failed, or apply refused (policy)
	ExitUsage       = 4
	ExitInput       = 5
	ExitRepository  = 6
	ExitInterrupted = 130
)

// ExitCodesHelp is the exit-code table shown in help.
const ExitCodesHelp = `Exit codes:
  0    success
  1    unexpected error
  2    --exit-code: projects are affected
  3    a check failed: atoll guard, or apply refused a project or a bundle
  4    usage error: unknown flag, bad argument, unknown project
  5    invalid input: atoll.yaml, Terraform files, module graph, a
       damaged bundle
  6    repository problem or a check that could not be evaluated: not a
       repository, base ref missing, shallow clone, unrelated histories,
       unreachable remote (--fetch), damaged record, an apply that
       never finished, locks or ledger entries the remote would not
       read or accept
  130  interrupted (Ctrl-C)`

// ExitError is an error with its exit code and a hint on how to fix it.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a bad command line; usage is printed with it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef builds a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// classify maps an error to its exit code and a hint.
func classify(err error) (code int, hint string) {
	var (
		ee      *ExitError
		ue      *UsageError
		cfgErr  *config.Error
		atlErr  *atlantis.Error
		synErr  *project.SyntaxError
		prjErr  *project.Error
		baseErr *git.BaseNotFoundError
		shallow *git.ShallowError
		revErr  *git.RevisionError
		ctlPath *git.ControlCharPathError
		unsafe  *git.UnsafeEntryError
		remote  *ledger.RemoteError
		locked  *ledger.LockedError
		holder  *ledger.NotHolderError
		format  *ledger.FormatError
		badBndl *bundle.InvalidError
		misBndl *bundle.MismatchError
	)
	switch {
	case errors.As(err, &ee):
		return ee.Code, ee.Hint
	case errors.As(err, &ue):
		return ExitUsage, ""
	case errors.As(err, &badBndl):
		return ExitInput, badBndl.Hint()
	case errors.As(err, &misBndl):
		return ExitCheckFailed, misBndl.Hint()
	case errors.As(err, &locked):
		return ExitCheckFailed, "wait until that branch is merged (its lock is then released), or agree with its holder; atoll locks lists every lock, atoll unlock --force REASON releases one"
	case errors.As(err, &holder):
		return ExitCheckFailed, "only the holder's branch releases its lock; to release it anyway, give a reason (kept in the ledger): atoll unlock --force REASON PROJECT"
	case errors.As(err, &remote):
		return ExitRepository, "locks and the apply ledger live in the remote's refs/atoll/: check the network, the remote's URL (git remote -v) and your credentials (does git ls-remote work?), then run the command again"
	case errors.As(err, &format):
		return ExitRepository, "look at that ref with git log; it was not written by this version of atoll"
	case errors.As(err, &cfgErr):
		return ExitInput, "fix that setting; docs/configuration.md describes every key"
	case errors.As(err, &atlErr):
		return ExitInput, "fix that entry of atlantis.yaml (atoll reads its projects because the repository has no atoll.yaml), or write an atoll.yaml: docs/configuration.md#coming-from-atlantis"
	case errors.As(err, &synErr):
		return ExitInput, "fix the syntax at that position; `terraform validate` in that directory shows the same problem"
	case errors.As(err, &prjErr):
		return ExitInput, prjErr.Hint
	case errors.As(err, &revErr):
		return ExitUsage, git.RevisionHelp
	case errors.As(err, &baseErr):
		if baseErr.Explicit != "" && strings.ContainsAny(baseErr.Explicit, "~^") {
			return ExitRepository, "that revision names no commit here: check the count after ~ or ^ (in a shallow clone, fetch more history: git fetch --deepen=100)"
		}
		if baseErr.Explicit != "" {
			return ExitRepository, fmt.Sprintf("check the name, or fetch it: git fetch origin %s", strings.TrimPrefix(baseErr.Explicit, "origin/"))
		}
		return ExitRepository, "fetch the base branch (git fetch origin main), or name it: --base REF, ATOLL_BASE or base: in atoll.yaml"
	case errors.As(err, &shallow):
		return ExitRepository, "fetch the missing history: git fetch --deepen=100 (repeat as needed) or git fetch --unshallow; in GitHub Actions use actions/checkout with fetch-depth: 0"
	case errors.As(err, &ctlPath):
		return ExitInput, "rename it (git mv, or mv for an untracked file), or leave out --uncommitted (or --from-worktree)"
	case errors.As(err, &unsafe):
		return ExitRepository, "git add and git checkout never make such an entry (git fsck reports it): drop the commit from the branch and rebuild it from a normal checkout"
	case errors.Is(err, git.ErrUnrelated):
		return ExitRepository, "HEAD and the base have no common commit: check --base names the right branch"
	case errors.Is(err, git.ErrNoCommits):
		return ExitRepository, "commit something first: atoll compares commits"
	case errors.Is(err, git.ErrNotRepository):
		return ExitRepository, "run atoll inside a git repository, or point at one with -C DIR"
	}
	return ExitFailure, ""
}

// printError writes "error: ...", details and a hint to w.
func printError(w io.Writer, s *ui.Styles, err error, hint string) {
	msg := err.Error()
	// Several errors (one per failing project or file) print one per line.
	lines := strings.Split(msg, "\n")
	fmt.Fprintf(w, "%s %s\n", s.Error.Render("error:"), lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(w, "%s %s\n", s.Error.Render("error:"), l)
	}
	if hint != "" {
		fmt.Fprintf(w, "%s %s\n", s.Muted.Render("hint:"), hint)
	}
}
