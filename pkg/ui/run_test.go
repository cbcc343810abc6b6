package ui

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/runner"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/ui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./pkg/ui -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func planReport() *runner.Report {
	rep := &runner.Report{
		Command: "plan", Head: "a1b2c3d4e5f60718", Branch: "feat/vpc", Base: "main",
		BaseSHA: "0f1e2d3c4b5a6978", MergeBase: "99aa88bb77cc66dd",
		Projects: []runner.ProjectResult{
			{Name: "conf/prod/vpc", Dir: "conf/prod/vpc", Status: runner.StatusPlanned,
				Counts: runner.Counts{Add: 1, Change: 2}, Duration: 3240 * time.Millisecond,
				PlanText: "Terraform will perform the following actions:\n\n  # aws_vpc.main will be updated in-place\n  ~ resource \"aws_vpc\" \"main\" {\n      ~ cidr_block = \"10.0.0.0/16\" -> \"10.1.0.0/16\"\n    }\n\nPlan: 1 to add, 2 to change, 0 to destroy.\n"},
			{Name: "conf/prod/dns", Dir: "conf/prod/dns", Status: runner.StatusPlanned,
				Counts: runner.Counts{Replace: 1, Destroy: 1, Import: 2}, Duration: 63 * time.Second},
			{Name: "vpc-staging", Dir: "conf/staging/vpc", Status: runner.StatusPlanned,
				Counts: runner.Counts{Add: 4}, Duration: 850 * time.Millisecond},
			{Name: "conf/prod/iam", Dir: "conf/prod/iam", Status: runner.StatusNoChanges, Duration: 2 * time.Second,
				PlanText: "No changes. Your infrastructure matches the configuration.\n"},
			{Name: "conf/prod/db", Dir: "conf/prod/db", Status: runner.StatusFailed, Duration: 1100 * time.Millisecond,
				Error: "terraform init: exit status 1\nError: Failed to query available provider packages",
				Hint:  "check the provider constraints in conf/prod/db/versions.tf", LogFile: "/tmp/atoll/conf_prod_db.log"},
		},
	}
	rep.Summarize()
	return rep
}

func applyReport() *runner.Report {
	rep := &runner.Report{
		Command: "apply", Head: "a1b2c3d4e5f60718", Base: "main", BaseSHA: "0f1e2d3c4b5a6978", MergeBase: "0f1e2d3c4b5a6978",
		Projects: []runner.ProjectResult{
			{Name: "conf/prod/vpc", Dir: "conf/prod/vpc", Status: runner.StatusApplied, Counts: runner.Counts{Add: 1}, Duration: 12 * time.Second},
			{Name: "conf/prod/dns", Dir: "conf/prod/dns", Status: runner.StatusApplied, Counts: runner.Counts{Change: 3}, Duration: 4 * time.Second},
			{Name: "conf/prod/db", Dir: "conf/prod/db", Status: runner.StatusFailed, Counts: runner.Counts{Add: 2}, Duration: 95 * time.Second,
				Error: "terraform apply: exit status 1", Hint: "the apply failed midway: run atoll plan again to see what is left",
				LogFile: "/tmp/atoll/conf_prod_db.log", Changed: []string{"aws_db_subnet_group.main"}},
			{Name: "conf/prod/app", Dir: "conf/prod/app", Status: runner.StatusSkipped,
				Error: "not applied: its dependency conf/prod/db failed", Hint: "fix conf/prod/db and apply again"},
		},
	}
	rep.Summarize()
	return rep
}

func TestRunTable(t *testing.T) {
	for name, rep := range map[string]*runner.Report{"run_plan.golden": planReport(), "run_apply.golden": applyReport()} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RunTable(&buf, NewStyles(&buf, false), rep); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "\x1b[") {
				t.Error("colourless table has ANSI codes")
			}
			golden(t, name, buf.String())
		})
	}
}

