package git_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func TestParseHashLengths(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{strings.Repeat("ab", 20): true, "abcd": false, "abc": false, strings.Repeat("ab", 21): false, strings.Repeat("zz", 20): false, "": false} {
		h, got := git.ParseHash(s)
		if got != ok || (ok && h.String() != s) || (!ok && !h.IsZero()) {
			t.Errorf("ParseHash(%q) = %s, %v", s, h, got)
		}
	}
}

func TestSymbolicTargetAndUnknownHashes(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	r := open(t, s.Work)
	branch := s.Git("symbolic-ref", "HEAD")
	if target, ok := r.SymbolicTarget("HEAD"); !ok || target != branch {
		t.Errorf("HEAD -> %q %v, want %s", target, ok, branch)
	}
	for _, name := range []string{branch, "refs/heads/nope"} {
		if target, ok := r.SymbolicTarget(name); ok || target != "" {
			t.Errorf("%s: %q %v, want no symbolic target", name, target, ok)
		}
	}
	// A well-formed SHA the repository does not have names nothing.
	ref, ok, err := r.ResolveRevision(strings.Repeat("e", 40))
	if ok || err != nil {
		t.Errorf("an unknown SHA: %+v %v %v", ref, ok, err)
	}
}

func TestCheckRevisionBounds(t *testing.T) {
	t.Parallel()
	part := func(n int) string { return strings.Repeat("a", n) }
	// 1024 bytes in parts of at most 255: accepted; one more byte is not.
	long := strings.Join([]string{part(255), part(255), part(255), part(254)}, "/") + "/a"
	if len(long) != 1024 {
		t.Fatalf("len %d", len(long))
	}
	if err := git.CheckRevision(long); err != nil {
		t.Errorf("1024 bytes: %v", err)
	}
	var re *git.RevisionError
	if err := git.CheckRevision(long + "a"); !errors.As(err, &re) || !strings.Contains(re.Reason, "longer than 1024 bytes") {
		t.Errorf("1025 bytes: %v", err)
	}
	if err := git.CheckRevision("x/" + part(255)); err != nil {
		t.Errorf("a part of 255 bytes: %v", err)
	}
	if err := git.CheckRevision("x/" + part(256)); !errors.As(err, &re) || !strings.Contains(re.Reason, "longer than 255 bytes") {
		t.Errorf("a part of 256 bytes: %v", err)
	}
	if err := git.CheckRevision("a b"); !errors.As(err, &re) || !strings.Contains(re.Reason, "may not contain a space") {
		t.Errorf("a space: %v", err)
	}
	if err := git.CheckRevision("a\x1fb"); !errors.As(err, &re) || !strings.Contains(re.Reason, "control character") {
		t.Errorf("0x1f: %v", err)
	}
}
