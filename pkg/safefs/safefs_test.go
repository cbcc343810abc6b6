package safefs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

func TestTreeNeverWritesThroughSymlinks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	dir := filepath.Join(base, "tree")
	for _, d := range []string{outside, filepath.Join(dir, "real")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a directory outside, one to a file outside, one inside.
	must(t, os.Symlink(outside, filepath.Join(dir, "up")))
	must(t, os.Symlink("../outside", filepath.Join(dir, "real", "rel")))
	must(t, os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dir, "file.tf")))
	must(t, os.Symlink("real", filepath.Join(dir, "in")))
	tr, err := safefs.OpenTree(dir)
	must(t, err)
	defer tr.Close()

	for _, rel := range []string{"up/x.tf", "real/rel/x.tf", "in/x.tf", "up/new/x.tf"} {
		var le *safefs.LinkError
		if err := tr.WriteFile(rel, []byte("evil"), 0o600); !errors.As(err, &le) {
			t.Errorf("WriteFile(%s) = %v, want a LinkError", rel, err)
		}
		if err := tr.Symlink("/etc", rel); !errors.As(err, &le) {
			t.Errorf("Symlink(%s) = %v, want a LinkError", rel, err)
		}
	}
	// The symlink at the destination is replaced, its target untouched.
	must(t, tr.WriteFile("file.tf", []byte("own"), 0o600))
	if fi, err := os.Lstat(filepath.Join(dir, "file.tf")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("file.tf is not a regular file: %v %v", fi, err)
	}
	if err := tr.WriteFile("../escape.tf", nil, 0o600); err == nil {
		t.Error("a path with .. was written")
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("written outside the tree: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(base, "escape.tf")); err == nil {
		t.Error("escape.tf written")
	}
	must(t, tr.WriteFile("a/b/c.tf", []byte("ok"), 0o600))
	if fi, err := os.Stat(filepath.Join(dir, "a", "b")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v %v, want mode 0700", fi, err)
	}
}

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	zero := filepath.Join(dir, "zero")
	must(t, os.Symlink("/dev/zero", zero))
	big := filepath.Join(dir, "big")
	must(t, os.WriteFile(big, make([]byte, 2048), 0o600))
	link := filepath.Join(dir, "link")
	must(t, os.Symlink("big", link))

	done := make(chan struct{})
	go func() {
		defer close(done)
		var nr *safefs.NotRegularError
		for _, p := range []string{fifo, zero, dir} {
			for _, follow := range []bool{false, true} {
				read := safefs.ReadFile
				if follow {
					read = safefs.ReadFileFollow
				}
				if _, err := read(p, 1<<20); !errors.As(err, &nr) {
					t.Errorf("read %s (follow %v) = %v, want NotRegularError", p, follow, err)
				}
			}
		}
		var tl *safefs.TooLargeError
		if _, err := safefs.ReadFile(big, 1024); !errors.As(err, &tl) {
			t.Errorf("ReadFile(big) = %v, want TooLargeError", err)
		}
		if _, err := safefs.ReadFile(link, 1<<20); !errors.As(err, &nr) {
			t.Errorf("ReadFile(link) = %v, want NotRegularError", err)
		}
		if b, err := safefs.ReadFileFollow(link, 1<<20); err != nil || len(b) != 2048 {
			t.Errorf("ReadFileFollow(link) = %d bytes, %v", len(b), err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a read blocked")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