func TestRunFooter(t *testing.T) {
	tests := []struct {
		command string
		sum     runner.Summary
		want    string
	}{
		{"plan", runner.Summary{Total: 5, WithChanges: 3, NoChanges: 1, Failed: 1}, "5 projects: 3 with changes, 1 without, 1 failed"},
		{"plan", runner.Summary{Total: 1, NoChanges: 1}, "1 project: 0 with changes, 1 without"},
		{"apply", runner.Summary{Total: 4, Applied: 3, Failed: 1}, "4 projects: 3 applied, 1 failed"},
		{"apply", runner.Summary{Total: 2, Refused: 1, Skipped: 1}, "2 projects: 0 applied, 1 refused, 1 skipped"},
	}
	for _, tt := range tests {
		if got := runFooter(tt.command, tt.sum); got != tt.want {
			t.Errorf("runFooter(%s, %+v) = %q, want %q", tt.command, tt.sum, got, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                        "0.0s",
		1240 * time.Millisecond:  "1.2s",
		59960 * time.Millisecond: "1m00s",
		63 * time.Second:         "1m03s",
		3723 * time.Second:       "1h02m03s",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRunMarkdownSmall(t *testing.T) {
	parts := RunMarkdown(planReport())
	if len(parts) != 1 {
		t.Fatalf("got %d parts, want 1", len(parts))
	}
	md := parts[0]
	for _, want := range []string{
		"### atoll plan: 3 of 5 projects have changes, 1 failed\n",
		"Head `a1b2c3d4` (`feat/vpc`), base `main` (`0f1e2d3c`), merge-base `99aa88bb`.",
		"| Project | Result | + | ~ | ± | - | ↓ |",
		"| `conf/prod/dns` | planned | 0 | 0 | 1 | 1 | 2 |",
		"| `conf/prod/db` | **failed** | - | - | - | - | - |",
		"<details><summary>conf/prod/vpc: +1 ~2 ±0 -0</summary>",
		"```diff\nTerraform will perform the following actions:\n\n  # aws_vpc.main will be updated in-place\n!   resource \"aws_vpc\" \"main\" {\n!       cidr_block",
		"<details open><summary>conf/prod/db: failed</summary>",
		"**Hint:** check the provider constraints",
		"Log file: `/tmp/atoll/conf_prod_db.log`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "conf/prod/iam: ") {
		t.Error("a project without changes got a <details>")
	}
	checkMarkdownPart(t, 0, md)

	apply := RunMarkdown(applyReport())[0]
	if !strings.HasPrefix(apply, "### atoll apply: 2 of 4 projects applied, 1 failed, 1 skipped\n") {
		t.Errorf("apply headline: %s", apply[:strings.Index(apply, "\n")])
	}
}

func TestRunMarkdownSplit(t *testing.T) {
	rep := &runner.Report{Command: "plan", Head: "a1b2c3d4", Base: "main", BaseSHA: "0f1e2d3c", MergeBase: "0f1e2d3c"}
	line := "  + resource \"terraform_data\" \"x\" { input = \"" + strings.Repeat("x", 50) + "\" }\n"
	for i := range 30 {
		plan := strings.Repeat(line, 10000/len(line)+1)[:10000]
		rep.Projects = append(rep.Projects, runner.ProjectResult{
			Name: fmt.Sprintf("conf/p%02d", i), Status: runner.StatusPlanned, Counts: runner.Counts{Add: 1}, PlanText: plan,
		})
		if i == 14 {
			rep.Projects = append(rep.Projects, runner.ProjectResult{
				Name: "conf/huge", Status: runner.StatusPlanned, Counts: runner.Counts{Add: 3000},
				PlanText: strings.Repeat(line, 200000/len(line)+1)[:200000], LogFile: "/tmp/atoll/conf_huge.log",
			})
		}
	}
	rep.Summarize()

	parts := RunMarkdown(rep)
	if len(parts) < 6 {
		t.Fatalf("got %d parts for ~500,000 characters of plans", len(parts))
	}
	if !strings.Contains(parts[0], "### atoll plan: 31 of 31 projects have changes") || !strings.Contains(parts[0], "| `conf/p29` | planned |") {
		t.Error("part 1 lacks the summary")
	}
	var all strings.Builder
	for i, part := range parts {
		if len(part) > MaxMarkdownPart {
			t.Errorf("part %d has %d characters", i+1, len(part))
		}
		checkMarkdownPart(t, i, part)
		all.WriteString(part)
	}
	for _, p := range rep.Projects {
		if n := strings.Count(all.String(), "<summary>"+p.Name+": "); n != 1 {
			t.Errorf("%s appears in %d <summary>s", p.Name, n)
		}
	}
	if !strings.Contains(all.String(), "more characters; see the log file `/tmp/atoll/conf_huge.log`)") {
		t.Error("the huge plan has no truncation note")
	}
	if strings.Count(all.String(), "(truncated: ") != 1 {
		t.Error("plans that fit in a part were truncated")
	}
}

// checkMarkdownPart checks that a part stands on its own: fences and
// <details> are closed.
func checkMarkdownPart(t *testing.T, i int, md string) {
	t.Helper()
	fences := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			fences++
		}
	}
	if fences%2 != 0 {
		t.Errorf("part %d has %d ``` fences", i+1, fences)
	}
	if o, c := strings.Count(md, "<details"), strings.Count(md, "</details>"); o != c {
		t.Errorf("part %d opens <details> %d times and closes it %d times", i+1, o, c)
	}
}

func TestCodeFenceOutrunsBackticks(t *testing.T) {
	if got := codeFence("a ```` b"); got != "`````" {
		t.Errorf("codeFence = %q", got)
	}
	if got := codeFence("plain"); got != "```" {
		t.Errorf("codeFence = %q", got)
	}
}

func TestShortenKeepsUTF8(t *testing.T) {
	c := codeBlock{text: strings.Repeat("±", 100)}
	c.shorten(51)
	if !strings.HasPrefix(strings.Repeat("±", 100), c.text) || len(c.text)%2 != 0 {
		t.Errorf("cut inside a character: %q", c.text)
	}
	if c.cut != 100-len(c.text)/2 {
		t.Errorf("cut = %d characters, text kept %d bytes", c.cut, len(c.text))
	}
}

var t0 = time.Date(2026, 11, 26, 4, 40, 16, 0, time.UTC)

// clock is a fixed clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{now: t0}
	p := NewProgress(&buf, NewStyles(&buf, true), false, []string{"conf/prod/vpc", "conf/prod/db"})
	p.Now = clk.Now
	p.Handle(runner.Event{Project: "conf/prod/vpc", Phase: runner.PhaseMaterialize})
	p.Handle(runner.Event{Project: "conf/prod/vpc", Phase: runner.PhasePlan})
	clk.Add(3200 * time.Millisecond)
	p.Handle(runner.Event{Project: "conf/prod/vpc", Phase: runner.PhaseDone,
		Result: &runner.ProjectResult{Status: runner.StatusPlanned, Counts: runner.Counts{Add: 1}, Duration: 3200 * time.Millisecond}})
	p.Handle(runner.Event{Time: t0.Add(5 * time.Second), Project: "conf/prod/db", Phase: runner.PhaseInit})
	p.Handle(runner.Event{Time: t0.Add(6 * time.Second), Project: "conf/prod/db", Phase: runner.PhaseDone,
		Result: &runner.ProjectResult{Status: runner.StatusFailed}})
	p.Stop()

	want := `2026-11-26T04:40:16Z conf/prod/vpc checkout
2026-11-26T04:40:16Z conf/prod/vpc plan
2026-11-26T04:40:19Z conf/prod/vpc done: planned +1 ~0 ±0 -0 (3.2s)
2026-11-26T04:40:21Z conf/prod/db init
2026-11-26T04:40:22Z conf/prod/db done: failed (1.0s)
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A wait for the state lock shows as the phase's detail, once per holder,
// until Terraform gets the lock; on a terminal it follows the elapsed time.
func TestProgressStateLock(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, NewStyles(&buf, true), false, []string{"conf/a"})
	p.Now = (&clock{now: t0}).Now
	wait := "waiting for the state lock, held by ana@laptop (OperationTypeApply)"
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseApply})
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseApply, Detail: wait})
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseApply, Detail: wait})
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseApply})
	p.Stop()
	want := `2026-11-26T04:40:16Z conf/a apply
2026-11-26T04:40:16Z conf/a apply: ` + wait + `
2026-11-26T04:40:16Z conf/a apply
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	var tty syncBuffer
	tp := NewProgress(&tty, NewStyles(&tty, false), true, []string{"conf/a"})
	tp.Now = (&clock{now: t0}).Now
	tp.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseApply, Detail: wait})
	tp.Stop()
	if out := tty.String(); !strings.Contains(out, "conf/a  apply     0.0s  "+wait) {
		t.Errorf("the terminal line lacks the wait:\n%q", out)
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf syncBuffer
	clk := &clock{now: t0}
	p := NewProgress(&buf, NewStyles(&buf, false), true, []string{"conf/a", "conf/bb", "conf/c"})
	p.Now = clk.Now
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhasePlan})
	p.Handle(runner.Event{Project: "conf/bb", Phase: runner.PhaseApply})
	clk.Add(1500 * time.Millisecond)
	p.Handle(runner.Event{Project: "conf/a", Phase: runner.PhaseDone,
		Result: &runner.ProjectResult{Status: runner.StatusNoChanges, Duration: 1500 * time.Millisecond}})

	stopped := make(chan struct{})
	go func() { p.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return: the redrawing goroutine is still running")
	}
	// Stop is idempotent, and events after it are ignored.
	p.Stop()
	p.Handle(runner.Event{Project: "conf/c", Phase: runner.PhasePlan})

	out := buf.String()
	for _, want := range []string{
		"\x1b[3A", "\x1b[2K",
		"⠋ conf/a   plan      0.0s",
		"✓ conf/a   no-changes  1.5s",
		"– conf/bb  stopped during apply  1.5s",
		"– conf/c   not started",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "– conf/c   not started\n\x1b[J") || strings.Count(out, "not started") != 1 {
		t.Errorf("the final state is not drawn once, last:\n%q", out)
	}
}

