package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// The plan benchmark plans planProjects projects of r100 with atoll and,
// in atoll's own scratch checkout of the same commit, with bare Terraform.
// Each round runs the baseline, `atoll plan -j 1` and `atoll plan -j 2`
// once, in an order that rotates from round to round, so that a burst of
// load from elsewhere hits every case alike.
const (
	planProjects = 20
	planRounds   = 5
)

// Targets.
const (
	overheadTarget = 0.25 // atoll -j 1 over the floor (bare init + plan)
	speedupTarget  = 0.55 // -j 2 wall time ÷ -j 1 wall time
)

// planStep is one Terraform command the baseline runs in each project
// directory. Only init and plan make the floor; the others are timed so
// that the Terraform commands atoll may add can be costed (the shows are
// what --plan-json and --plan-text cost; a plain atoll plan runs neither).
type planStep struct {
	kind string // as terraformKind names atoll's commands
	args []string
}

var baselineSteps = []planStep{
	{"init", []string{"init", "-input=false"}},
	{"plan", []string{"plan", "-input=false", "-out=x.tfplan"}},
	{"show -json", []string{"show", "-json", "x.tfplan"}},
	{"show", []string{"show", "-no-color", "x.tfplan"}},
	{"version", []string{"version", "-json"}},
}

// terraformKind names a Terraform command from its arguments.
func terraformKind(args []string) string {
	if len(args) == 0 {
		return "(none)"
	}
	if args[0] == "show" && slices.Contains(args[1:], "-json") {
		return "show -json"
	}
	return args[0]
}

// planRun is one measured round.
type planRun struct {
	Floor, J1, J2 Sample
	// Steps is, per baseline step, its time summed over the projects.
	Steps map[string]Sample
	// Setup is what atoll -j 1 spent outside its projects' own durations:
	// resolving the comparison, finding the projects, materialising the
	// checkout, rendering the report.
	Setup time.Duration
}

type planResult struct {
	Runs []planRun
	// Calls counts the Terraform commands of one atoll plan -j 1, by kind.
	Calls map[string]int
}

// median is the median of a measure of the rounds.
func (r planResult) median(f func(planRun) time.Duration) time.Duration {
	var s Series
	for _, run := range r.Runs {
		s = append(s, Sample{Wall: f(run)})
	}
	return s.Median()
}

// spread is the median of a measure of the rounds and its range.
func (r planResult) spread(f func(planRun) time.Duration) string {
	var s Series
	for _, run := range r.Runs {
		s = append(s, Sample{Wall: f(run)})
	}
	lo, hi := s.Range()
	return fmt.Sprintf("%s (%.2f-%.2f)", secs(s.Median()), lo.Seconds(), hi.Seconds())
}

// stepCost is the cost of atoll's commands of one kind, from the baseline's
// cost of that command (summed over the projects, once each).
func (r planResult) stepCost(step Sample, kind string) Sample {
	n := time.Duration(r.Calls[kind])
	return Sample{Wall: step.Wall * n / planProjects, CPU: step.CPU * n / planProjects}
}

func wall(s Sample) time.Duration { return s.Wall }
func cpu(s Sample) time.Duration  { return s.CPU }

// overhead is what atoll takes over the floor, as a fraction of the floor.
func overhead(atoll, floor time.Duration) float64 { return float64(atoll)/float64(floor) - 1 }

