package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// floorScript is the least work that answers "what did this branch change?":
// the files between the merge-base and HEAD, with no projects or modules.
const floorScript = "git diff --name-only $(git merge-base main HEAD) HEAD"

// Each round runs the cases in turn (cold, incremental, then warm ones), so
// that a burst of load on the machine hits every case alike rather than one
// block of runs, and each run is preceded by a floor run, so the floor's
// median comes from the same conditions.
const (
	rounds       = 10
	warmPerRound = 3
)

// Targets (issue 11): on r5000 a warm run within 2× the floor of the same
// run, a cold one within 150 ms (median) and 200 ms (every round); on
// r20000 a cold run within 600 ms and 100 MB.
const (
	targetSize      = 5000
	warmTarget      = 2.0 // × floor
	coldTarget      = 150 * time.Millisecond
	coldMaxTarget   = 200 * time.Millisecond
	rssTargetBytes  = 150e6
	largeSize       = 20000
	largeColdTarget = 600 * time.Millisecond
	largeRSSTarget  = 100e6
)

type changedRow struct {
	Size                                    Size
	Files                                   int
	Floor, Cold, Incremental, Warm, NoCache Series
}

func (r changedRow) peakRSS() int64 {
	return max(r.Cold.PeakRSS(), r.Incremental.PeakRSS(), r.Warm.PeakRSS(), r.NoCache.PeakRSS())
}

func (r changedRow) ratio(s Series) float64 {
	return float64(s.Median()) / float64(r.Floor.Median())
}

// cell is a case's median and its ratio to the floor's.
func (r changedRow) cell(s Series) string {
	return fmt.Sprintf("%s (%.1f×)", ms(s.Median()), r.ratio(s))
}

// TestChangedBenchmark measures `atoll changed` on the generated monorepos
// (see docs/performance.md). Environment:
//
//	ATOLL_BENCH=1          run it (otherwise the test does nothing)
//	ATOLL_BENCH_SIZES      sizes by project count, e.g. 100,1000 (default: all)
//	ATOLL_BENCH_REPOS      directory to keep generated repositories in between runs
//	ATOLL_BENCH_WRITE=1    rewrite the results section of docs/performance.md
//	ATOLL_GENREPO_DIR      genrepo source (default: ../shared/bench/genrepo)
//
// Use -count=1 unless ATOLL_BENCH_WRITE=1: go test cannot see that the
// result depends on atoll's code, which the test binary does not import.
func TestChangedBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	sizes, err := SelectSizes(os.Getenv("ATOLL_BENCH_SIZES"))
	if err != nil {
		t.Fatal(err)
	}
	tools := Setup(t)
	root, atoll, genrepo, repos := tools.Root, tools.Atoll, tools.Genrepo, tools.Repos

	var rows []changedRow
	for _, s := range sizes {
		start := time.Now()
		repo, err := Repo(genrepo, repos, s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: repository ready in %.1fs (%s)", s.Name(), time.Since(start).Seconds(), repo)
		r := measureChanged(t, atoll, repo, s)
		t.Logf("%s: median (min-max): floor %s, warm %s, cold %s, incremental %s", s.Name(),
			spread(r.Floor), spread(r.Warm), spread(r.Cold), spread(r.Incremental))
		rows = append(rows, r)
	}

	table := changedTable(rows)
	targets, failed := changedTargets(rows)
	t.Logf("results:\n\n%s\n%s", table, targets)
	for _, f := range failed {
		t.Errorf("target missed: %s", f)
	}

	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		body := fmt.Sprintf("Measured on %s with atoll %s. Machine: %s.\n\n"+
			"Medians of %d rounds of one cold, one incremental and %d warm runs, then one `--no-cache` run; "+
			"the floor is the median of the %d floor runs, one just before each timed atoll run.\n\n%s\n%s",
			time.Now().UTC().Format("2006-01-02"), describe(root), Machine(),
			rounds, warmPerRound, rounds*(2+warmPerRound), table, targets)
		WriteSection(t, root, "changed", body)
	}
}

