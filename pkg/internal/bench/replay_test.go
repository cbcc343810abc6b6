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

// replayFloor is the floor of one replayed push: the files between the
// merge-base of the previous commit and this one, as floorScript.
const replayFloor = `git diff --name-only $(git merge-base "$BASE" HEAD) HEAD`

// replayTarget is the warm target of issue 11 on a history: at most this
// many times the floor.
const replayTarget = 2.0

// TestReplayBenchmark replays the last commits of a generated monorepo's
// main one at a time, as a laptop or a CI runner that keeps .git/atoll
// meets them push after push: at each commit, `atoll changed --base
// <previous commit>` runs first with the cache the previous commit left
// ("next commit"), then again ("warm"), each after a floor run. Every
// answer is checked against `--no-cache` at the same commit. Environment
// as TestChangedBenchmark, plus ATOLL_REPLAY_COMMITS (default 200) and
// ATOLL_BENCH_SIZES (default 1000; one size).
func TestReplayBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	commits := EnvCount(t, "ATOLL_REPLAY_COMMITS", 200, 2)
	sizes := os.Getenv("ATOLL_BENCH_SIZES")
	if sizes == "" {
		sizes = "1000"
	}
	sel, err := SelectSizes(sizes)
	if err != nil || len(sel) != 1 {
		t.Fatalf("ATOLL_BENCH_SIZES=%q: the replay runs on one size (%v)", sizes, err)
	}
	size := sel[0]
	tools := Setup(t)
	src, err := Repo(tools.Genrepo, tools.Repos, size)
	if err != nil {
		t.Fatal(err)
	}
	// A clone to move HEAD in: the generated repository stays as it is.
	repo := filepath.Join(t.TempDir(), size.Name())
	env := Env()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "clone", "-q", "--no-local", "--branch", "main", src, repo).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	history := strings.Fields(git("rev-list", "--first-parent", "--reverse", fmt.Sprintf("--max-count=%d", commits+1), "main"))
	if len(history) < commits+1 {
		t.Fatalf("main has %d commits, the replay needs %d", len(history), commits+1)
	}

	atoll := func(series *Series, base string, args ...string) []byte {
		t.Helper()
		var out, stderr bytes.Buffer
		cmd := exec.Command(tools.Atoll, append([]string{"changed", "--base", base}, args...)...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &out, &stderr
		sample, err := Run(cmd)
		if err != nil {
			t.Fatalf("atoll changed --base %s %s at %s: %v\n%s", base, strings.Join(args, " "), git("rev-parse", "HEAD"), err, stderr.Bytes())
		}
		if series != nil {
			*series = append(*series, sample)
		}
		return out.Bytes()
	}
	floor := func(series *Series, base string) {
		t.Helper()
		var out bytes.Buffer
		cmd := exec.Command("sh", "-c", replayFloor)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, append(env, "BASE="+base), &out, &out
		sample, err := Run(cmd)
		if err != nil {
			t.Fatalf("floor: %v\n%s", err, out.Bytes())
		}
		*series = append(*series, sample)
	}

	var fl, next, warm Series
	affected := 0
	start := time.Now()
	git("checkout", "-q", "--detach", history[0])
	atoll(nil, history[0]) // the cache the first replayed commit starts from
	for i := 1; i < len(history); i++ {
		base := history[i-1]
		git("checkout", "-q", "--detach", history[i])
		floor(&fl, base)
		got := atoll(&next, base)
		floor(&fl, base)
		again := atoll(&warm, base)
		want := atoll(nil, base, "--no-cache")
		if !bytes.Equal(got, want) || !bytes.Equal(again, want) {
			t.Fatalf("at %s (base %s): cached answers differ from --no-cache:\nnext commit:\n%s\nwarm:\n%s\n--no-cache:\n%s", history[i], base, got, again, want)
		}
		affected += bytes.Count(want, []byte("\n"))
	}
	t.Logf("%s: %d commits replayed in %.1fs", size.Name(), commits, time.Since(start).Seconds())

	ratio := func(s Series) float64 { return float64(s.Median()) / float64(fl.Median()) }
	cell := func(s Series) string {
		lo, hi := s.Range()
		return fmt.Sprintf("%s (%.1f-%.1f ms, %.2f×)", ms(s.Median()), lo.Seconds()*1e3, hi.Seconds()*1e3, ratio(s))
	}
	pass := "PASS"
	if ratio(warm) > replayTarget {
		pass = "FAIL"
		t.Errorf("target missed: warm median %s is %.2f× the floor, want at most %.0f×", ms(warm.Median()), ratio(warm), replayTarget)
	}
	body := fmt.Sprintf("Measured on %s with atoll %s. Machine: %s.\n\n"+
		"The last %d commits of %s's main (%d projects / %d modules), one at a time, %.1f affected projects per commit on average; "+
		"medians (min-max, × the floor's median).\n\n"+
		"| case | median |\n|---|--:|\n| floor (`%s`) | %s |\n| next commit (the previous commit's cache) | %s |\n| warm (again at the same commit) | %s |\n\n"+
		"| target | limit | measured | result |\n|---|---|---|---|\n| warm median on a history | ≤ %.0f× floor | %.2f× | **%s** |\n",
		time.Now().UTC().Format("2006-01-02"), describe(tools.Root), Machine(),
		commits, size.Name(), size.Projects, size.Modules, float64(affected)/float64(commits),
		replayFloor, cell(fl), cell(next), cell(warm), replayTarget, ratio(warm), pass)
	t.Logf("results:\n\n%s", body)
	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		WriteSection(t, tools.Root, "replay", body)
	}
}