// syncBuffer is a bytes.Buffer that the redrawing goroutine and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunMarkdownManyProjects(t *testing.T) {
	rep := &runner.Report{Command: "apply"}
	for i := range 3000 {
		rep.Projects = append(rep.Projects, runner.ProjectResult{Name: fmt.Sprintf("conf/region-%04d/service", i), Status: runner.StatusApplied})
	}
	parts := RunMarkdown(rep)
	if len(parts[0]) > MaxMarkdownPart {
		t.Errorf("part 1 has %d characters", len(parts[0]))
	}
	if !strings.Contains(parts[0], "more projects not shown: `atoll apply --output json` lists all)") {
		t.Error("the cut summary table has no note")
	}
}

// A plan that would revert another branch's apply says so in the PR
// comment too, not only in the terminal table.
func TestRunMarkdownShowsWarnings(t *testing.T) {
	rep := planReport()
	rep.Projects[0].Warning = "this plan would revert branch feat/b's apply (abc1234)"
	md := RunMarkdown(rep)[0]
	if want := "> **Warning** `conf/prod/vpc`: this plan would revert branch feat/b's apply (abc1234)\n"; !strings.Contains(md, want) {
		t.Errorf("markdown lacks %q:\n%s", want, md)
	}
	if strings.Contains(RunMarkdown(planReport())[0], "**Warning**") {
		t.Error("a warning without a project warning")
	}
}