// TestPlanBenchmark measures what `atoll plan` costs on top of Terraform,
// and its speed-up with -j 2 (see docs/performance.md). Environment:
//
//	ATOLL_BENCH=1          run it (otherwise the test does nothing)
//	ATOLL_BENCH_REPOS      directory to keep generated repositories in between runs
//	ATOLL_BENCH_WRITE=1    rewrite the plan results section of docs/performance.md
//	ATOLL_GENREPO_DIR      genrepo source (default: ../shared/bench/genrepo)
//
// It needs terraform on PATH or at /usr/local/bin/terraform; the projects
// use only Terraform's built-ins, so nothing is downloaded.
func TestPlanBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	tfBin, err := exec.LookPath("terraform")
	if err != nil {
		tfBin = "/usr/local/bin/terraform"
	}
	if _, err := os.Stat(tfBin); err != nil {
		t.Fatalf("terraform not found on PATH nor at %s", tfBin)
	}
	tools := Setup(t)
	root, atoll, genrepo, repos := tools.Root, tools.Atoll, tools.Genrepo, tools.Repos
	shared, err := Repo(genrepo, repos, Sizes[0])
	if err != nil {
		t.Fatal(err)
	}

	scratch := t.TempDir()
	repo := filepath.Join(scratch, "repo")
	projects, err := PlannableCopy(shared, repo, filepath.Join(scratch, "state"), planProjects)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("planning %d projects of %s: %s", len(projects), Sizes[0].Name(), strings.Join(projects, " "))

	tfEnv := TerraformEnv(filepath.Join(scratch, "plugin-cache"))
	if err := os.MkdirAll(filepath.Join(scratch, "plugin-cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	tfVersion, err := TerraformVersion(tfBin, tfEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := &planBench{t: t, atoll: atoll, tfBin: tfBin, repo: repo, projects: projects,
		atollEnv: append(slices.Clip(tfEnv), "ATOLL_WORKDIR="+filepath.Join(scratch, "workdir")),
		// atoll sets TF_IN_AUTOMATION=1 for its Terraform.
		baselineEnv: append(slices.Clip(tfEnv), "TF_IN_AUTOMATION=1"),
		baselineLog: filepath.Join(scratch, "baseline.log")}
	load := loadAverage()
	res := b.measure()
	load += " before, " + loadAverage() + " after"

	tables, failed := planTables(res)
	t.Logf("results:\n\n%s", tables)
	for _, f := range failed {
		t.Errorf("target missed: %s", f)
	}

	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		body := fmt.Sprintf("Measured on %s with atoll %s and Terraform %s. Machine: %s. "+
			"Load average (1 min): %s.\n\n"+
			"%d projects of r100, medians of %d rounds (min-max in brackets).\n\n%s",
			time.Now().UTC().Format("2006-01-02"), describe(root), tfVersion, Machine(), load,
			len(projects), planRounds, tables)
		WriteSection(t, root, "plan", body)
	}
}

type planBench struct {
	t                     *testing.T
	atoll, tfBin, repo    string
	projects              []string
	atollEnv, baselineEnv []string
	baselineLog           string
	// dirs are the projects' directories in atoll's scratch checkout.
	dirs []string
}

// measure warms up, counts atoll's Terraform commands, then runs the rounds.
func (b *planBench) measure() planResult {
	t := b.t
	// Untimed: fills the page cache, and tells where atoll's checkout is.
	_, rep := b.atollPlan(b.tfBin, 1)
	for _, p := range rep.Projects {
		b.dirs = append(b.dirs, p.Workdir)
	}
	b.baseline()

	res := planResult{Calls: b.countCalls()}
	t.Logf("Terraform commands of one atoll plan -j 1: %v", res.Calls)
	// A plain plan reads its counts from plan's own output.
	if n := res.Calls["show"] + res.Calls["show -json"]; n > 0 {
		t.Errorf("atoll plan ran terraform show %d times, want none", n)
	}
	for round := range planRounds {
		var run planRun
		cases := []func(){
			func() { run.Floor, run.Steps = b.baseline() },
			func() {
				var rep planReport
				run.J1, rep = b.atollPlan(b.tfBin, 1)
				run.Setup = run.J1.Wall - rep.projectTime()
			},
			func() { run.J2, _ = b.atollPlan(b.tfBin, 2) },
		}
		for k := range cases {
			cases[(round+k)%len(cases)]()
		}
		t.Logf("round %d: floor %s, atoll -j 1 %s (%+.0f%%; CPU %+.0f%%), -j 2 %s (%.2f× -j 1), load %s", round+1,
			secs(run.Floor.Wall), secs(run.J1.Wall), 100*overhead(run.J1.Wall, run.Floor.Wall), 100*overhead(run.J1.CPU, run.Floor.CPU),
			secs(run.J2.Wall), float64(run.J2.Wall)/float64(run.J1.Wall), loadAverage())
		res.Runs = append(res.Runs, run)
	}
	return res
}

// planReport is the part of `atoll plan --output json` checked here.
type planReport struct {
	Projects []struct {
		Dir      string        `json:"dir"`
		Status   string        `json:"status"`
		Error    string        `json:"error"`
		Workdir  string        `json:"workdir"`
		Duration time.Duration `json:"duration_ns"`
	} `json:"projects"`
}

// projectTime is the sum of the projects' durations.
func (r planReport) projectTime() time.Duration {
	var d time.Duration
	for _, p := range r.Projects {
		d += p.Duration
	}
	return d
}

