package scan

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// snapshot is a commit's files, optionally overlaid with the work tree's
// uncommitted changes.
type snapshot struct {
	repo *git.Repo
	// files are the commit's, as asFiles gives them: the snapshots of
	// HEAD and of the merge-base share the paths and IDs of the files
	// they have in common.
	files   []project.File
	overlay []git.WorktreeChange
}

// asFiles turns a commit's listing into project files.
func asFiles(entries []git.Entry) []project.File {
	out := make([]project.File, len(entries))
	for i, e := range entries {
		out[i] = asFile(e)
	}
	return out
}

func asFile(e git.Entry) project.File {
	return project.File{Path: e.Path, ID: e.Blob.String(), Symlink: e.Symlink, Gitlink: e.Gitlink}
}

// listCommit lists a commit tree's files: from the index when it provably
// holds that tree, else from the tree objects.
func listCommit(repo *git.Repo, tree git.Hash) ([]git.Entry, error) {
	if tree.IsZero() {
		return nil, nil
	}
	if e, ok := repo.IndexFiles(tree); ok {
		return e, nil
	}
	return repo.Files(tree, nil)
}

// patch turns the listing of one side of a diff into the other side's:
// given the files of the new tree, it returns the files of the old one.
func patch(newFiles []project.File, diff []git.Change) []project.File {
	changed := make(map[string]git.Change, len(diff))
	for _, c := range diff {
		changed[c.Path] = c
	}
	out := make([]project.File, 0, len(newFiles))
	for _, f := range newFiles {
		if _, ok := changed[f.Path]; !ok {
			out = append(out, f)
		}
	}
	for _, c := range diff {
		if c.Action != git.Added {
			out = append(out, asFile(c.Old))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (t *snapshot) Files(skip func(string) bool) ([]project.File, error) {
	skipMemo := map[string]bool{}
	var skipped func(dir string) bool
	skipped = func(dir string) bool {
		if dir == "." || dir == "/" {
			return false
		}
		if v, ok := skipMemo[dir]; ok {
			return v
		}
		v := skipped(path.Dir(dir)) || skip(dir)
		skipMemo[dir] = v
		return v
	}
	changed := map[string]git.WorktreeChange{}
	for _, c := range t.overlay {
		changed[c.Path] = c
	}
	out := make([]project.File, 0, len(t.files)+len(t.overlay))
	for _, f := range t.files {
		if skipped(path.Dir(f.Path)) || (f.Gitlink && skip(f.Path)) {
			continue
		}
		if c, ok := changed[f.Path]; ok {
			delete(changed, f.Path)
			if !c.Deleted {
				out = append(out, t.worktreeFile(f.Path))
			}
			continue
		}
		out = append(out, f)
	}
	for _, c := range t.overlay {
		if _, left := changed[c.Path]; !left || c.Deleted || skipped(path.Dir(c.Path)) {
			continue
		}
		out = append(out, t.worktreeFile(c.Path))
	}
	return out, nil
}

func (t *snapshot) worktreeFile(p string) project.File {
	fi, err := os.Lstat(filepath.Join(t.repo.Root, filepath.FromSlash(p)))
	// A change the status reports at a directory is a submodule's: its
	// checkout moved to another commit.
	return project.File{Path: p, Symlink: err == nil && fi.Mode()&os.ModeSymlink != 0, Gitlink: err == nil && fi.IsDir()}
}

func (t *snapshot) Read(f project.File) ([]byte, error) {
	if f.Gitlink {
		return nil, fmt.Errorf("%s is a git submodule, not a file", f.Path)
	}
	if f.ID == "" {
		full := filepath.Join(t.repo.Root, filepath.FromSlash(f.Path))
		if f.Symlink {
			target, err := os.Readlink(full)
			return []byte(target), err
		}
		return safefs.ReadFileFollow(full, safefs.MaxSourceFile)
	}
	h, _ := git.ParseHash(f.ID)
	if f.Symlink {
		return t.repo.ReadBlob(h)
	}
	return t.repo.ReadCommitted(f.Path, h)
}
