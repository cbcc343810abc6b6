// Package safefs reads and writes files that someone else may have shaped:
// a branch's checkout, the cache under .git, the work dir. Reads take only
// regular files, never block on a FIFO or a device and are bounded in
// size; writes never go through a symlink, so a link placed in a tree
// cannot send a file outside it.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// NotRegularError says a path holds something other than a regular file
// (a FIFO, a device, a directory, or a symlink where none is followed).
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	what := "not a regular file"
	switch {
	case e.Mode&fs.ModeSymlink != 0:
		what = "a symlink, which atoll does not follow here"
	case e.Mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case e.Mode&fs.ModeDevice != 0:
		what = "a device"
	case e.Mode.IsDir():
		what = "a directory"
	}
	return fmt.Sprintf("%s is %s", e.Path, what)
}

// TooLargeError says a file is larger than its reader accepts.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.Path, e.Max)
}

// OpenRegular opens a regular file for reading. A symlink at path is not
// followed unless follow is set; a FIFO or device is refused without
// blocking (O_NONBLOCK), whatever the path resolves to.
func OpenRegular(path string, follow bool) (*os.File, fs.FileInfo, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, &NotRegularError{Path: path, Mode: fs.ModeSymlink}
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return f, fi, nil
}

// ReadFile reads a regular file of at most max bytes, not following a
// symlink at path.
func ReadFile(path string, max int64) ([]byte, error) { return read(path, max, false, false) }

// ReadFileFollow is ReadFile for paths that may be symlinks (a user's own
// work tree): the file the link names must still be regular.
func ReadFileFollow(path string, max int64) ([]byte, error) { return read(path, max, true, false) }

func read(path string, max int64, follow, private bool) ([]byte, error) {
	f, fi, err := OpenRegular(path, follow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if private {
		if err := CheckPrivate(path, fi); err != nil {
			return nil, err
		}
	}
	if fi.Size() > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	// The size can change after the stat: read at most max+1 bytes.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	return b, nil
}

// LinkError says a write would have gone through a symlink or onto a
// directory.
type LinkError struct {
	// Path is the component that is not a directory; Root the tree.
	Path, Root, What string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("refusing to write through %s: it is %s (in %s); atoll never writes through a symlink", e.Path, e.What, e.Root)
}

// Tree writes files below one directory without ever following a symlink:
// every directory on the way must be a real directory, and a symlink or
// file at the destination is replaced, not written through. The
// underlying os.Root also keeps every operation inside the directory.
type Tree struct {
	dir  string
	root *os.Root
	// DirPerm is the mode of directories it creates.
	DirPerm fs.FileMode
}

// OpenTree opens dir, which must exist and be a directory (not a symlink).
func OpenTree(dir string) (*Tree, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &LinkError{Path: dir, Root: dir, What: describe(fi.Mode())}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Tree{dir: dir, root: r, DirPerm: 0o700}, nil
}

// Close releases the tree's directory.
func (t *Tree) Close() error { return t.root.Close() }

func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a file"
	}
	return "not a directory"
}

func (t *Tree) linkError(rel string, m fs.FileMode) error {
	return &LinkError{Path: filepath.Join(t.dir, rel), Root: t.dir, What: describe(m)}
}

// clean turns a slash path into a relative OS path that stays inside.
func clean(rel string) (string, error) {
	p := filepath.Clean(filepath.FromSlash(rel))
	if p == "." || filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q is not inside the tree", rel)
	}
	return p, nil
}

// MkdirAll creates rel and its parents as real directories.
func (t *Tree) MkdirAll(rel string) error {
	p, err := clean(rel)
	if err != nil {
		return err
	}
	cur := ""
	for _, c := range strings.Split(p, string(filepath.Separator)) {
		cur = filepath.Join(cur, c)
		fi, err := t.root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if err := t.root.Mkdir(cur, t.DirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if fi, err = t.root.Lstat(cur); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if !fi.IsDir() {
			return t.linkError(cur, fi.Mode())
		}
	}
	return nil
}

// prepare makes rel's parents and clears rel unless it is a directory.
func (t *Tree) prepare(rel string) (string, error) {
	p, err := clean(rel)
	if err != nil {
		return "", err
	}
	if d := filepath.Dir(p); d != "." {
		if err := t.MkdirAll(d); err != nil {
			return "", err
		}
	}
	fi, err := t.root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", t.linkError(p, fi.Mode())
	default:
		// Remove unlinks a symlink itself, never what it points to.
		if err := t.root.Remove(p); err != nil {
			return "", err
		}
	}
	return p, nil
}

// WriteFile writes a new file at rel (replacing a file or symlink there).
// An executable file is written with no process forked meanwhile (see
// HoldForks), so it can be run as soon as WriteFile returns.
func (t *Tree) WriteFile(rel string, data []byte, perm fs.FileMode) error {
	if perm&0o111 != 0 {
		defer HoldForks()()
	}
	f, err := t.Create(rel, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Close())
}

// HoldForks keeps this process from starting another one until the
// returned function is called. Write a file that is to be executed between
// the two: a child forked while the file is open for writing holds that
// descriptor until its own exec, and running the file meanwhile fails with
// "text file busy" (ETXTBSY). Terraform runs a checkout's scripts while
// other checkouts are written, and tests start processes in parallel.
func HoldForks() (release func()) {
	// Every fork takes syscall.ForkLock for writing.
	syscall.ForkLock.RLock()
	return syscall.ForkLock.RUnlock
}

// Create creates a new file at rel for writing (replacing a file or
// symlink there), for contents too large to hold in memory.
func (t *Tree) Create(rel string, perm fs.FileMode) (*os.File, error) {
	p, err := t.prepare(rel)
	if err != nil {
		return nil, err
	}
	// O_EXCL fails on anything at p, a symlink planted since included.
	return t.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
}

// Symlink creates a symlink at rel (replacing a file or symlink there).
func (t *Tree) Symlink(target, rel string) error {
	p, err := t.prepare(rel)
	if err != nil {
		return err
	}
	return t.root.Symlink(target, p)
}

// ReplaceFile writes data to path through a new temporary file in the same
// directory and renames it over path: a symlink or FIFO planted at path is
// replaced, never written through, and readers see the old file or the
// new one.
func ReplaceFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	err = errors.Join(werr, tmp.Chmod(perm), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// OpenPrivate opens path for writing, creating it with perm, never through
// a symlink and only when it is a regular file (flags add to O_WRONLY or
// O_RDWR, e.g. os.O_APPEND).
func OpenPrivate(path string, flags int, perm fs.FileMode) (*os.File, error) {
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		flags |= os.O_WRONLY
	}
	f, err := os.OpenFile(path, flags|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &NotRegularError{Path: path, Mode: fs.ModeSymlink}
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// MaxSourceFile bounds what atoll reads of one Terraform, .envrc or
// configuration file of a checkout or work tree.
const MaxSourceFile = 64 << 20
