package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// WorkdirError says why atoll cannot use its work dir, naming the path
// and the fix: a read-only or full disk, a dangling link, missing
// permissions. It is never blamed on another run.
type WorkdirError struct {
	Path  string
	Cause string
	Fix   string
	Err   error
}

func (e *WorkdirError) Error() string {
	return fmt.Sprintf("work dir: cannot write %s: %s", e.Path, e.Cause)
}

func (e *WorkdirError) Unwrap() error { return e.Err }

// Hint is how to fix it.
func (e *WorkdirError) Hint() string { return e.Fix }

// DescribeError turns a file system error met in the work dir into a
// *WorkdirError that says what is wrong; other errors pass unchanged.
func DescribeError(err error) error {
	var pe *fs.PathError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	elsewhere := "or choose another work dir (--workdir, " + EnvWorkdir + ")"
	we := &WorkdirError{Path: pe.Path, Err: err}
	var errno syscall.Errno
	errors.As(pe.Err, &errno)
	switch errno {
	case syscall.EEXIST, syscall.ENOENT:
		if target, ok := danglingLink(pe.Path); ok {
			we.Cause = "it is a symbolic link to " + target + ", which does not exist"
			we.Fix = "create " + target + ", remove the link, " + elsewhere
			return we
		}
		return err
	case syscall.EACCES, syscall.EPERM:
		we.Cause = "permission denied"
		we.Fix = "make it and its directory writable by you (ls -ld " + pe.Path + " " + parentDir(pe.Path) + "), " + elsewhere
	case syscall.EROFS:
		we.Cause = "the file system is read-only"
		we.Fix = "choose a work dir on a writable file system (--workdir, " + EnvWorkdir + ")"
	case syscall.ENOSPC, syscall.EDQUOT:
		we.Cause = "no space left on the device (or quota exceeded)"
		we.Fix = "free some space (atoll clean --all removes scratch checkouts), " + elsewhere
	case syscall.ENOTDIR:
		file := pe.Path
		for p := parentDir(pe.Path); p != "/"; p = parentDir(p) {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				file = p
			}
		}
		we.Cause = file + " is a file, not a directory"
		we.Fix = "move " + file + " away, " + elsewhere
	default:
		return err
	}
	return we
}

// danglingLink reports whether path, or one of its parents, is a symbolic
// link whose target does not exist, and that target.
func danglingLink(path string) (string, bool) {
	for p := path; p != "/" && p != "."; p = parentDir(p) {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			target, _ := os.Readlink(p)
			return target, true
		}
	}
	return "", false
}

func parentDir(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}
