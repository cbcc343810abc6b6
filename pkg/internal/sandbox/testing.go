package sandbox

import (
	"testing"
)

// T wraps a sandbox for a test: every helper fails the test on error.
type T struct {
	tb testing.TB
	*Layout
}

// New creates a sandbox in a temporary directory with files as the first
// commit on main, pushed to origin.
func New(tb testing.TB, files map[string]string) *T {
	tb.Helper()
	l, err := Create(tb.TempDir(), files)
	if err != nil {
		tb.Fatal(err)
	}
	return &T{tb: tb, Layout: l}
}

// Git runs git in the work tree.
func (s *T) Git(args ...string) string {
	s.tb.Helper()
	out, err := Git(s.Work, args...)
	if err != nil {
		s.tb.Fatal(err)
	}
	return out
}

// Write writes files into the work tree.
func (s *T) Write(files map[string]string) {
	s.tb.Helper()
	if err := WriteFiles(s.Work, files); err != nil {
		s.tb.Fatal(err)
	}
}

// Commit writes files, stages everything and commits; returns the SHA.
func (s *T) Commit(msg string, files map[string]string) string {
	s.tb.Helper()
	s.Write(files)
	sha, err := Commit(s.Work, msg)
	if err != nil {
		s.tb.Fatal(err)
	}
	return sha
}

// Push is `git push -q -f origin REFSPEC...` for the sandbox's setup,
// without git's processes (see PushTo).
func (s *T) Push(refspecs ...string) {
	s.tb.Helper()
	if err := PushTo(s.Work, s.Origin, refspecs...); err != nil {
		s.tb.Fatal(err)
	}
}
