package git

import (
	"fmt"
	"sort"

	gogit "github.com/go-git/go-git/v5"
)

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
