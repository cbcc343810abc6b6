package git

import (
	"fmt"
	"strings"
)

// RevisionError says a revision a user gave is not one atoll reads: it is
// malformed, so no repository can hold it, or it names something that is
// not a commit.
type RevisionError struct {
	Rev    string
	Reason string
}

func (e *RevisionError) Error() string {
	return fmt.Sprintf("%s is not a revision: %s", quoteRevision(e.Rev), e.Reason)
}

// quoteRevision quotes rev for a message, control characters escaped and
// a very long one cut.
func quoteRevision(rev string) string {
	if len(rev) > 60 {
		return fmt.Sprintf("%q... (%d bytes)", rev[:60], len(rev))
	}
	return fmt.Sprintf("%q", rev)
}

// RevisionHelp says what atoll accepts where it asks for a revision.
const RevisionHelp = "give a branch (main, origin/main), a tag, a commit SHA or HEAD, optionally followed by ~N or ^N"

const (
	maxRevision  = 1024
	maxComponent = 255 // a loose ref is a file: one name per path component
)

// CheckRevision reports whether rev is a revision atoll accepts: a ref
// name as git check-ref-format allows it (one level allowed), a commit SHA
// or HEAD, followed by any number of ~N and ^N. It reads no repository:
// a malformed revision is a usage error wherever it was given, and a well
// formed one that does not resolve is a missing ref.
func CheckRevision(rev string) error {
	bad := func(reason string) error { return &RevisionError{Rev: rev, Reason: reason} }
	if rev == "" {
		return bad("it is empty")
	}
	if len(rev) > maxRevision {
		return bad(fmt.Sprintf("it is longer than %d bytes", maxRevision))
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f {
			return bad("it contains a control character (a newline or tab?)")
		}
	}
	name, suffix := rev, ""
	if i := strings.IndexAny(rev, "~^"); i >= 0 {
		name, suffix = rev[:i], rev[i:]
	}
	if err := checkSuffix(suffix); err != "" {
		return bad(err)
	}
	// A commit SHA (full or abbreviated) is a well-formed ref name too: the
	// checks below accept it, and resolving tells the two apart.
	if name == "HEAD" {
		return nil
	}
	if name == "" {
		return bad("it has no name before ~ or ^")
	}
	if name == "@" {
		return bad("write HEAD for the current commit")
	}
	if strings.Contains(name, "@{") {
		return bad("@{...} expressions (reflog entries, @{upstream}, @{-1}) are not supported: name the branch or commit")
	}
	if strings.Contains(name, "..") {
		return bad("a ref name may not contain \"..\" (a range such as a..b is not one commit)")
	}
	if strings.ContainsAny(name, " :?*[\\") {
		return bad("a ref name may not contain a space or any of : ? * [ \\")
	}
	if strings.HasPrefix(name, "-") {
		return bad("a ref name may not begin with -")
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return bad("a ref name may not begin or end with / or contain //")
	}
	if strings.HasSuffix(name, ".") {
		return bad("a ref name may not end with .")
	}
	for _, c := range strings.Split(name, "/") {
		if strings.HasPrefix(c, ".") {
			return bad("no part of a ref name may begin with .")
		}
		if strings.HasSuffix(c, ".lock") {
			return bad("no part of a ref name may end with .lock")
		}
		if len(c) > maxComponent {
			return bad(fmt.Sprintf("a part of it is longer than %d bytes", maxComponent))
		}
	}
	return nil
}

// checkSuffix accepts a sequence of ~, ~N, ^ and ^N.
func checkSuffix(s string) string {
	for i := 0; i < len(s); {
		if s[i] != '~' && s[i] != '^' {
			return "after ~ or ^ only a number may follow (HEAD~2, main^2)"
		}
		i++
		if i < len(s) && s[i] == '{' {
			return "^{...} expressions are not supported: name a commit"
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i-start > 6 {
			return "the number after ~ or ^ is too large"
		}
	}
	return ""
}
