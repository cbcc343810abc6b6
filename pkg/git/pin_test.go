package git_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Pins from issue 12.

// datedCommit commits everything with its own committer and author date,
// so that the history has an order by time (the sandbox's fixed date gives
// every commit the same one).
func datedCommit(t *testing.T, s *sandbox.T, msg string, when int, files map[string]string) {
	t.Helper()
	s.Write(files)
	gitAt(t, s.Work, when, "add", "-A")
	gitAt(t, s.Work, when, "commit", "-q", "--allow-empty", "-m", msg)
}

func gitAt(t *testing.T, dir string, when int, args ...string) {
	t.Helper()
	date := fmt.Sprintf("@%d +0000", 1767225600+when*60)
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(sandbox.Env(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, errb.String())
	}
}

// checkMergeBases compares MergeBase with `git merge-base --all` for every
// pair of refs, both ways round: the answer must be one of git's best
// common ancestors.
func checkMergeBases(t *testing.T, s *sandbox.T, refs []string) {
	t.Helper()
	r := open(t, s.Work)
	shas := strings.Fields(s.Git(append([]string{"rev-parse"}, refs...)...))
	for i := range refs {
		for j := i + 1; j < len(refs); j++ {
			want := strings.Fields(s.Git("merge-base", "--all", shas[i], shas[j]))
			for _, pair := range [][2]int{{i, j}, {j, i}} {
				x, y := pair[0], pair[1]
				got, err := r.MergeBase(hash(t, shas[x]), hash(t, shas[y]))
				if err != nil {
					t.Fatalf("%s %s: %v", refs[x], refs[y], err)
				}
				found := false
				for _, w := range want {
					found = found || w == got.String()
				}
				if !found {
					t.Errorf("merge-base %s %s = %s, git says %v", refs[x], refs[y], got.Short(), want)
				}
			}
		}
	}
}

func TestMergeBaseCrissCross(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	datedCommit(t, s, "m1", 1, map[string]string{"m": "1"})
	s.Git("checkout", "-q", "-b", "a")
	datedCommit(t, s, "a1", 2, map[string]string{"a": "1"})
	s.Git("checkout", "-q", "main")
	datedCommit(t, s, "m2", 3, map[string]string{"m": "2"})
	s.Git("checkout", "-q", "-b", "b")
	gitAt(t, s.Work, 4, "merge", "-q", "--no-ff", "-m", "b merges a", "a")
	s.Git("checkout", "-q", "a")
	gitAt(t, s.Work, 5, "merge", "-q", "--no-ff", "-m", "a merges main", "main")
	datedCommit(t, s, "a2", 6, map[string]string{"a": "2"})
	s.Git("checkout", "-q", "b")
	datedCommit(t, s, "b2", 7, map[string]string{"b": "2"})
	if bases := strings.Fields(s.Git("merge-base", "--all", "a", "b")); len(bases) != 2 {
		t.Fatalf("fixture: a and b have merge-bases %v, want two (criss-cross)", bases)
	}
	checkMergeBases(t, s, []string{"main", "a", "b", "a~1", "b~1", "main~1"})
}

// A feature branch that ran long beside main and merged main in midway:
// the merge-base is the merged main commit, not the fork point, though
// the fork point is reached first along the feature's own older commits.
func TestMergeBaseLongSideBranches(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	when := 1
	tick := func() int { when++; return when }
	s.Git("checkout", "-q", "-b", "feature")
	for i := 0; i < 6; i++ {
		datedCommit(t, s, fmt.Sprintf("f%d", i), tick(), map[string]string{"feat": fmt.Sprint(i)})
	}
	s.Git("checkout", "-q", "main")
	for i := 0; i < 5; i++ {
		datedCommit(t, s, fmt.Sprintf("m%d", i), tick(), map[string]string{"m": fmt.Sprint(i)})
	}
	s.Git("branch", "mid")
	s.Git("checkout", "-q", "feature")
	gitAt(t, s.Work, tick(), "merge", "-q", "--no-ff", "-m", "feature merges main", "main")
	for i := 0; i < 4; i++ {
		datedCommit(t, s, fmt.Sprintf("g%d", i), tick(), map[string]string{"feat": fmt.Sprint(i + 100)})
	}
	s.Git("checkout", "-q", "main")
	for i := 0; i < 5; i++ {
		datedCommit(t, s, fmt.Sprintf("n%d", i), tick(), map[string]string{"m": fmt.Sprint(i + 100)})
	}
	// A second side branch off an old main commit, with a clock that runs
	// behind: its commits are older than the ones they descend from.
	s.Git("checkout", "-q", "-b", "skewed", "mid~4")
	for i := 0; i < 3; i++ {
		datedCommit(t, s, fmt.Sprintf("s%d", i), 1, map[string]string{"s": fmt.Sprint(i)})
	}
	gitAt(t, s.Work, 1, "merge", "-q", "--no-ff", "-m", "skewed merges feature", "feature~3")
	r := open(t, s.Work)
	got, err := r.MergeBase(hash(t, s.Git("rev-parse", "main")), hash(t, s.Git("rev-parse", "feature")))
	if err != nil || got.String() != s.Git("rev-parse", "mid") {
		t.Errorf("merge-base main feature = %v, %v; want the merged main commit %s", got, err, s.Git("rev-parse", "--short", "mid"))
	}
	checkMergeBases(t, s, []string{"main", "feature", "mid", "skewed", "feature~3", "feature~6", "main~2", "skewed~2"})
}

func TestModeOnlyChangesAreChanges(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/run.sh": "echo hi\n", "conf/a/target": "shared", "conf/a/l": "shared"})
	from := s.Git("rev-parse", "HEAD")
	if err := os.Chmod(filepath.Join(s.Work, "conf/a/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file turned into a symlink whose target string is the file's old
	// bytes: the blob is the same, only the mode differs.
	if err := os.Remove(filepath.Join(s.Work, "conf/a/l")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("shared", filepath.Join(s.Work, "conf/a/l")); err != nil {
		t.Fatal(err)
	}
	to, err := sandbox.Commit(s.Work, "modes")
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, s.Work)
	fc, _ := r.Commit(hash(t, from))
	tc, _ := r.Commit(hash(t, to))
	diff, err := r.DiffTrees(fc.Tree, tc.Tree)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]git.Change{}
	for _, c := range diff {
		got[c.Path] = c
	}
	if len(got) != 2 {
		t.Fatalf("diff = %+v, want run.sh and l", diff)
	}
	if c := got["conf/a/run.sh"]; c.Action != git.Modified || c.Old.Executable || !c.New.Executable || c.Old.Blob != c.New.Blob {
		t.Errorf("chmod +x: %+v", c)
	}
	if c := got["conf/a/l"]; c.Action != git.Modified || c.Old.Symlink || !c.New.Symlink || c.Old.Blob != c.New.Blob {
		t.Errorf("file to symlink: %+v", c)
	}
	// The work tree against HEAD sees the same kind of change.
	if err := os.Chmod(filepath.Join(s.Work, "conf/a/run.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	wc, err := r.WorktreeChanges()
	if err != nil || len(wc) != 1 || wc[0].Path != "conf/a/run.sh" || wc[0].Deleted {
		t.Errorf("work tree after chmod -x: %+v, %v", wc, err)
	}
}
