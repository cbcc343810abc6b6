package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

const (
	startupRounds = 41
	// startupTarget: the release build's `atoll version` at most this ×
	// `git --version`, medians of the same run.
	startupTarget = 2.0
	// initTraceRuns of GODEBUG=inittrace=1 give the per-package medians.
	initTraceRuns = 15
)

// releaseFlags build atoll as goreleaser.yaml does (without the version
// stamps, which cost nothing at start).
var releaseFlags = []string{"-trimpath", "-ldflags=-s -w"}

// startupCase is one command measured in every round.
type startupCase struct {
	label  string
	bin    string
	args   []string
	dir    string
	check  func(out string) error
	series Series
}

// TestStartupBenchmark measures process start: `atoll version` against
// `git --version` and a Go program that only prints (the floor of any Go
// binary here), with atoll built three ways (as released, as released but
// with symbols, and a plain `go build`), plus `atoll --help` and a warm
// `atoll changed` on a tiny repository; then where the release binary's
// package initialisation goes, from GODEBUG=inittrace=1. Environment:
//
//	ATOLL_BENCH=1          run it (otherwise the test does nothing)
//	ATOLL_BENCH_WRITE=1    rewrite the bench:startup section of docs/performance.md
//
// Use -count=1 unless ATOLL_BENCH_WRITE=1 (see TestChangedBenchmark).
func TestStartupBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	noCgo := []string{"CGO_ENABLED=0"}
	release, err := BuildWith(root, "./cmd/atoll", bin, "atoll", noCgo, releaseFlags...)
	if err != nil {
		t.Fatal(err)
	}
	symbols, err := BuildWith(root, "./cmd/atoll", bin, "atoll-symbols", noCgo, "-trimpath")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Build(root, "./cmd/atoll", bin, "atoll-plain")
	if err != nil {
		t.Fatal(err)
	}
	hello := buildHello(t, bin, noCgo)
	repo := tinyRepo(t, release)

	versionOut := func(out string) error {
		if !strings.HasPrefix(out, "atoll ") {
			return fmt.Errorf("unexpected output %q", out)
		}
		return nil
	}
	cases := []*startupCase{
		{label: "`git --version`", bin: "git", args: []string{"--version"}},
		{label: "Go program that prints one line (release flags)", bin: hello},
		{label: "`atoll version`, release build", bin: release, args: []string{"version"}, check: versionOut},
		{label: "`atoll version`, release build without `-s -w`", bin: symbols, args: []string{"version"}, check: versionOut},
		{label: "`atoll version`, plain `go build` (cgo, dynamically linked)", bin: plain, args: []string{"version"}, check: versionOut},
		{label: "`atoll --help`, release build", bin: release, args: []string{"--help"}, check: func(out string) error {
			if !strings.Contains(out, "atoll changed") {
				return fmt.Errorf("no command list in %q", out)
			}
			return nil
		}},
		{label: "`atoll changed`, release build, warm, 3-project repository", bin: release, args: []string{"changed"}, dir: repo, check: changedOut},
	}
	git, goFloor, target := cases[0], cases[1], cases[2]
	mainCases := len(cases)
	for _, p := range importPrograms {
		cases = append(cases, &startupCase{label: p.label, bin: importProgram(t, root, bin, p, noCgo)})
	}

	load := loadAverage() + " before"
	env := Env()
	for r := range startupRounds + 1 {
		for i := range cases {
			// Each round starts one case later, so no case always runs
			// right after the same other one.
			c := cases[(i+r)%len(cases)]
			var out bytes.Buffer
			cmd := exec.Command(c.bin, c.args...)
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.dir, env, &out, &out
			sample, err := Run(cmd)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.label, err, out.Bytes())
			}
			if c.check != nil {
				if err := c.check(out.String()); err != nil {
					t.Fatalf("%s: %v", c.label, err)
				}
			}
			if r > 0 { // round 0 brings the binaries into the page cache
				c.series = append(c.series, sample)
			}
		}
	}
	load += ", " + loadAverage() + " after"

	var table strings.Builder
	table.WriteString("| case | median (min-max) | ÷ `git --version` | CPU (user+sys) | minor page faults |\n|---|--:|--:|--:|--:|\n")
	row := func(table *strings.Builder, c *startupCase) {
		lo, hi := c.series.Range()
		fmt.Fprintf(table, "| %s | %s (%.1f-%.1f) | %.2f× | %s | %d |\n", c.label, ms(c.series.Median()), lo.Seconds()*1e3, hi.Seconds()*1e3,
			float64(c.series.Median())/float64(git.series.Median()), ms(medianCPU(c.series)), medianFaults(c.series))
	}
	for _, c := range cases[:mainCases] {
		row(&table, c)
	}
	var imports strings.Builder
	imports.WriteString("What importing a dependency costs at start, alone: programs (release flags) whose `main` is empty and that only import the package named, in the same rounds.\n\n")
	imports.WriteString("| program | median (min-max) | ÷ `git --version` | CPU (user+sys) | minor page faults |\n|---|--:|--:|--:|--:|\n")
	row(&imports, goFloor)
	for _, c := range cases[mainCases:] {
		row(&imports, c)
	}
	ratio := float64(target.series.Median()) / float64(git.series.Median())
	result := "**PASS**"
	if ratio > startupTarget {
		result = "**FAIL**"
		t.Errorf("target missed: `atoll version` (release build) %s is %.2f× `git --version` %s (limit %.1f×)",
			ms(target.series.Median()), ratio, ms(git.series.Median()), startupTarget)
	}
	targets := fmt.Sprintf("| target | limit | measured | result |\n|---|---|--:|---|\n"+
		"| `atoll version` (release build), median | ≤ %.0f× `git --version` (%s) | %s (%.2f×) | %s |\n",
		startupTarget, ms(time.Duration(startupTarget*float64(git.series.Median()))), ms(target.series.Median()), ratio, result)
	aboveGo := fmt.Sprintf("Above the Go program's floor, `atoll version` spends %s of wall time and %s of CPU.",
		ms(target.series.Median()-goFloor.series.Median()), ms(medianCPU(target.series)-medianCPU(goFloor.series)))

	inits := initBreakdown(t, release)
	t.Logf("results:\n\n%s\n%s\n%s\n\n%s\n%s", table.String(), targets, aboveGo, imports.String(), inits)

	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		body := fmt.Sprintf("Measured on %s with atoll %s. Machine: %s. Load average (1 min): %s.\n\n"+
			"Medians of %d interleaved rounds (each round runs every case once, starting one case later than the last), after one untimed round.\n\n%s\n%s\n%s\n\n%s\n%s",
			time.Now().UTC().Format("2006-01-02"), describe(root), Machine(), load, startupRounds, table.String(), targets, aboveGo, imports.String(), inits)
		WriteSection(t, root, "startup", body)
	}
}

