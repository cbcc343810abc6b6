package workspace

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
)

// A lock released while a child process shares its file is released at
// once: Clean does not skip a checkout that was just closed, and the next
// taker does not wait for the child. (TestCleanByAgeKeepAndAll failed now
// and then under load because of this: the package's other tests run git.)
func TestUnlockIsImmediateWhileAChildSharesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	f, ok, err := tryLock(path, syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatal("lock", err)
	}
	child := exec.Command("sleep", "30")
	child.ExtraFiles = append(child.ExtraFiles, f)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	unlock(f)
	g, ok, err := tryLock(path, syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatalf("the lock is still held after unlock (by the child's copy): %v", err)
	}
	unlock(g)
}

func TestCloseReleasesTheCheckoutWhileAChildSharesTheFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "1"})
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	child := exec.Command("sleep", "30")
	child.ExtraFiles = append(child.ExtraFiles, co.hold)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	if err := co.Close(); err != nil {
		t.Fatal(err)
	}
	removed, err := Clean(f.workdir, CleanOptions{All: true})
	if err != nil || len(removed) != 1 || removed[0] != co.Root {
		t.Errorf("Clean after Close = %v, %v; want %s removed", removed, err, co.Root)
	}
}
