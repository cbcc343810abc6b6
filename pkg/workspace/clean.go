package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CleanOptions choose what Clean removes. Temporary directories left by
// crashed or cancelled runs are always removed.
type CleanOptions struct {
	// RepoID limits cleaning to one repository (see RepoID); empty means
	// every repository under the workdir.
	RepoID string
	// All removes every checkout.
	All bool
	// OlderThan removes checkouts last materialised longer ago than this
	// (the modification time of the <short-sha> directory); 0 disables it.
	OlderThan time.Duration
	// Keep, when set, is asked about each checkout that would be removed,
	// by its directory's name (the commit's git.Hash.Short); true keeps it.
	Keep func(sha string) bool
}

var shortSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{7,40}$`) })

// Clean removes scratch checkouts under workdir and returns the paths it
// removed, sorted. A checkout being built or open in a run is skipped, and
// so is a temporary directory whose build is still running.
func Clean(workdir string, opt CleanOptions) ([]string, error) {
	var repos []string
	if opt.RepoID != "" {
		repos = []string{opt.RepoID}
	} else {
		entries, err := os.ReadDir(workdir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				repos = append(repos, e.Name())
			}
		}
	}
	var removed []string
	var errs []error
	for _, id := range repos {
		r, err := cleanRepo(filepath.Join(workdir, id), opt)
		removed = append(removed, r...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

func cleanRepo(repoDir string, opt CleanOptions) ([]string, error) {
	entries, err := os.ReadDir(repoDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		if rest, ok := strings.CutPrefix(name, tmpPrefix); ok {
			short, _, _ := strings.Cut(rest, "-")
			ok, err := removeTemp(repoDir, short, name)
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				removed = append(removed, filepath.Join(repoDir, name))
			}
			continue
		}
		if !shortSHA().MatchString(name) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		old := opt.OlderThan > 0 && time.Since(fi.ModTime()) > opt.OlderThan
		if (!opt.All && !old) || (opt.Keep != nil && opt.Keep(name)) {
			continue
		}
		ok, err := removeCheckout(repoDir, name)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, filepath.Join(repoDir, name))
		}
	}
	// Gone when nothing is left in it (lock files of kept checkouts stay).
	_ = os.Remove(repoDir)
	return removed, errors.Join(errs...)
}

// removeTemp removes a temporary directory unless its build is running.
func removeTemp(repoDir, short, name string) (bool, error) {
	build, ok, err := tryLock(buildLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil || !ok {
		return false, err
	}
	defer unlock(build)
	if err := os.RemoveAll(filepath.Join(repoDir, name)); err != nil {
		return false, err
	}
	if _, err := os.Lstat(filepath.Join(repoDir, short)); errors.Is(err, fs.ErrNotExist) {
		// No checkout, so no reader either: its lock files go too.
		removeLockFiles(repoDir, short)
	}
	return true, nil
}

// removeCheckout removes a checkout unless it is being built or used. It
// is renamed out of place first, so an interrupted removal leaves a
// temporary directory, not a partial checkout.
func removeCheckout(repoDir, short string) (bool, error) {
	build, ok, err := tryLock(buildLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil || !ok {
		return false, err
	}
	defer unlock(build)
	use, ok, err := tryLock(useLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil || !ok {
		return false, err
	}
	defer unlock(use)
	aside := filepath.Join(repoDir, tmpPrefix+short+"-removing")
	if err := os.RemoveAll(aside); err != nil {
		return false, err
	}
	if err := os.Rename(filepath.Join(repoDir, short), aside); errors.Is(err, fs.ErrNotExist) {
		return false, nil // another Clean was first
	} else if err != nil {
		return false, fmt.Errorf("remove checkout %s: %w", short, err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return false, err
	}
	removeLockFiles(repoDir, short)
	return true, nil
}

// removeLockFiles unlinks the lock files of short; the caller holds the
// build lock. Whoever waits on the unlinked files notices and starts over
// with new ones (see tryLock).
func removeLockFiles(repoDir, short string) {
	_ = os.Remove(useLockPath(repoDir, short))
	_ = os.Remove(buildLockPath(repoDir, short))
}
