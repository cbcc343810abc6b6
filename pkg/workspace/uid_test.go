package workspace

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// helperWorkdirEnv makes TestSecureWorkdirAsAnotherUser's helper run
// SecureWorkdir on the path it names.
const helperWorkdirEnv = "ATOLL_TEST_SECURE_WORKDIR"

// TestSecureWorkdirHelper is not a test: run as another user by
// TestSecureWorkdirAsAnotherUser, it prints SecureWorkdir's verdict.
func TestSecureWorkdirHelper(t *testing.T) {
	wd := os.Getenv(helperWorkdirEnv)
	if wd == "" {
		return
	}
	if err := SecureWorkdir(wd); err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("accepted")
}

// A symlinked workdir is followed when the link is root's or the user's
// own, and refused when a third user owns it: seen by a user who is not
// root (run as uid 4242, when the tests run as root and can set it up).
func TestSecureWorkdirAsAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		// Not root: only the current user's own links can be made, and
		// TestSecureWorkdirSymlinks covers them.
		t.Log("not root: the links of other users cannot be made; covered for root's runs")
		return
	}
	const uid, third = 4242, 4343
	base, err := os.MkdirTemp("", "atoll-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary, where uid 4242 can run it.
	bin := filepath.Join(base, "helper.test")
	copyExecutable(t, os.Args[0], bin)
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(target, uid, uid); err != nil {
		t.Fatal(err)
	}
	links := map[string]int{"roots": 0, "mine": uid, "theirs": third}
	for name, owner := range links {
		p := filepath.Join(base, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{"roots": "accepted", "mine": "accepted", "theirs": "refused: " + filepath.Join(base, "theirs") + " is a symlink owned by uid 4343"} {
		cmd := exec.Command(bin, "-test.run=^TestSecureWorkdirHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperWorkdirEnv+"="+filepath.Join(base, name))
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: the helper failed: %v\n%s", name, err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s's link, seen by uid %d: %s\nwant %q", name, uid, out, want)
		}
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
