package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/workspace"
	"github.com/bmatcuk/doublestar/v4"
)

// worktreeCheckout copies, for --from-worktree, what each project needs
// from the work tree (uncommitted edits included) into a fresh scratch
// directory. Plans made from it are marked dirty.
func (o *Options) worktreeCheckout(ps []project.Project) *checkoutResult {
	if err := workspace.CheckWorkdir(o.Workdir, o.Repo); err != nil {
		return &checkoutResult{err: err}
	}
	base := filepath.Join(o.Workdir, workspace.RepoID(o.Repo))
	if err := os.MkdirAll(base, 0o700); err != nil {
		return &checkoutResult{err: err}
	}
	root, err := os.MkdirTemp(base, "worktree-")
	if err != nil {
		return &checkoutResult{err: err}
	}
	tree, err := safefs.OpenTree(root)
	if err != nil {
		return &checkoutResult{err: err}
	}
	defer tree.Close()
	res := &checkoutResult{root: root, inputs: map[string]string{}}
	src := o.Repo.Root
	for _, p := range ps {
		files := map[string]bool{}
		add := func(dir string) error {
			full := filepath.Join(src, filepath.FromSlash(dir))
			return filepath.WalkDir(full, func(fp string, d fs.DirEntry, err error) error {
				if err != nil {
					if os.IsNotExist(err) {
						return nil
					}
					return err
				}
				if d.IsDir() && (d.Name() == ".terraform" || d.Name() == ".git") {
					return filepath.SkipDir
				}
				if !d.IsDir() {
					rel, _ := filepath.Rel(src, fp)
					files[filepath.ToSlash(rel)] = true
				}
				return nil
			})
		}
		dirs := []string{p.Dir}
		for _, m := range p.Modules {
			dirs = append(dirs, m.Dir)
		}
		for _, d := range dirs {
			if err := add(d); err != nil {
				return &checkoutResult{err: err}
			}
		}
		for _, g := range append(append([]string{}, o.Config.Watch...), p.Watch...) {
			matches, _ := doublestar.Glob(os.DirFS(src), g)
			for _, m := range matches {
				if err := add(m); err != nil {
					return &checkoutResult{err: err}
				}
			}
		}
		for dir := path.Dir(p.Dir); ; dir = path.Dir(dir) {
			if _, err := os.Stat(filepath.Join(src, dir, ".envrc")); err == nil {
				files[path.Join(dir, ".envrc")] = true
			}
			if dir == "." {
				break
			}
		}
		names := make([]string, 0, len(files))
		for f := range files {
			names = append(names, f)
		}
		sort.Strings(names)
		h := sha256.New()
		for _, f := range names {
			b, err := copyFile(src, filepath.Join(src, filepath.FromSlash(f)), tree, f)
			if err != nil {
				return &checkoutResult{err: err}
			}
			sum := sha256.Sum256(b)
			fmt.Fprintf(h, "%s\x00%x\n", f, sum)
		}
		res.inputs[p.Dir] = "worktree:" + hex.EncodeToString(h.Sum(nil))
	}
	return res
}

// copyFile copies a regular file (or recreates a symlink that stays inside
// the repository whose work tree is repoRoot) into tree at rel, never
// writing through a symlink, and returns what it copied.
func copyFile(repoRoot, from string, tree *safefs.Tree, rel string) ([]byte, error) {
	fi, err := os.Lstat(from)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(from)
		if err != nil {
			return nil, err
		}
		if filepath.IsAbs(target) || !within(filepath.Join(filepath.Dir(from), target), repoRoot) {
			return nil, nil // never followed out of the repository
		}
		return []byte(target), tree.Symlink(target, rel)
	}
	b, err := safefs.ReadFile(from, safefs.MaxSourceFile)
	if err != nil {
		return nil, err
	}
	return b, tree.WriteFile(rel, b, fi.Mode().Perm()&0o700)
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
