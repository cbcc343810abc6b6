package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// A missing workdir is made with every missing parent, each private.
func TestSecureWorkdirCreatesMissingParents(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	workdir := filepath.Join(base, "a", "b", "c")
	if err := SecureWorkdir(workdir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "a/b", "a/b/c"} {
		fi, err := os.Stat(filepath.Join(base, p))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v", p, fi, err)
		}
	}
	if err := SecureWorkdir(workdir); err != nil {
		t.Errorf("again, existing: %v", err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var np *safefs.NotPrivateError
	if err := SecureWorkdir(file); !errors.As(err, &np) || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a file: err = %v", err)
	}
}

// A symlinked workdir is followed when it is the user's or root's and
// its target is private; a dangling one says where it points.
func TestSecureWorkdirSymlinks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := SecureWorkdir(link); err != nil {
		t.Errorf("a link of mine to a private directory: %v", err)
	}

	dangling := filepath.Join(base, "dangling")
	if err := os.Symlink(filepath.Join(base, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	var we *WorkdirError
	if err := SecureWorkdir(dangling); !errors.As(err, &we) || we.Path != dangling || !strings.Contains(we.Cause, filepath.Join(base, "nowhere")+", which does not exist") || !strings.Contains(we.Fix, "create "+filepath.Join(base, "nowhere")) {
		t.Errorf("a dangling link: err = %v", err)
	}

	// Its target below a directory everyone can write (not sticky).
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(open, "w"), 0o700); err != nil {
		t.Fatal(err)
	}
	toOpen := filepath.Join(base, "to-open")
	if err := os.Symlink(filepath.Join(open, "w"), toOpen); err != nil {
		t.Fatal(err)
	}
	var np *safefs.NotPrivateError
	if err := SecureWorkdir(toOpen); !errors.As(err, &np) || np.Path != open {
		t.Errorf("a link into a world-writable directory: err = %v", err)
	}

	// A link another user owns could be pointed elsewhere by them.
	if os.Geteuid() == 0 {
		theirs := filepath.Join(base, "theirs")
		if err := os.Symlink(target, theirs); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(theirs, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if err := SecureWorkdir(theirs); !errors.As(err, &np) || !strings.Contains(np.Why, "symlink owned by uid 4242") {
			t.Errorf("another user's link: err = %v", err)
		}
		// root's own links (uid 0) are followed: that is the link above.
	}
}

// The lock of a repository whose directory Clean removed meanwhile is
// taken in a directory made again.
func TestTryLockRemakesTheRepositoryDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "repo")
	f, ok, err := tryLock(buildLockPath(dir, "0123abcd"), syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatalf("tryLock = %v, %v", ok, err)
	}
	defer unlock(f)
	if _, err := os.Stat(buildLockPath(dir, "0123abcd")); err != nil {
		t.Error(err)
	}
	// Held: another try fails without an error.
	if g, ok, err := tryLock(buildLockPath(dir, "0123abcd"), syscall.LOCK_EX); ok || err != nil {
		unlock(g)
		t.Errorf("second tryLock = %v, %v", ok, err)
	}
}

// A lock holds one open file of its path, and unlock closes it: a try
// that opens the file and then retries (the directory remade, the file
// replaced) closes what it opened first.
func TestLockKeepsOneOpenFile(t *testing.T) {
	t.Parallel()
	path := buildLockPath(filepath.Join(t.TempDir(), "repo"), "0123abcd")
	open := func() int {
		t.Helper()
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
				n++
			}
		}
		return n
	}
	for _, how := range []int{syscall.LOCK_EX, syscall.LOCK_SH} {
		f, err := lock(t.Context(), path, how)
		if err != nil {
			t.Fatal(err)
		}
		if n := open(); n != 1 {
			t.Errorf("lock %d: %d open files of %s, want 1", how, n, path)
		}
		unlock(f)
		if n := open(); n != 0 {
			t.Errorf("after unlock %d: %d open files of %s, want 0", how, n, path)
		}
	}
}

// A build that is interrupted while another build of the commit holds it
// says what it waited for.
func TestInterruptedWaitForAnotherBuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "1"})
	head := f.head(t)
	repoDir := filepath.Join(f.workdir, RepoID(f.repo))
	if err := CheckWorkdir(f.workdir, f.repo); err != nil {
		t.Fatal(err)
	}
	held, ok, err := tryLock(buildLockPath(repoDir, head.Short()), syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer unlock(held)
	// Err says "not yet" once (Materialize's first check), then cancelled.
	ctx := newCancelAfter(1)
	close(ctx.done)
	ctx.once.Do(func() {})
	_, err = Materialize(ctx, f.workdir, f.repo, head, []project.Project{{Dir: "conf/a"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for another build of "+head.Short()) {
		t.Errorf("err = %v", err)
	}
}

// A symlink whose target goes through an absolute symlink leaves the
// checkout: it is left out with a warning naming that link.
func TestSymlinkThroughAnAbsoluteLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "main"})
	for link, target := range map[string]string{"conf/a/through": "../../etc/passwd", "etc": "/etc"} {
		if err := os.Symlink(target, filepath.Join(f.Work, link)); err != nil {
			t.Fatal(err)
		}
	}
	f.Commit("links", nil)
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	sameList(t, "checkout", listTree(t, co.Root), []string{"conf/a/main.tf"})
	if len(co.Warnings) != 1 || !strings.Contains(co.Warnings[0], "conf/a/through: symlink to ") || !strings.Contains(co.Warnings[0], "goes through etc, which is absolute") {
		t.Errorf("warnings: %q", co.Warnings)
	}
}