// importCase is a program that only imports some packages.
type importCase struct {
	label, name string
	imports     []string
}

// importPrograms are the dependencies whose start-up cost is measured
// alone. "everything atoll links" is atoll's packages without running a
// command: the difference to `atoll version` is cobra and the command.
var importPrograms = []importCase{
	{"`encoding/gob`", "gob", []string{"encoding/gob"}},
	{"cobra", "cobra", []string{"github.com/spf13/cobra"}},
	{"lipgloss", "lipgloss", []string{"github.com/charmbracelet/lipgloss"}},
	{"HCL (`hclsyntax`)", "hcl", []string{"github.com/hashicorp/hcl/v2/hclsyntax"}},
	{"`net/http`", "nethttp", []string{"net/http"}},
	{"viper", "viper", []string{"github.com/spf13/viper"}},
	{"go-git's index and object storage only", "gogit-storage", []string{"github.com/go-git/go-git/v5/plumbing/format/index", "github.com/go-git/go-git/v5/storage/filesystem"}},
	{"go-git (`github.com/go-git/go-git/v5`, as `pkg/git` imports it)", "gogit", []string{"github.com/go-git/go-git/v5"}},
	{"everything atoll links (`pkg/cli`), no command run", "atoll-packages", []string{"github.com/atoll-tf/atoll/pkg/cli"}},
}

