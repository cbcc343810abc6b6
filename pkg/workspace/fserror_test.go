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
