package scan

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
)

// commitTree is a commit's files, optionally overlaid with the work tree's
// uncommitted changes.
type commitTree struct {
	repo    *git.Repo
	root    git.Hash
	overlay []git.WorktreeChange
}

func (t *commitTree) Files(skip func(string) bool) ([]project.File, error) {
	var entries []git.Entry
	if !t.root.IsZero() {
		var err error
		if entries, err = t.repo.Files(t.root, skip); err != nil {
			return nil, err
		}
	}
	changed := map[string]git.WorktreeChange{}
	for _, c := range t.overlay {
		changed[c.Path] = c
	}
	out := make([]project.File, 0, len(entries)+len(t.overlay))
	for _, e := range entries {
		if c, ok := changed[e.Path]; ok {
			delete(changed, e.Path)
			if c.Deleted {
				continue
			}
			out = append(out, t.worktreeFile(e.Path))
			continue
		}
		out = append(out, project.File{Path: e.Path, ID: e.Blob.String(), Symlink: e.Symlink})
	}
	for _, c := range t.overlay {
		if _, left := changed[c.Path]; !left || c.Deleted || skipped(c.Path, skip) {
			continue
		}
		out = append(out, t.worktreeFile(c.Path))
	}
	return out, nil
}

func skipped(p string, skip func(string) bool) bool {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if skip(dir) {
			return true
		}
	}
	return false
}

func (t *commitTree) worktreeFile(p string) project.File {
	fi, err := os.Lstat(filepath.Join(t.repo.Root, filepath.FromSlash(p)))
	return project.File{Path: p, Symlink: err == nil && fi.Mode()&os.ModeSymlink != 0}
}

func (t *commitTree) Read(f project.File) ([]byte, error) {
	if f.ID == "" {
		full := filepath.Join(t.repo.Root, filepath.FromSlash(f.Path))
		if f.Symlink {
			target, err := os.Readlink(full)
			return []byte(target), err
		}
		return os.ReadFile(full)
	}
	h, _ := git.ParseHash(f.ID)
	if f.Symlink {
		return t.repo.ReadBlob(h)
	}
	return t.repo.ReadCommitted(f.Path, h)
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
