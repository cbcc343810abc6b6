package git_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func TestCheckRevision(t *testing.T) {
	t.Parallel()
	good := []string{"main", "origin/main", "refs/remotes/origin/main", "HEAD", "HEAD~2", "main^", "main^2~3", "v1.2.3",
		"feature/x-y_z", "abcd", "0123456789abcdef0123456789abcdef01234567", "release-2026.01", "a.b", "@x"}
	for _, rev := range good {
		if err := git.CheckRevision(rev); err != nil {
			t.Errorf("%q: %v", rev, err)
		}
	}
	bad := []string{"", "../../etc/passwd", "a\nb", "a\tb", "a..b", "a...b", "@{-1}", "main@{upstream}", "@", ":", ":/msg",
		"main:conf", "a b", "a?", "a*", "a[b", `a\b`, "-x", "/main", "main/", "a//b", "main.", ".hidden", "a/.b", "main.lock",
		"a/b.lock/c", "main^{tree}", "main^{}", "main~x", "~1", "^", strings.Repeat("a", 5000), strings.Repeat("a/", 600) + "a",
		strings.Repeat("b", 300), "a\x7f", "HEAD~99999999"}
	for _, rev := range bad {
		err := git.CheckRevision(rev)
		var re *git.RevisionError
		if !errors.As(err, &re) {
			t.Errorf("%q: err = %v, want *RevisionError", rev, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 300 {
			t.Errorf("%q: message spans lines or is too long: %q", rev, msg)
		}
	}
}

// ResolveRevision refuses malformed revisions before reading any ref (no
// go-git message reaches the user) and anything that is not a commit.
func TestResolveRevisionRefusesMalformedAndNonCommits(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a.tf": ""})
	r := open(t, s.Work)
	for _, rev := range []string{"../../etc/passwd", "refs/heads/../../x", "a\nb", "main^{tree}", s.Git("rev-parse", "HEAD^{tree}")} {
		_, ok, err := r.ResolveRevision(rev)
		var re *git.RevisionError
		if ok || !errors.As(err, &re) {
			t.Errorf("%q: ok=%v err=%v, want *RevisionError", rev, ok, err)
		}
	}
	for _, rev := range []string{"nope", "HEAD~5", "origin/nope"} {
		if _, ok, err := r.ResolveRevision(rev); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v, want not found", rev, ok, err)
		}
	}
	_, err := r.ResolveBase("../../etc/passwd")
	var re *git.RevisionError
	if !errors.As(err, &re) {
		t.Errorf("ResolveBase: %v", err)
	}
}