// A chain of symlinks resolves as the kernel resolves it: 40 links in all
// (the first included) are followed, a 41st is a loop.
func TestSymlinkChainLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "main", "conf/a/real.tf": "real"})
	chain := func(prefix string, n int) {
		// prefix1 -> prefix2 -> ... -> prefixN -> real.tf
		for i := 1; i <= n; i++ {
			target := fmt.Sprintf("%s%d", prefix, i+1)
			if i == n {
				target = "real.tf"
			}
			if err := os.Symlink(target, filepath.Join(f.Work, "conf/a", fmt.Sprintf("%s%d", prefix, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	chain("ok", 40)
	chain("long", 41)
	f.Commit("links", nil)
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	if b, err := os.ReadFile(filepath.Join(co.Root, "conf/a/ok1")); err != nil || string(b) != "real" {
		t.Errorf("a chain of 40 links: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(co.Root, "conf/a/long1")); !os.IsNotExist(err) {
		t.Errorf("a chain of 41 links was kept: %v", err)
	}
	var loops []string
	for _, w := range co.Warnings {
		if strings.Contains(w, "is a symlink loop") {
			loops = append(loops, w)
		}
	}
	if len(loops) != 1 || !strings.Contains(loops[0], "conf/a/long1:") {
		t.Errorf("warnings %q, want long1 (and only it) a loop", co.Warnings)
	}
}

// The workdir may not be in the repository's work tree, also through a
// link, nor relative.
func TestCheckWorkdirOutsideTheWorkTree(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "1"})
	inside := filepath.Join(f.Work, ".atoll")
	link := filepath.Join(t.TempDir(), "wd")
	if err := os.Symlink(inside, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(inside, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, wd := range []string{inside, link, filepath.Join(f.Work, "conf")} {
		if err := CheckWorkdir(wd, f.repo); err == nil || !strings.Contains(err.Error(), "scratch checkouts must live outside the repository's work tree") {
			t.Errorf("%s: %v", wd, err)
		}
	}
	// The repository opened through a link, the workdir named by its real path.
	viaLink := filepath.Join(t.TempDir(), "repo")
	if err := os.Symlink(f.Work, viaLink); err != nil {
		t.Fatal(err)
	}
	if err := CheckWorkdir(inside, openRepo(t, viaLink)); err == nil || !strings.Contains(err.Error(), "scratch checkouts must live outside") {
		t.Errorf("a repository opened through a link: %v", err)
	}
	if err := CheckWorkdir("rel/wd", f.repo); err == nil || !strings.Contains(err.Error(), `workdir "rel/wd" is not an absolute path`) {
		t.Errorf("relative: %v", err)
	}
	if err := CheckWorkdir(f.workdir, f.repo); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(f.workdir, RepoID(f.repo))); err != nil || !fi.IsDir() {
		t.Errorf("the repository's directory: %v", err)
	}
	// A file where the repository's directory goes.
	blocked := t.TempDir()
	if err := os.WriteFile(filepath.Join(blocked, RepoID(f.repo)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckWorkdir(blocked, f.repo); err == nil {
		t.Error("a file where the repository's directory goes was accepted")
	}
}

// A symlinked workdir's target must itself be private, and every
// directory above a workdir is checked, not only its parent.
func TestSecureWorkdirChecksTargetAndAllAncestors(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o775); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	var np *safefs.NotPrivateError
	if err := SecureWorkdir(link); !errors.As(err, &np) || np.Path != shared {
		t.Errorf("a link to a group-writable directory: %v", err)
	}

	open := filepath.Join(base, "open")
	if err := os.MkdirAll(filepath.Join(open, "mine"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := SecureWorkdir(filepath.Join(open, "mine", "wd")); !errors.As(err, &np) || np.Path != open {
		t.Errorf("a workdir two levels below a world-writable directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(open, "mine", "wd")); !os.IsNotExist(err) {
		t.Errorf("the refused workdir was made: %v", err)
	}
}

// A file is found only in its own directory: a dangling link to
// conf/a/sub/x.tf is not satisfied by an x.tf at the top of the
// repository (the walk passes that directory on its way down).
func TestDanglingLinkNotSatisfiedByAFileElsewhere(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"x.tf": "top", "conf/x.tf": "conf", "conf/a/main.tf": "main"})
	if err := os.Symlink("sub/x.tf", filepath.Join(f.Work, "conf/a/link.tf")); err != nil {
		t.Fatal(err)
	}
	f.Commit("link", nil)
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	if _, err := os.Stat(filepath.Join(co.Root, "conf/a/sub/x.tf")); !os.IsNotExist(err) {
		t.Errorf("conf/a/sub/x.tf exists in the checkout: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(co.Root, "conf/a/link.tf")); err == nil {
		t.Errorf("the dangling link reads %q", b)
	}
	for _, other := range []string{"x.tf", "conf/x.tf"} {
		if _, err := os.Lstat(filepath.Join(co.Root, other)); !os.IsNotExist(err) {
			t.Errorf("%s was put in the checkout for the link: %v", other, err)
		}
	}
	if len(co.Warnings) != 1 || !strings.Contains(co.Warnings[0], "conf/a/link.tf: symlink to sub/x.tf, which does not exist in this commit") {
		t.Errorf("warnings %q", co.Warnings)
	}
}
