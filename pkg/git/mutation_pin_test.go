package git_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Pins for survivors of the guided mutation run of 2026-12-02 (issue 12):
// behaviours no other test of the package held.

// Each kind of missing base says what was asked for and what was tried: a
// CI variable's branch, an explicit ref, or none of the default names.
func TestBaseNotFoundMessages(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  git.BaseNotFoundError
		want string
	}{
		{git.BaseNotFoundError{Explicit: "main", Var: "GITHUB_BASE_REF", Tried: []string{"a", "b"}},
			`the target branch "main" (GITHUB_BASE_REF) is not in this clone (tried a, b)`},
		{git.BaseNotFoundError{Explicit: "nope", Tried: []string{"refs/heads/nope"}},
			`base ref "nope" does not exist in this repository (tried refs/heads/nope)`},
		{git.BaseNotFoundError{Tried: []string{"origin/main", "main"}},
			`no base branch found (tried origin/main, main)`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.err, got, c.want)
		}
	}
}

// A failed fetch carries git's own message, on one line, not the exit
// status of the git process.
func TestFetchErrorIsGitsMessage(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	err := open(t, s.Work).Fetch("origin", "no-such-branch")
	var fe *git.FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Fetch = %v, want a *git.FetchError", err)
	}
	msg := fe.Err.Error()
	if !strings.HasPrefix(msg, "fatal: ") || !strings.Contains(msg, "no-such-branch") || strings.Contains(msg, "\n") || strings.Contains(msg, "exit status") {
		t.Errorf("FetchError.Err = %q, want git's fatal message on one line", msg)
	}
}

// A path that turns from a file into a directory is a deletion and the
// additions under it, and the diff goes on with the entries after it.
func TestFileTurnedDirectoryDoesNotEndTheDiff(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"a": "file\n", "z.tf": "1\n"})
	base := s.Git("rev-parse", "HEAD")
	s.Git("rm", "-q", "a")
	head := s.Commit("a becomes a directory", map[string]string{"a/x.tf": "x\n", "z.tf": "2\n", "zz.tf": "new\n"})
	r := open(t, s.Work)
	bc, err := r.Commit(hash(t, base))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := r.Commit(hash(t, head))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := r.DiffTrees(bc.Tree, hc.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%v %s", c.Action, c.Path))
	}
	want := fmt.Sprintf("%v a|%v a/x.tf|%v z.tf|%v zz.tf", git.Deleted, git.Added, git.Modified, git.Added)
	if strings.Join(got, "|") != want {
		t.Errorf("DiffTrees = %q, want %q", strings.Join(got, "|"), want)
	}
}

// An unsafe name inside a directory that exists on one side only names
// the commit that holds it: the new one for an added directory, the old
// one for a deleted directory.
func TestUnsafeEntryInADirectoryOnOneSideNamesItsCommit(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "# a\n"})
	base := s.Git("rev-parse", "HEAD")
	conf := s.Git("rev-parse", "HEAD:conf")
	project := s.Git("rev-parse", "HEAD:conf/a")
	root := rawTree(t, s.Work, rawEntry{"40000", "conf", conf}, rawEntry{"40000", "new", rawTree(t, s.Work, rawEntry{"40000", ".git", project})})
	hostile := s.Git("commit-tree", "-p", base, "-m", "hostile", root)
	r := open(t, s.Work)
	bc, err := r.Commit(hash(t, base))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := r.Commit(hash(t, hostile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		a, b git.Hash
	}{{"added", bc.Tree, hc.Tree}, {"deleted", hc.Tree, bc.Tree}} {
		_, err := r.DiffTrees(c.a, c.b)
		var ue *git.UnsafeEntryError
		if !errors.As(err, &ue) || ue.Commit.String() != hostile || ue.Dir != "new" || ue.Name != ".git" {
			t.Errorf("%s directory: err = %v (%+v), want the entry .git in new of commit %s", c.what, err, ue, hostile[:8])
		}
	}
}

// HooksDir trusts the git binary's answer only when git succeeded: a git
// that fails (too old for --path-format, say) gives way to the
// repository's own configuration.
func TestHooksDirIgnoresAFailedGit(t *testing.T) {
	s := sandbox.New(t, map[string]string{"f": ""})
	s.Git("config", "core.hooksPath", "my-hooks")
	r := open(t, s.Work)
	bin := t.TempDir()
	if err := sandbox.WriteExecutable(filepath.Join(bin, "git"), []byte("#!/bin/sh\necho /not/the/hooks\nexit 1\n")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	if got, want := r.HooksDir(), filepath.Join(s.Work, "my-hooks"); got != want {
		t.Errorf("HooksDir with a failing git = %q, want %q", got, want)
	}
}
