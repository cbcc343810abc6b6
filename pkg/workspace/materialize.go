package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// tmpPrefix starts the names of directories that are not (or no longer)
// checkouts: trees being built, trees being replaced or removed. Whatever
// a crash leaves behind has this prefix, and the next build of the same
// commit, or Clean, removes it.
const tmpPrefix = ".tmp-"

// Checkout is a materialised commit. While it is open, no other build of the
// same commit replaces its directory; Close it when done with the files.
type Checkout struct {
	// Root is <workdir>/<repo-id>/<short-sha>; a project's files are at
	// Root/<project dir>.
	Root   string
	Commit git.Hash
	// InputsHash maps each project directory to a hash of exactly the files
	// written for it (path, blob and mode of each): equal hashes across two
	// commits mean Terraform reads the same files in both.
	InputsHash map[string]string
	// Warnings name files that were left out (symlinks that leave the
	// checkout) or that point nowhere.
	Warnings []string

	hold *os.File
}

// Dir is where a project's files are in the checkout.
func (c *Checkout) Dir(projectDir string) string {
	return filepath.Join(c.Root, filepath.FromSlash(projectDir))
}

// Close lets a later build of the same commit replace the directory.
func (c *Checkout) Close() error {
	if c.hold == nil {
		return nil
	}
	// Unlock first: see unlock.
	_ = flock(c.hold, syscall.LOCK_UN)
	err := c.hold.Close()
	c.hold = nil
	return err
}

// Materialize writes into <workdir>/<repo-id>/<short-sha> the files of
// commit that projects need, read from git objects (the work tree's
// uncommitted bytes never reach the checkout): each project's whole
// directory, the local modules it uses, the files its watch globs and
// globalWatch match, the .envrc files of its parent directories, and what
// symlinks among those point to. .terraform directories are left out, and
// so are symlinks that leave the checkout (with a warning).
//
// The tree is built in a temporary directory next to its final place and
// renamed into place only when complete, replacing the checkout of an
// earlier run, so a crash or a cancelled ctx never leaves a partial tree
// where a complete one was. Builds of the same commit take turns, and a
// build waits until every open Checkout of that commit is closed (a caller
// must therefore Close a checkout before materialising its commit again).
// Two commits whose short SHAs collide share a directory; since every call
// rebuilds it, that costs a rebuild, never a wrong file.
func Materialize(ctx context.Context, workdir string, repo *git.Repo, commit git.Hash, projects []project.Project, globalWatch []string) (*Checkout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := CheckWorkdir(workdir, repo); err != nil {
		return nil, err
	}
	sel, err := selectCommit(repo, commit, projects, globalWatch)
	if err != nil {
		return nil, err
	}

	repoDir := filepath.Join(workdir, RepoID(repo))
	short := commit.Short()
	build, err := lock(ctx, buildLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil {
		return nil, lockError(err, "another build of "+short)
	}
	defer unlock(build)
	use, err := lock(ctx, useLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil {
		return nil, lockError(err, "runs using the checkout of "+short)
	}
	ok := false
	defer func() {
		if !ok {
			unlock(use)
		}
	}()

	// Holding the build lock, any temporary directory of this commit is a
	// crashed build's leftover.
	removeLeftovers(repoDir, short)
	tmp, err := os.MkdirTemp(repoDir, tmpPrefix+short+"-*")
	if err != nil {
		return nil, DescribeError(err)
	}
	if err := writeTree(ctx, repo, tmp, sel.files); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, DescribeError(err)
	}
	root := filepath.Join(repoDir, short)
	if err := swap(tmp, root); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	// Open to readers; builders still wait for the build lock, so none can
	// take the use lock between its release and this shared lock.
	if err := flock(use, syscall.LOCK_SH); err != nil {
		return nil, fmt.Errorf("lock checkout %s: %w", short, err)
	}
	ok = true

	co := &Checkout{Root: root, Commit: commit, InputsHash: map[string]string{}, Warnings: sel.warnings, hold: use}
	for dir, paths := range sel.byProject {
		co.InputsHash[dir] = inputsHash(paths, sel.files)
	}
	return co, nil
}

// lockError says why a lock of the work dir could not be taken: only an
// interrupted wait was a wait for someone else.
func lockError(err error, holder string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted while waiting for %s: %w", holder, err)
	}
	return DescribeError(err)
}

// swap renames the complete tree tmp to dir, moving an older tree aside
// first and removing it after.
func swap(tmp, dir string) error {
	old := tmp + "-old"
	hadOld := true
	if err := os.Rename(dir, old); errors.Is(err, fs.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return fmt.Errorf("move the previous checkout aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if hadOld {
			_ = os.Rename(old, dir)
		}
		return fmt.Errorf("move the checkout into place: %w", err)
	}
	if hadOld {
		// Should this fail, old is a .tmp- leftover for a later run.
		_ = os.RemoveAll(old)
	}
	return nil
}

// removeLeftovers removes the temporary directories of short. The caller
// holds its build lock. Failures are left for Clean.
func removeLeftovers(repoDir, short string) {
	matches, _ := filepath.Glob(filepath.Join(repoDir, tmpPrefix+short+"-*"))
	for _, m := range matches {
		_ = os.RemoveAll(m)
	}
}

// writeTree writes files under root, in parallel since most of the time is
// spent in file system calls.
func writeTree(ctx context.Context, repo *git.Repo, root string, files map[string]file) error {
	tree, err := safefs.OpenTree(root)
	if err != nil {
		return err
	}
	defer tree.Close()
	todo := make(chan file)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range todo {
				if err := writeFile(ctx, repo, tree, f); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
feed:
	for _, p := range paths {
		select {
		case todo <- files[p]:
		case <-ctx.Done():
			break feed
		case err := <-errs:
			errs <- err
			break feed
		}
	}
	close(todo)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// writeFile writes one file, or symlink, through tree, which never follows
// a symlink: whatever the commit holds, nothing is written outside root.
func writeFile(ctx context.Context, repo *git.Repo, tree *safefs.Tree, f file) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.Symlink {
		return tree.Symlink(f.target, f.Path)
	}
	b, err := repo.ReadCommitted(f.Path, f.Blob)
	if err != nil {
		return err
	}
	perm := os.FileMode(0o600)
	if f.Executable {
		perm = 0o700
	}
	return tree.WriteFile(f.Path, b, perm)
}

// inputsHash hashes the sorted (path, blob, mode) list of a project's files.
func inputsHash(paths []string, files map[string]file) string {
	h := sha256.New()
	for _, p := range paths {
		f := files[p]
		fmt.Fprintf(h, "%s %s %s\x00", f.mode(), f.Blob, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Inputs returns, for each project, the hash of exactly the files
// Materialize would write for it at commit, without writing anything: two
// commits with equal inputs give Terraform the same files.
func Inputs(repo *git.Repo, commit git.Hash, projects []project.Project, globalWatch []string) (map[string]string, error) {
	sel, err := selectCommit(repo, commit, projects, globalWatch)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for dir, paths := range sel.byProject {
		out[dir] = inputsHash(paths, sel.files)
	}
	return out, nil
}

// selectCommit selects the files of projects at a commit.
func selectCommit(repo *git.Repo, commit git.Hash, projects []project.Project, globalWatch []string) (*selection, error) {
	c, err := repo.Commit(commit)
	if err != nil {
		return nil, err
	}
	return selectFiles(repo, c.Tree, projects, globalWatch)
}
