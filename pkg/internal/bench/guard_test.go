package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// guardBehind is how many commits the base moves on after the branch.
	guardBehind = 200
	// guardTarget: the guard's median at most this × atoll changed's.
	guardTarget = 2.0
	guardRounds = 9
)

// TestGuardBenchmark measures `atoll guard` (merge stage, targeted mode)
// on the largest generated monorepo with main 200 commits ahead of the
// branch's merge-base, against `atoll changed` on the same repository and
// the git floor, in one interleaved run. Environment as TestChangedBenchmark
// (ATOLL_BENCH=1, ATOLL_BENCH_REPOS, ATOLL_BENCH_WRITE=1, ATOLL_GENREPO_DIR).
func TestGuardBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	tools := Setup(t)
	root, atoll, genrepo, repos := tools.Root, tools.Atoll, tools.Genrepo, tools.Repos
	size := Size{Projects: 5000, Modules: 200, Commits: 5000}
	src, err := Repo(genrepo, repos, size)
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "r5000-behind")
	behindMain(t, src, repo)

	env := Env()
	run := func(series *Series, okCodes []int, name string, args ...string) {
		var out bytes.Buffer
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &out, &out
		sample, err := Run(cmd)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		ok := false
		for _, c := range okCodes {
			ok = ok || c == code
		}
		if !ok {
			t.Fatalf("%s %v: exit %d\n%s", name, args, code, out.Bytes())
		}
		if series != nil {
			*series = append(*series, sample)
		}
	}
	// The branch is not applied (there are no records), so the merge stage
	// refuses (exit 3) after evaluating every check; up-to-date itself must
	// pass in targeted mode: main's 200 commits touch none of its projects.
	var upToDate bytes.Buffer
	check := exec.Command(atoll, "guard", "--mode", "targeted", "--output", "json")
	check.Dir, check.Env, check.Stdout = repo, env, &upToDate
	_ = check.Run()
	if !strings.Contains(upToDate.String(), `"name": "up-to-date",
      "result": "pass"`) || !strings.Contains(upToDate.String(), fmt.Sprintf("%d commits behind", guardBehind)) {
		t.Fatalf("targeted up-to-date did not pass with %d commits behind:\n%s", guardBehind, upToDate.String())
	}

	var floor, changed, targeted, strict Series
	for i := 0; i < 2; i++ { // untimed: page cache and atoll's caches
		run(nil, []int{0}, atoll, "changed")
		run(nil, []int{3}, atoll, "guard", "--mode", "targeted")
	}
	for r := 0; r < guardRounds; r++ {
		run(&floor, []int{0}, "sh", "-c", floorScript)
		run(&changed, []int{0}, atoll, "changed")
		run(&targeted, []int{3}, atoll, "guard", "--mode", "targeted")
		run(&strict, []int{3}, atoll, "guard", "--mode", "strict")
	}
	ratio := float64(targeted.Median()) / float64(changed.Median())
	verdict := "PASS"
	if ratio > guardTarget {
		verdict = "FAIL"
	}
	table := fmt.Sprintf("| case | median (min-max) | vs floor | vs changed |\n|---|--:|--:|--:|\n"+
		"| floor: `%s` | %s | 1.0× | |\n"+
		"| `atoll changed` | %s | %.1f× | 1.00× |\n"+
		"| `atoll guard --mode targeted` (merge stage) | %s | %.1f× | %.2f× |\n"+
		"| `atoll guard --mode strict` (merge stage) | %s | %.1f× | %.2f× |\n\n"+
		"Target: targeted guard ≤ %.0f× `atoll changed`: %.2f× **%s**.\n",
		floorScript, spread(floor),
		spread(changed), float64(changed.Median())/float64(floor.Median()),
		spread(targeted), float64(targeted.Median())/float64(floor.Median()), ratio,
		spread(strict), float64(strict.Median())/float64(floor.Median()), float64(strict.Median())/float64(changed.Median()),
		guardTarget, ratio, verdict)
	t.Logf("results:\n\n%s", table)
	if verdict == "FAIL" {
		t.Errorf("target missed: guard %.2f× changed (limit %.0f×)", ratio, guardTarget)
	}
	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		body := fmt.Sprintf("Measured on %s with atoll %s. Machine: %s.\n\n"+
			"r5000 with main %d commits ahead of the branch's merge-base (each commit edits an unrelated project), "+
			"warm caches; medians of %d interleaved rounds.\n\n%s",
			time.Now().UTC().Format("2006-01-02"), describe(root), Machine(), guardBehind, guardRounds, table)
		WriteSection(t, root, "guard", body)
	}
}

// behindMain clones src to dst (without an origin, so the base is the
// local main) and moves main guardBehind commits ahead, each editing the
// tfvars of a project the feature branch does not affect; the feature
// branch stays checked out.
func behindMain(t *testing.T, src, dst string) {
	t.Helper()
	env := Env()
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git(filepath.Dir(dst), "clone", "-q", "--origin", "upstream", "--branch", "feature", src, dst)
	git(dst, "branch", "-q", "main", "upstream/main")
	expected, err := os.ReadFile(filepath.Join(src, ".git", "genrepo", "expected-changed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	affected := map[string]bool{}
	for _, d := range strings.Fields(string(expected)) {
		affected[d] = true
	}
	var others []string
	for _, f := range strings.Fields(git(dst, "ls-files", "conf/*/terraform.tfvars")) {
		if !affected[filepath.Dir(f)] {
			others = append(others, f)
		}
		if len(others) == guardBehind {
			break
		}
	}
	// One fast-import stream: 200 commits on main in well under a second.
	var stream bytes.Buffer
	parent := strings.TrimSpace(git(dst, "rev-parse", "main"))
	for i, f := range others {
		content := fmt.Sprintf("# moved on main %d\n", i)
		fmt.Fprintf(&stream, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata 13\nmain moves on\n", 1800000000+i)
		if i == 0 {
			fmt.Fprintf(&stream, "from %s\n", parent)
		}
		fmt.Fprintf(&stream, "M 100644 inline %s\ndata %d\n%s\n", f, len(content), content)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env, cmd.Stdin = dst, env, &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	if n := strings.TrimSpace(git(dst, "rev-list", "--count", "feature..main")); n != fmt.Sprint(guardBehind) {
		t.Fatalf("main is %s commits ahead, want %d", n, guardBehind)
	}
}
