package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Each file system error met in the work dir names its cause and fix.
// Errors root cannot provoke (it may write anywhere) are made up.
func TestDescribeError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "gone"), link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	realErr := func(err error) error { return err }
	for _, tc := range []struct {
		err        error
		cause, fix string
	}{
		{realErr(os.MkdirAll(filepath.Join(link, "repo"), 0o700)), "is a symbolic link to " + filepath.Join(dir, "gone") + ", which does not exist", "create "},
		{realErr(os.MkdirAll(filepath.Join(file, "repo"), 0o700)), file + " is a file, not a directory", "move " + file + " away"},
		{&fs.PathError{Op: "mkdir", Path: "/w/repo", Err: syscall.EACCES}, "permission denied", "ls -ld /w/repo /w"},
		{&fs.PathError{Op: "open", Path: "/w/repo/x.lock", Err: syscall.EROFS}, "read-only", "writable file system"},
		{&fs.PathError{Op: "write", Path: "/w/repo/x/main.tf", Err: syscall.ENOSPC}, "no space left", "atoll clean"},
	} {
		var we *WorkdirError
		if !errors.As(DescribeError(tc.err), &we) {
			t.Errorf("%v: not a *WorkdirError", tc.err)
			continue
		}
		if !strings.Contains(we.Error(), tc.cause) || !strings.Contains(we.Hint(), tc.fix) || !strings.Contains(we.Hint(), EnvWorkdir) && !strings.Contains(we.Hint(), "--workdir") {
			t.Errorf("%v: %q, hint %q; want %q and %q", tc.err, we.Error(), we.Hint(), tc.cause, tc.fix)
		}
	}
	if err := errors.New("other"); DescribeError(err) != err {
		t.Error("an unrelated error was changed")
	}
}

// TestDescribeErrorDeeperCauses: the link or the file that breaks a path
// is named also when it is several levels above the path; errors that
// say nothing about the work dir pass unchanged and keep their cause.
func TestDescribeErrorDeeperCauses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "real", "link")
	if err := os.Symlink(filepath.Join(dir, "gone"), link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "real", "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err        error
		cause, fix string
	}{
		{os.MkdirAll(filepath.Join(link, "repo", "abc"), 0o700), "link to " + filepath.Join(dir, "gone") + ", which does not exist", "create " + filepath.Join(dir, "gone")},
		{os.MkdirAll(filepath.Join(file, "repo", "abc"), 0o700), file + " is a file, not a directory", "move " + file + " away"},
		// A path below the file, as open or rename name it.
		{&fs.PathError{Op: "open", Path: filepath.Join(file, "repo", "abc", "x.lock"), Err: syscall.ENOTDIR}, file + " is a file, not a directory", "move " + file + " away"},
		{&fs.PathError{Op: "mkdir", Path: "/w/repo", Err: syscall.EPERM}, "permission denied", "ls -ld /w/repo /w"},
		{&fs.PathError{Op: "write", Path: "/w/x", Err: syscall.EDQUOT}, "quota exceeded", "atoll clean --all"},
	} {
		var we *WorkdirError
		if tc.err == nil || !errors.As(DescribeError(tc.err), &we) {
			t.Errorf("%v: not a *WorkdirError", tc.err)
			continue
		}
		if !strings.Contains(we.Error(), tc.cause) || !strings.Contains(we.Hint(), tc.fix) {
			t.Errorf("%v: %q, hint %q; want %q and %q", tc.err, we.Error(), we.Hint(), tc.cause, tc.fix)
		}
		if !errors.Is(we, tc.err) {
			t.Errorf("%v: the original error is not kept", tc.err)
		}
	}
	// A missing file that is no dangling link, and an error it does not
	// know, pass unchanged.
	for _, err := range []error{
		&fs.PathError{Op: "open", Path: filepath.Join(dir, "real", "nothing"), Err: syscall.ENOENT},
		&fs.PathError{Op: "read", Path: "/w/x", Err: syscall.EIO},
	} {
		if got := DescribeError(err); got != err {
			t.Errorf("%v became %v", err, got)
		}
	}
	if DescribeError(nil) != nil {
		t.Error("nil became an error")
	}
}

func TestParentDir(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/a/b/c": "/a/b", "/a": "/", "/": "/"} {
		if got := parentDir(in); got != want {
			t.Errorf("parentDir(%q) = %q, want %q", in, got, want)
		}
	}
}
