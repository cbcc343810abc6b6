package git

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	gogit "github.com/go-git/go-git/v5"
)

// ControlCharPathError is a work-tree path holding a control character
// (a newline, a tab, an escape...): the work tree's status cannot be read
// with it, and atoll's output could not carry it.
type ControlCharPathError struct{ Path string }

func (e *ControlCharPathError) Error() string {
	return fmt.Sprintf("the work tree holds %q, a path with a control character: its uncommitted changes cannot be read", e.Path)
}

// WorktreeChange is a path that differs between HEAD and the work tree:
// staged, unstaged, deleted or untracked (ignored files are not reported).
type WorktreeChange struct {
	Path string
	// Deleted is true when the file no longer exists in the work tree.
	Deleted bool
	// Code is the two-letter porcelain status, e.g. " M", "A ", "??".
	Code string
}

// WorktreeChanges lists uncommitted changes, sorted by path.
func (r *Repo) WorktreeChanges() ([]WorktreeChange, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("open work tree: %w", err)
	}
	st, err := wt.StatusWithOptions(gogit.StatusOptions{Strategy: gogit.Preload})
	if err != nil {
		if bad := r.controlCharPath(); bad != "" {
			return nil, &ControlCharPathError{Path: bad}
		}
		return nil, fmt.Errorf("read work-tree status: %w", err)
	}
	var out []WorktreeChange
	for p, s := range st {
		if s.Staging == gogit.Unmodified && s.Worktree == gogit.Unmodified {
			continue
		}
		deleted := s.Worktree == gogit.Deleted || (s.Staging == gogit.Deleted && s.Worktree != gogit.Untracked)
		out = append(out, WorktreeChange{Path: p, Deleted: deleted, Code: string([]byte{byte(s.Staging), byte(s.Worktree)})})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// controlCharPath finds a work-tree path (outside .git) with a control
// character, the usual reason the status cannot be read; "" when none.
func (r *Repo) controlCharPath() string {
	var bad string
	_ = filepath.WalkDir(r.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		for i := 0; i < len(d.Name()); i++ {
			if c := d.Name()[i]; c < 0x20 || c == 0x7f {
				rel, _ := filepath.Rel(r.Root, p)
				bad = filepath.ToSlash(rel)
				return filepath.SkipAll
			}
		}
		return nil
	})
	return bad
}
