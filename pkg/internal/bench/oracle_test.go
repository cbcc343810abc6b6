package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/oracle"
)

// TestHistoryOracle checks `atoll changed` against pkg/internal/oracle, a
// second, independent implementation of its rules, commit by commit along
// a history: at each
// first-parent commit, `atoll changed --base <parent> --no-cache` must
// name the projects the oracle names (modified, added or renamed ones
// together) and the deleted ones. The oracle shares no code with atoll:
// it lists trees with `git ls-tree`, finds module calls with a regular
// expression, and follows the rules of docs/changed.md in the most direct
// way, so a shortcut of atoll's (the index, the caches, the derived
// merge-base listing, the quick reader) that goes wrong shows up here.
//
// ATOLL_ORACLE_REPO names any repository to check (it is cloned without a
// work tree and never changed), e.g. a public Terraform monorepo; without
// it the generated r1000 is used. ATOLL_ORACLE_ROOTS sets the roots (as
// ATOLL_ROOTS; default: conf when HEAD has it, else the whole tree), and
// ATOLL_ORACLE_COMMITS how many commits (default 200). A commit atoll
// refuses with an error (a file that does not parse, a source leaving the
// repository) is logged, not judged: the oracle knows no such errors.
//
// The oracle is deliberately small (see its package): keep the
// repositories checked within what it reads.
func TestHistoryOracle(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("not run: set ATOLL_BENCH=1 (see docs/testing.md)")
		return
	}
	commits := EnvCount(t, "ATOLL_ORACLE_COMMITS", 200, 1)
	tools := Setup(t)
	src := os.Getenv("ATOLL_ORACLE_REPO")
	if src == "" {
		sizes, _ := SelectSizes("1000")
		var err error
		if src, err = Repo(tools.Genrepo, tools.Repos, sizes[0]); err != nil {
			t.Fatal(err)
		}
	}
	repo := filepath.Join(t.TempDir(), "repo")
	env := Env()
	if out, err := exec.Command("git", "clone", "-q", "--no-checkout", src, repo).CombinedOutput(); err != nil {
		t.Fatalf("clone %s: %v\n%s", src, err, out)
	}
	roots := os.Getenv("ATOLL_ORACLE_ROOTS")
	if roots == "" {
		roots = "."
		if out, _ := exec.Command("git", "-C", repo, "ls-tree", "--name-only", "HEAD", "conf").Output(); len(out) > 0 {
			roots = "conf"
		}
	}
	o := oracle.New(t, repo, roots, env)
	defer o.Close()
	history := strings.Fields(o.Git("rev-list", "--first-parent", fmt.Sprintf("--max-count=%d", commits), "HEAD"))
	checked, refused := 0, 0
	for _, c := range history {
		parents := strings.Fields(o.Git("rev-list", "--parents", "-n1", c))[1:]
		if len(parents) == 0 {
			continue
		}
		base := parents[0]
		o.Git("update-ref", "--no-deref", "HEAD", c)
		var out, stderr bytes.Buffer
		cmd := exec.Command(tools.Atoll, "changed", "--base", base, "--no-cache", "--output", "json")
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, append(env, "ATOLL_ROOTS="+roots), &out, &stderr
		if err := cmd.Run(); err != nil {
			refused++
			t.Logf("%s: atoll refused (%v): %s", c[:12], err, firstLine(stderr.String()))
			continue
		}
		var report struct {
			Projects []struct{ Dir, Status string }
		}
		if err := json.Unmarshal(out.Bytes(), &report); err != nil {
			t.Fatalf("%s: reading atoll's JSON: %v\n%s", c[:12], err, out.Bytes())
		}
		var live, deleted []string
		for _, p := range report.Projects {
			if p.Status == "deleted" {
				deleted = append(deleted, p.Dir)
			} else {
				live = append(live, p.Dir)
			}
		}
		wantLive, wantDeleted := o.Affected(base, c)
		if !slices.Equal(live, wantLive) || !slices.Equal(deleted, wantDeleted) {
			t.Errorf("%s (base %s): atoll and the oracle disagree\natoll:  affected %q, deleted %q\noracle: affected %q, deleted %q",
				c[:12], base[:12], live, deleted, wantLive, wantDeleted)
		}
		checked++
	}
	t.Logf("%d commits checked, %d refused by atoll, roots %s", checked, refused, roots)
	if checked == 0 {
		t.Fatal("no commit was checked")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
