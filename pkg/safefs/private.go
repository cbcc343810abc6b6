package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// NotPrivateError says a file or directory that atoll keeps plans, records
// or checkouts in could be changed by someone other than the current user.
type NotPrivateError struct {
	Path string
	Why  string
	// Fix is the command or setting that makes it safe.
	Fix string
}

func (e *NotPrivateError) Error() string {
	return fmt.Sprintf("%s %s: another user could replace the plans, records or checkouts atoll keeps there", e.Path, e.Why)
}

// CheckPrivate refuses a file or directory that the current user does not
// own or that group or others can write, the rule ssh applies to ~/.ssh.
func CheckPrivate(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return &NotPrivateError{Path: path, Why: fmt.Sprintf("is owned by uid %d, not by you (uid %d)", st.Uid, uid),
			Fix: fmt.Sprintf("use a directory of your own (--workdir, ATOLL_WORKDIR or workdir: in atoll.yaml; the default is ~/.cache/atoll), or remove %s so that atoll creates it", path)}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &NotPrivateError{Path: path, Why: fmt.Sprintf("is writable by group or others (mode %04o)", fi.Mode().Perm()),
			Fix: fmt.Sprintf("chmod go-w %s (atoll creates its directories 0700)", path)}
	}
	return nil
}

// MkdirPrivate makes dir, below base, a directory only the current user
// can change: missing components are created 0700, and every component
// below base must be a real directory (not a symlink) that passes
// CheckPrivate. base itself is the caller's to have checked.
func MkdirPrivate(base, dir string) error { return privateDir(base, dir, true) }

// CheckPrivateDir is MkdirPrivate without creating anything: a missing
// component is an fs.ErrNotExist error.
func CheckPrivateDir(base, dir string) error { return privateDir(base, dir, false) }

func privateDir(base, dir string, create bool) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is not inside %s", dir, base)
	}
	if rel == "." {
		return nil
	}
	cur := base
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if create && errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(cur, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			fi, err = os.Lstat(cur)
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &NotPrivateError{Path: cur, Why: "is " + describe(fi.Mode()) + ", not a directory", Fix: "remove " + cur + " so that atoll creates it"}
		}
		if err := CheckPrivate(cur, fi); err != nil {
			return err
		}
	}
	return nil
}

// ReadPrivateFile is ReadFile for a file that must be the current user's
// and writable by nobody else (a record, a plan).
func ReadPrivateFile(path string, max int64) ([]byte, error) {
	return read(path, max, false, true)
}