// importProgram builds a program that only imports p's packages, with
// atoll's module (and so its versions of them).
func importProgram(t *testing.T, root, bin string, p importCase, env []string) string {
	t.Helper()
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, imp := range p.imports {
		fmt.Fprintf(&src, "\t_ %q\n", imp)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	file := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, err := BuildWith(root, file, bin, "import-"+p.name, env, releaseFlags...)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// buildHello builds the least a Go program can be: it prints one line.
func buildHello(t *testing.T, bin string, env []string) string {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.21\n",
		"main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hello, err := BuildWith(src, ".", bin, "hello", env, releaseFlags...)
	if err != nil {
		t.Fatal(err)
	}
	return hello
}

// tinyRepo is a repository with three projects and a module, on a branch
// that edits the module one project calls, with atoll's cache warm.
func tinyRepo(t *testing.T, atoll string) string {
	t.Helper()
	s := sandbox.New(t, map[string]string{
		"conf/app/main.tf":     "module \"net\" {\n  source = \"../../modules/net\"\n}\n",
		"conf/db/main.tf":      "resource \"terraform_data\" \"db\" {}\n",
		"conf/web/main.tf":     "resource \"terraform_data\" \"web\" {}\n",
		"modules/net/main.tf":  "variable \"cidr\" {\n  default = \"10.0.0.0/16\"\n}\n",
		"modules/net/README":   "a shared module\n",
		"conf/app/versions.tf": "terraform {}\n",
	})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("widen the network", map[string]string{"modules/net/main.tf": "variable \"cidr\" {\n  default = \"10.0.0.0/8\"\n}\n"})
	var out bytes.Buffer
	cmd := exec.Command(atoll, "changed")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = s.Work, Env(), &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("atoll changed in the tiny repository: %v\n%s", err, out.Bytes())
	}
	if err := changedOut(out.String()); err != nil {
		t.Fatal(err)
	}
	return s.Work
}

func changedOut(out string) error {
	if strings.TrimSpace(out) != "conf/app" {
		return fmt.Errorf("atoll changed: want conf/app, got %q", out)
	}
	return nil
}

func medianCPU(s Series) time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = x.CPU
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func medianFaults(s Series) int64 {
	n := make([]int64, len(s))
	for i, x := range s {
		n[i] = x.MinorFaults
	}
	slices.Sort(n)
	return n[len(n)/2]
}

// initBreakdown runs the binary's `version` with GODEBUG=inittrace=1 and
// sums each package's median initialisation time by module (from
// `go version -m`), largest first.
func initBreakdown(t *testing.T, bin string) string {
	t.Helper()
	mods := []string{"github.com/atoll-tf/atoll"}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "dep" {
			mods = append(mods, f[1])
		}
	}
	moduleOf := func(pkg string) string {
		best := ""
		for _, m := range mods {
			if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
				best = m
			}
		}
		if best == "" {
			return "Go standard library"
		}
		return best
	}

	clock := map[string][]float64{}
	bytesOf := map[string]int{}
	for range initTraceRuns {
		cmd := exec.Command(bin, "version")
		cmd.Env = append(Env(), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, stderr.Bytes())
		}
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			// init PKG @T ms, C ms clock, B bytes, A allocs
			f := strings.Fields(sc.Text())
			if len(f) < 10 || f[0] != "init" {
				continue
			}
			c, err1 := strconv.ParseFloat(f[4], 64)
			b, err2 := strconv.Atoi(f[7])
			if err1 != nil || err2 != nil {
				t.Fatalf("unexpected init trace line %q", sc.Text())
			}
			clock[f[1]] = append(clock[f[1]], c)
			bytesOf[f[1]] = b
		}
	}
	type group struct {
		module   string
		pkgs     int
		ms       float64
		bytes    int
		topPkg   string
		topPkgMs float64
	}
	byModule := map[string]*group{}
	total, totalBytes := 0.0, 0
	for pkg, cs := range clock {
		slices.Sort(cs)
		m := cs[len(cs)/2]
		g := byModule[moduleOf(pkg)]
		if g == nil {
			g = &group{module: moduleOf(pkg)}
			byModule[g.module] = g
		}
		g.pkgs++
		g.ms += m
		g.bytes += bytesOf[pkg]
		if m > g.topPkgMs {
			g.topPkg, g.topPkgMs = pkg, m
		}
		total += m
		totalBytes += bytesOf[pkg]
	}
	groups := make([]*group, 0, len(byModule))
	for _, g := range byModule {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if a.ms != b.ms {
			if a.ms > b.ms {
				return -1
			}
			return 1
		}
		return strings.Compare(a.module, b.module)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Package initialisation of the release build (GODEBUG=inittrace=1, each package's median of %d runs of `atoll version`): "+
		"%d packages run init work, %.1f ms in all, allocating %d KB. By module, largest first:\n\n", initTraceRuns, len(clock), total, totalBytes>>10)
	b.WriteString("| module | packages | init time | share | allocated | largest package |\n|---|--:|--:|--:|--:|---|\n")
	for i, g := range groups {
		if i == 12 {
			rest := &group{module: fmt.Sprintf("%d other modules", len(groups)-i)}
			for _, h := range groups[i:] {
				rest.pkgs += h.pkgs
				rest.ms += h.ms
				rest.bytes += h.bytes
			}
			g = rest
		}
		top := ""
		if g.topPkg != "" {
			top = fmt.Sprintf("`%s` %.2f ms", g.topPkg, g.topPkgMs)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f ms | %.0f%% | %d KB | %s |\n", g.module, g.pkgs, g.ms, 100*g.ms/total, g.bytes>>10, top)
		if i == 12 {
			break
		}
	}
	return b.String()
}
