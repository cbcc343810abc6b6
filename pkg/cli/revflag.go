package cli

import (
	"errors"
	"fmt"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/spf13/pflag"
)

// revisionValue is a flag that takes a revision (--base, --head, --rev):
// a malformed one is refused while the command line is parsed, in atoll's
// words, before any repository is read.
type revisionValue struct{ p *string }

func (v revisionValue) String() string { return *v.p }
func (v revisionValue) Type() string   { return "string" }
func (v revisionValue) Set(s string) error {
	if err := git.CheckRevision(s); err != nil {
		return err
	}
	*v.p = s
	return nil
}

// revisionFlag defines a revision-taking flag on fs.
func revisionFlag(fs *pflag.FlagSet, p *string, name, value, usage string) {
	*p = value
	fs.Var(revisionValue{p}, name, usage)
}

// flagError turns a malformed revision given to a flag into a usage error
// that names the flag and says what is accepted; other flag errors print
// usage.
func flagError(err error) error {
	var ive *pflag.InvalidValueError
	var re *git.RevisionError
	if errors.As(err, &ive) && errors.As(err, &re) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--%s: %w", ive.GetFlag().Name, re), Hint: git.RevisionHelp}
	}
	return &UsageError{Err: err}
}
