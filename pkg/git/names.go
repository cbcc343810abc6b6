package git

import (
	"fmt"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// UnsafeEntryError says a commit's tree holds an entry whose name cannot
// safely become a path: "..", ".", a name of the git directory, an empty
// name, one with a slash or NUL, or a name twice in one tree. git add and
// git checkout never produce such trees (git fsck reports them, e.g. as
// hasDotdot), but git mktree and hash-object can, and a soft reset or a
// no-checkout clone reaches them.
type UnsafeEntryError struct {
	// Commit is the commit whose tree holds the entry (zero when unknown).
	Commit Hash
	// Dir is the slash path of the tree holding the entry ("" at the root).
	Dir string
	// Name is the entry's name as stored; empty when the tree object
	// itself cannot be decoded (Why says so).
	Name string
	Why  string
	// side is 1 or 2 when a diff found the entry in its first or second tree.
	side int
}

func (e *UnsafeEntryError) Error() string {
	where := "a tree"
	if !e.Commit.IsZero() {
		where = "commit " + e.Commit.Short()
	}
	dir := e.Dir
	if dir == "" {
		dir = "the root directory"
	}
	what := fmt.Sprintf("an unsafe tree entry %q", e.Name)
	if e.Name == "" && e.Why != whyEmpty {
		what = "a malformed tree"
	}
	return fmt.Sprintf("%s holds %s in %s: %s; atoll refuses to read a commit whose entries could become paths outside their directory", where, what, dir, e.Why)
}

const whyEmpty = "the name is empty"

// unsafeName says why a tree entry name cannot become a path component,
// or "" when it can.
func unsafeName(name string) string {
	if name == "" {
		return whyEmpty
	}
	if name == "." || name == ".." {
		return fmt.Sprintf("%q would not name a file inside the directory", name)
	}
	if strings.ContainsAny(name, "/\x00") {
		return "the name contains a slash or a NUL byte"
	}
	if isGitDir(name) {
		return "the name is, or on some file systems means, .git"
	}
	return ""
}

// isGitDir reports names that are, or that case-insensitive file systems
// read as, ".git": any case, with the characters HFS+ ignores, with the
// trailing dots and spaces and the alternate data stream NTFS ignores, and
// NTFS's short name GIT~1.
func isGitDir(name string) bool {
	n := strings.Map(func(r rune) rune {
		if r >= 0x200c && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x206a && r <= 0x206f || r == 0xfeff {
			return -1
		}
		return r
	}, strings.ToLower(name))
	n, _, _ = strings.Cut(n, ":")
	n = strings.TrimRight(n, ". ")
	return n == ".git" || n == "git~1"
}

// validTree checks every entry name of t; dir is only for the message.
func validTree(t *object.Tree) error {
	seen := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		if why := unsafeName(e.Name); why != "" {
			return &UnsafeEntryError{Name: e.Name, Why: why}
		}
		if seen[e.Name] {
			return &UnsafeEntryError{Name: e.Name, Why: "the name appears twice in one directory"}
		}
		seen[e.Name] = true
	}
	return nil
}

// validPath reports whether every component of a slash path is a safe name.
func validPath(p string) bool {
	for c := range strings.SplitSeq(p, "/") {
		if unsafeName(c) != "" {
			return false
		}
	}
	return true
}

// inDir completes an UnsafeEntryError from a tree read under dir.
func inDir(err error, dir string) error {
	if e, ok := err.(*UnsafeEntryError); ok && e.Dir == "" && dir != "" {
		c := *e
		c.Dir = dir
		return &c
	}
	return err
}

// onSide marks an UnsafeEntryError as found in one tree of a diff.
func onSide(err error, side int) error {
	if e, ok := err.(*UnsafeEntryError); ok && e.side == 0 {
		c := *e
		c.side = side
		return &c
	}
	return err
}

// commitsByTree remembers which commit a root tree was read for, so that
// an unsafe entry found while walking the tree names the commit.
type commitsByTree struct{ m sync.Map }

func (c *commitsByTree) note(tree, commit Hash) { c.m.LoadOrStore(tree, commit) }

// inCommit completes an UnsafeEntryError found under the root tree root.
func (r *Repo) inCommit(err error, root Hash) error {
	e, ok := err.(*UnsafeEntryError)
	if !ok || !e.Commit.IsZero() {
		return err
	}
	if c, ok := r.commits.m.Load(root); ok {
		cp := *e
		cp.Commit = c.(Hash)
		return &cp
	}
	return err
}
