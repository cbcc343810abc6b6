package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
)

func TestCleanByAgeKeepAndAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "1"})
	projects := []project.Project{{Dir: "conf/a"}}
	var roots []string
	for _, content := range []string{"2", "3"} {
		f.Commit(content, map[string]string{"conf/a/main.tf": content})
	}
	for _, rev := range []string{"HEAD~2", "HEAD~1", "HEAD"} {
		h := f.revision(t, rev)
		co := f.materialize(t, h, projects)
		if err := co.Close(); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, co.Root)
	}
	repoDir := filepath.Dir(roots[0])
	old := time.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(roots[0], old, old); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(repoDir, tmpPrefix+filepath.Base(roots[1])+"-crashed")
	if err := os.MkdirAll(filepath.Join(crashed, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A build in progress: its temporary directory is not stale.
	building := filepath.Join(repoDir, tmpPrefix+"0123abcd-live")
	if err := os.Mkdir(building, 0o755); err != nil {
		t.Fatal(err)
	}
	held, ok, err := tryLock(buildLockPath(repoDir, "0123abcd"), syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatal("cannot take the build lock", err)
	}

	removed, err := Clean(f.workdir, CleanOptions{OlderThan: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "removed by age", removed, []string{roots[0], crashed})
	exists(t, roots[1], roots[2], building)
	unlock(held)

	// In use, or kept: not removed even with All.
	inUse := f.materialize(t, f.revision(t, "HEAD~1"), projects)
	keep := func(sha string) bool { return sha == filepath.Base(roots[2]) }
	removed, err = Clean(f.workdir, CleanOptions{All: true, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "removed with All while one checkout is in use and one kept", removed, []string{building})
	exists(t, roots[1], roots[2])

	if err := inUse.Close(); err != nil {
		t.Fatal(err)
	}
	removed, err = Clean(f.workdir, CleanOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "removed with All", removed, roots[1:])
	if _, err := os.Stat(repoDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the emptied repository directory is still there: %v", err)
	}

	// Materialising works again after Clean removed the lock files.
	co := f.materialize(t, f.head(t), projects)
	sameList(t, "after Clean", listTree(t, co.Root), []string{"conf/a/main.tf"})
}

func TestCleanOneRepository(t *testing.T) {
	t.Parallel()
	a := newFixture(t, map[string]string{"conf/a/main.tf": ""})
	b := newFixture(t, map[string]string{"conf/b/main.tf": ""})
	b.workdir = a.workdir
	coA := a.materialize(t, a.head(t), []project.Project{{Dir: "conf/a"}})
	coB := b.materialize(t, b.head(t), []project.Project{{Dir: "conf/b"}})
	for _, co := range []*Checkout{coA, coB} {
		if err := co.Close(); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Clean(a.workdir, CleanOptions{RepoID: RepoID(a.repo), All: true})
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "removed", removed, []string{coA.Root})
	exists(t, coB.Root)

	if removed, err := Clean(filepath.Join(t.TempDir(), "missing"), CleanOptions{All: true}); err != nil || len(removed) != 0 {
		t.Errorf("a workdir that does not exist: %v, %v", removed, err)
	}
}

func (f *fixture) revision(t *testing.T, rev string) git.Hash {
	t.Helper()
	ref, ok, err := f.repo.ResolveRevision(rev)
	if err != nil || !ok {
		t.Fatalf("resolve %s: %v", rev, err)
	}
	return ref.SHA
}

func exists(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s should still exist: %v", p, err)
		}
	}
}

// TestCleanRespectsABuildAndReportsErrors: a checkout whose build lock is
// held is not removed, even with All; with neither All nor an age nothing
// is removed; and a checkout Clean cannot lock is an error of the whole
// Clean (over every repository), not a silent skip.
func TestCleanRespectsABuildAndReportsErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"conf/a/main.tf": "1"})
	co := f.materialize(t, f.head(t), []project.Project{{Dir: "conf/a"}})
	if err := co.Close(); err != nil {
		t.Fatal(err)
	}
	repoDir, short := filepath.Dir(co.Root), filepath.Base(co.Root)

	if removed, err := Clean(f.workdir, CleanOptions{}); err != nil || len(removed) != 0 {
		t.Fatalf("Clean without All or an age: removed %v, %v", removed, err)
	}
	held, ok, err := tryLock(buildLockPath(repoDir, short), syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatal("cannot take the build lock", err)
	}
	removed, err := Clean(f.workdir, CleanOptions{All: true})
	unlock(held)
	if err != nil || len(removed) != 0 {
		t.Fatalf("Clean while a build holds the lock: removed %v, %v", removed, err)
	}
	exists(t, co.Root)

	// A lock file that cannot be opened (a directory in its place).
	if err := os.Remove(buildLockPath(repoDir, short)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(buildLockPath(repoDir, short), 0o700); err != nil {
		t.Fatal(err)
	}
	removed, err = Clean(f.workdir, CleanOptions{All: true})
	if err == nil || len(removed) != 0 {
		t.Fatalf("Clean with an unusable lock file: removed %v, err %v; want an error", removed, err)
	}
	exists(t, co.Root)
}