// atollPlan runs atoll plan on the projects and checks that each was
// planned, with changes, in the same directory as before.
func (b *planBench) atollPlan(tfBin string, jobs int) (Sample, planReport) {
	t := b.t
	args := append([]string{"plan", "--terraform-bin", tfBin, "--output", "json", "-j", strconv.Itoa(jobs)}, b.projects...)
	var out, stderr bytes.Buffer
	cmd := exec.Command(b.atoll, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = b.repo, b.atollEnv, &out, &stderr
	s, err := Run(cmd)
	if err != nil {
		t.Fatalf("atoll plan -j %d: %v\n%s%s", jobs, err, stderr.Bytes(), out.Bytes())
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("atoll plan -j %d --output json: %v\n%s", jobs, err, out.Bytes())
	}
	if len(rep.Projects) != len(b.projects) {
		t.Fatalf("atoll plan -j %d: %d projects in the report, want %d", jobs, len(rep.Projects), len(b.projects))
	}
	for i, p := range rep.Projects {
		if p.Dir != b.projects[i] || p.Status != "planned" {
			t.Fatalf("atoll plan -j %d: %s %s (%s), want %s planned", jobs, p.Dir, p.Status, p.Error, b.projects[i])
		}
		if b.dirs != nil && p.Workdir != b.dirs[i] {
			t.Fatalf("atoll plan -j %d: %s planned in %s, before in %s", jobs, p.Dir, p.Workdir, b.dirs[i])
		}
	}
	return s, rep
}

// baseline runs the baseline steps in each project directory of atoll's
// checkout, one project after the other, after removing what earlier runs
// left there, so that init starts from scratch as atoll's does. It returns
// the floor (init + plan) and each step's cost, summed over the projects.
func (b *planBench) baseline() (Sample, map[string]Sample) {
	t := b.t
	for _, d := range b.dirs {
		for _, name := range []string{".terraform", ".terraform.lock.hcl", "x.tfplan"} {
			if err := os.RemoveAll(filepath.Join(d, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	log, err := os.Create(b.baselineLog)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	steps := map[string]Sample{}
	for _, d := range b.dirs {
		for _, st := range baselineSteps {
			cmd := exec.Command(b.tfBin, st.args...)
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = d, b.baselineEnv, log, log
			s, err := Run(cmd)
			if err != nil {
				out, _ := os.ReadFile(b.baselineLog)
				t.Fatalf("baseline: terraform %s in %s: %v\n%s", strings.Join(st.args, " "), d, err, tail(out, 4000))
			}
			steps[st.kind] = plus(steps[st.kind], s)
		}
	}
	return plus(steps["init"], steps["plan"]), steps
}

// countCalls runs atoll plan -j 1 once with a Terraform wrapper that logs
// each command, and counts them by kind.
func (b *planBench) countCalls() map[string]int {
	t := b.t
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	wrapper := filepath.Join(dir, "terraform")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> '%s'\nexec '%s' \"$@\"\n", log, b.tfBin)
	if err := sandbox.WriteExecutable(wrapper, []byte(script)); err != nil {
		t.Fatal(err)
	}
	b.atollPlan(wrapper, 1)
	out, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		calls[terraformKind(strings.Fields(line))]++
	}
	return calls
}

// planTables renders the results and the targets, and returns the missed
// targets.
func planTables(r planResult) (string, []string) {
	var b strings.Builder
	floor := func(p planRun) Sample { return p.Floor }
	withShows := func(p planRun) Sample { return plus(p.Floor, plus(p.Steps["show -json"], p.Steps["show"])) }
	j1 := func(p planRun) Sample { return p.J1 }
	j2 := func(p planRun) Sample { return p.J2 }
	of := func(measure func(Sample) time.Duration, run func(planRun) Sample) func(planRun) time.Duration {
		return func(p planRun) time.Duration { return measure(run(p)) }
	}
	fWall, fCPU := r.median(of(wall, floor)), r.median(of(cpu, floor))
	a1Wall, a1CPU := r.median(of(wall, j1)), r.median(of(cpu, j1))
	a2Wall := r.median(of(wall, j2))

	fmt.Fprintf(&b, "| run (%d projects) | wall time | vs floor | CPU time | vs floor |\n|---|--:|--:|--:|--:|\n", planProjects)
	for _, c := range []struct {
		name string
		run  func(planRun) Sample
	}{
		{"floor: `terraform init` + `terraform plan -out`, one project after the other", floor},
		{"floor + `terraform show -json` + `terraform show` of each plan (what `--plan-json --plan-text` would add)", withShows},
		{"`atoll plan -j 1`", j1},
		{"`atoll plan -j 2`", j2},
	} {
		fmt.Fprintf(&b, "| %s | %s | %.2f× | %s | %.2f× |\n", c.name,
			r.spread(of(wall, c.run)), float64(r.median(of(wall, c.run)))/float64(fWall),
			r.spread(of(cpu, c.run)), float64(r.median(of(cpu, c.run)))/float64(fCPU))
	}

	b.WriteString("\nWhere `atoll plan -j 1` spends its time: the Terraform commands it ran " +
		"(counted through a wrapper script in one extra run), each at the median cost of that command in the baseline, " +
		"and the rest.\n\n| part | commands | wall time | vs floor | CPU time | vs floor |\n|---|--:|--:|--:|--:|--:|\n")
	kinds := []string{"init", "plan", "show -json", "show", "version"}
	for kind := range r.Calls {
		if !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	var tfWall, tfCPU time.Duration
	for _, kind := range kinds {
		if !slices.ContainsFunc(baselineSteps, func(s planStep) bool { return s.kind == kind }) {
			fmt.Fprintf(&b, "| `terraform %s` | %d | not measured | | | |\n", kind, r.Calls[kind])
			continue
		}
		cost := func(p planRun) Sample { return r.stepCost(p.Steps[kind], kind) }
		w, c := r.median(of(wall, cost)), r.median(of(cpu, cost))
		tfWall, tfCPU = tfWall+w, tfCPU+c
		fmt.Fprintf(&b, "| `terraform %s` | %d | %s | %s | %s | %s |\n", kind, r.Calls[kind], secs(w), percent(w, fWall), secs(c), percent(c, fCPU))
	}
	setup := r.median(func(p planRun) time.Duration { return p.Setup })
	fmt.Fprintf(&b, "| the rest: atoll's own work, and the error of costing its commands from the baseline | | %s | %s | %s | %s |\n", secs(a1Wall-tfWall), percent(a1Wall-tfWall, fWall), secs(a1CPU-tfCPU), percent(a1CPU-tfCPU, fCPU))
	fmt.Fprintf(&b, "| of which outside the projects' own durations (comparison, project list, checkout, report) | | %s | %s | | |\n", secs(setup), percent(setup, fWall))
	fmt.Fprintf(&b, "| total: `atoll plan -j 1` | | %s | %s | %s | %s |\n", secs(a1Wall), percent(a1Wall, fWall), secs(a1CPU), percent(a1CPU, fCPU))

	// Targets, on wall time, from the medians; the same ratio per round
	// shows the noise, and CPU time checks the verdict.
	var inclRounds, speedupRounds []float64
	for _, p := range r.Runs {
		inclRounds = append(inclRounds, overhead(p.J1.Wall, p.Floor.Wall))
		speedupRounds = append(speedupRounds, float64(p.J2.Wall)/float64(p.J1.Wall))
	}
	incl, speedup := overhead(a1Wall, fWall), float64(a2Wall)/float64(a1Wall)
	pct := func(x float64) string { return fmt.Sprintf("%+.0f%%", 100*x) }
	pctRange := func(xs []float64) string { return pct(slices.Min(xs)) + " to " + pct(slices.Max(xs)) }
	// -j 1 keeps this many cores busy on average: with more projects at
	// once, at best all the cores are.
	busy := float64(a1CPU) / float64(a1Wall)
	targets := []struct {
		name, limit, measured, perRound, cpu string
		pass                                 bool
	}{
		{"overhead of `atoll plan -j 1` over the floor", "≤ " + pct(overheadTarget), pct(incl), pctRange(inclRounds),
			pct(overhead(a1CPU, fCPU)), incl <= overheadTarget},
		{"`atoll plan -j 2` ÷ `atoll plan -j 1`", fmt.Sprintf("≤ %.2f", speedupTarget), fmt.Sprintf("%.2f", speedup),
			fmt.Sprintf("%.2f to %.2f", slices.Min(speedupRounds), slices.Max(speedupRounds)),
			fmt.Sprintf("-j 1 keeps %.2f cores busy: at best %.2f on %d cores", busy, busy/float64(runtime.NumCPU()), runtime.NumCPU()),
			speedup <= speedupTarget},
	}
	var failed []string
	b.WriteString("\n| target | limit | measured (medians, wall time) | per round | in CPU time | result |\n|---|---|--:|--:|--:|---|\n")
	for _, tg := range targets {
		result := "PASS"
		if !tg.pass {
			result = "FAIL"
			failed = append(failed, fmt.Sprintf("%s: %s, want %s", tg.name, tg.measured, tg.limit))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | **%s** |\n", tg.name, tg.limit, tg.measured, tg.perRound, tg.cpu, result)
	}
	return b.String(), failed
}

func plus(a, b Sample) Sample {
	return Sample{Wall: a.Wall + b.Wall, CPU: a.CPU + b.CPU, MaxRSS: max(a.MaxRSS, b.MaxRSS)}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func percent(d, of time.Duration) string { return fmt.Sprintf("%.0f%%", 100*float64(d)/float64(of)) }

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Fields(string(b))[0]
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
