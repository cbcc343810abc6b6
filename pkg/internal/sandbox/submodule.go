package sandbox

import "path/filepath"

// Submodule makes a repository holding files and adds it to the sandbox as
// a git submodule at p (a gitlink in the tree), committed; it returns the
// commit of the superproject.
func (s *T) Submodule(p string, files map[string]string) string {
	s.tb.Helper()
	sub := New(s.tb, files)
	s.Git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.Work, p)
	sha, err := Commit(s.Work, "add submodule "+p)
	if err != nil {
		s.tb.Fatal(err)
	}
	return sha
}

// BumpSubmodule commits files inside the submodule at p and records the
// submodule's new commit in the superproject; it returns the
// superproject's commit.
func (s *T) BumpSubmodule(p string, files map[string]string) string {
	s.tb.Helper()
	dir := filepath.Join(s.Work, filepath.FromSlash(p))
	if err := WriteFiles(dir, files); err != nil {
		s.tb.Fatal(err)
	}
	if _, err := Commit(dir, "bump"); err != nil {
		s.tb.Fatal(err)
	}
	s.Git("add", p)
	sha, err := Commit(s.Work, "bump submodule "+p)
	if err != nil {
		s.tb.Fatal(err)
	}
	return sha
}
