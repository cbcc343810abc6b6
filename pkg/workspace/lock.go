package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// Two lock files guard each checkout <short-sha>:
//
//   - <short-sha>.lock is held exclusively while the checkout is built (and
//     while Clean removes it), so builds of one commit take turns;
//   - <short-sha>.use is held shared by every open Checkout and exclusively
//     by the build that replaces the directory, so a tree is never swapped
//     out from under a Terraform run that is using it.
//
// A builder takes .lock, then .use; it downgrades .use to shared once the
// new tree is in place and only then lets go of .lock, so no other builder
// can slip in between.
func buildLockPath(repoDir, short string) string { return filepath.Join(repoDir, short+".lock") }
func useLockPath(repoDir, short string) string   { return filepath.Join(repoDir, short+".use") }

// lock opens path and takes an flock on it (syscall.LOCK_EX or LOCK_SH),
// polling so that ctx can interrupt the wait.
func lock(ctx context.Context, path string, how int) (*os.File, error) {
	delay := 2 * time.Millisecond
	for {
		f, ok, err := tryLock(path, how)
		if err != nil || ok {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// tryLock takes the lock if it is free. The file is created when missing
// (with its directory, which Clean may have removed). Clean unlinks lock
// files it holds; a lock taken on such an unlinked file guards nothing,
// so the taker notices and starts over with the file now at path.
func tryLock(path string, how int) (*os.File, bool, error) {
	for attempt := 0; ; attempt++ {
		f, err := safefs.OpenPrivate(path, os.O_RDWR, 0o600)
		if errors.Is(err, os.ErrNotExist) && attempt < 10 {
			// Clean removes a repository's directory once it is empty.
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, false, err
			}
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("open lock file: %w", err)
		}
		if err := flock(f, how|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, true, nil
		}
		_ = f.Close()
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// unlock releases a lock and closes its file; nil is allowed. Closing
// alone is not enough: a child process forked meanwhile (git, terraform:
// any exec in this process) shares the open file, and with it the flock,
// until it execs, so the lock would outlive the Close.
func unlock(f *os.File) {
	if f != nil {
		_ = flock(f, syscall.LOCK_UN)
		_ = f.Close()
	}
}