// measureChanged runs the floor and the four cases on one repository,
// checking atoll's answer on every run.
func measureChanged(t *testing.T, atoll, repo string, s Size) changedRow {
	t.Helper()
	expected, err := os.ReadFile(filepath.Join(repo, ".git", "genrepo", "expected-changed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	env := Env()
	ls := exec.Command("git", "ls-files")
	ls.Dir, ls.Env = repo, env
	files, err := ls.Output()
	if err != nil {
		t.Fatal(err)
	}
	row := changedRow{Size: s, Files: bytes.Count(files, []byte("\n"))}
	atollDir := filepath.Join(repo, ".git", "atoll")

	floor := func(series *Series) {
		var out bytes.Buffer
		cmd := exec.Command("sh", "-c", floorScript)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &out, &out
		sample, err := Run(cmd)
		if err != nil || out.Len() == 0 {
			t.Fatalf("%s: floor: %v\n%s", s.Name(), err, out.Bytes())
		}
		*series = append(*series, sample)
	}
	changed := func(series *Series, args ...string) {
		var out, stderr bytes.Buffer
		cmd := exec.Command(atoll, append([]string{"changed"}, args...)...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &out, &stderr
		sample, err := Run(cmd)
		name := strings.Join(append([]string{"atoll"}, cmd.Args[1:]...), " ")
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", s.Name(), name, err, stderr.Bytes())
		}
		if !bytes.Equal(out.Bytes(), expected) {
			t.Fatalf("%s: %s: wrong answer\n%s", s.Name(), name, lineDiff(out.String(), string(expected)))
		}
		*series = append(*series, sample)
	}
	removeCache := func() {
		if err := os.RemoveAll(atollDir); err != nil {
			t.Fatal(err)
		}
	}
	// Incremental runs keep the per-file (module calls) and merge-base
	// caches but must rebuild the graphs and the result.
	removeGraphsAndResults := func() {
		for _, kind := range []string{"result", "graph"} {
			matches, _ := filepath.Glob(filepath.Join(atollDir, "cache", kind+"-*"))
			if len(matches) == 0 {
				t.Fatalf("%s: no %s-* entries in %s/cache to remove", s.Name(), kind, atollDir)
			}
			for _, m := range matches {
				if err := os.Remove(m); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	// One untimed run of each brings the repository into the page cache.
	removeCache()
	var warmup Series
	floor(&warmup)
	changed(&warmup)

	for range rounds {
		removeCache()
		floor(&row.Floor)
		changed(&row.Cold)
		removeGraphsAndResults()
		floor(&row.Floor)
		changed(&row.Incremental)
		for range warmPerRound {
			floor(&row.Floor)
			changed(&row.Warm)
		}
	}
	changed(&row.NoCache, "--no-cache")
	return row
}

func changedTable(rows []changedRow) string {
	var b strings.Builder
	b.WriteString("| repo | projects / modules / commits | files | floor | warm | cold | incremental | `--no-cache` | RSS warm | RSS peak |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d / %d / %d | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Size.Name(), r.Size.Projects, r.Size.Modules, r.Size.Commits, r.Files,
			ms(r.Floor.Median()), r.cell(r.Warm), r.cell(r.Cold), r.cell(r.Incremental), r.cell(r.NoCache),
			mb(r.Warm.PeakRSS()), mb(r.peakRSS()))
	}
	return b.String()
}

// changedTargets renders the targets on r5000 and r20000 (those of them
// measured) as a table, and returns the missed ones.
func changedTargets(rows []changedRow) (string, []string) {
	row := func(n int) *changedRow {
		for i := range rows {
			if rows[i].Size.Projects == n {
				return &rows[i]
			}
		}
		return nil
	}
	type target struct {
		size                  int
		name, limit, measured string
		pass                  bool
	}
	var targets []target
	if r := row(targetSize); r != nil {
		floor := r.Floor.Median()
		_, coldMax := r.Cold.Range()
		peak := r.peakRSS()
		targets = append(targets,
			target{targetSize, "warm median", fmt.Sprintf("≤ %.0f× floor (%s)", warmTarget, ms(time.Duration(warmTarget*float64(floor)))),
				r.cell(r.Warm), r.ratio(r.Warm) <= warmTarget},
			target{targetSize, "cold median", "≤ " + ms(coldTarget), r.cell(r.Cold), r.Cold.Median() <= coldTarget},
			target{targetSize, "cold, slowest round", "≤ " + ms(coldMaxTarget), ms(coldMax), coldMax <= coldMaxTarget},
			target{targetSize, "peak RSS", "< " + mb(rssTargetBytes), mb(peak), peak > 0 && peak < rssTargetBytes})
	}
	if r := row(largeSize); r != nil {
		peak := r.Cold.PeakRSS()
		targets = append(targets,
			target{largeSize, "cold median", "≤ " + ms(largeColdTarget), r.cell(r.Cold), r.Cold.Median() <= largeColdTarget},
			target{largeSize, "cold peak RSS", "≤ " + mb(largeRSSTarget), mb(peak), peak > 0 && peak <= largeRSSTarget})
	}
	if len(targets) == 0 {
		return fmt.Sprintf("Targets apply to r%d and r%d, which were not measured.\n", targetSize, largeSize), nil
	}
	var b strings.Builder
	var failed []string
	b.WriteString("| size | target | limit | measured | result |\n|---|---|---|---|---|\n")
	for _, tg := range targets {
		result := "PASS"
		if !tg.pass {
			result = "FAIL"
			failed = append(failed, fmt.Sprintf("r%d: %s %s, want %s", tg.size, tg.name, tg.measured, tg.limit))
		}
		fmt.Fprintf(&b, "| r%d | %s | %s | %s | **%s** |\n", tg.size, tg.name, tg.limit, tg.measured, result)
	}
	return b.String(), failed
}

func spread(s Series) string {
	lo, hi := s.Range()
	return fmt.Sprintf("%s (%.1f-%.1f)", ms(s.Median()), lo.Seconds()*1e3, hi.Seconds()*1e3)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mb(bytes int64) string {
	if bytes == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", float64(bytes)/1e6)
}

// describe names the measured atoll source: its commit, and whether the
// work tree had edits on top.
func describe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown commit)"
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}

// lineDiff lists the lines only one side has.
func lineDiff(got, want string) string {
	lines := func(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
	gotLines, wantLines := lines(got), lines(want)
	var diff []string
	for _, l := range wantLines {
		if !slices.Contains(gotLines, l) {
			diff = append(diff, "missing: "+l)
		}
	}
	for _, l := range gotLines {
		if !slices.Contains(wantLines, l) {
			diff = append(diff, "extra:   "+l)
		}
	}
	if len(diff) == 0 {
		return "same directories, in another order, spacing or count"
	}
	return strings.Join(diff, "\n")
}
