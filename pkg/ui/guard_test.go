package ui

import (
	"bytes"
	"github.com/atoll-tf/atoll/pkg/ci"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/guard"
)

func guardReport() *guard.Report {
	return &guard.Report{
		Stage: guard.StageMerge, Mode: "targeted", Head: "a1b2c3d4e5f60718", Branch: "feat/vpc",
		Base: "refs/remotes/origin/main", BaseSHA: "0f1e2d3c4b5a6978", MergeBase: "99aa88bb77cc66dd",
		Affected: []string{"conf/prod/vpc", "conf/staging/vpc"},
		Checks: []guard.Check{
			{Name: guard.UpToDate, Result: guard.Fail,
				Detail:   "3 commits behind origin/main; 1 of them touch this branch's projects: conf/prod/vpc",
				Hint:     "merge or rebase onto origin/main, then plan (and apply) again",
				Projects: []string{"conf/prod/vpc"},
				Commits:  []guard.BehindCommit{{SHA: "c0ffee0011223344", Subject: "network: wider subnets", Projects: []string{"conf/prod/vpc"}}}},
			{Name: guard.Applied, Result: guard.Fail,
				Detail:   "conf/prod/vpc: never applied; conf/staging/vpc: its latest apply (at 5e5e5e5e) failed: Terraform does not roll back",
				Hint:     "apply from the branch before merging: atoll plan, review, atoll apply",
				Projects: []string{"conf/prod/vpc", "conf/staging/vpc"}},
			{Name: guard.Locks, Result: guard.Skip, Detail: "project locks are not implemented yet: nothing to check"},
		},
		Skipped: []string{},
	}
}

func passingReport() *guard.Report {
	return &guard.Report{
		Stage: guard.StageApply, Mode: "strict", Head: "a1b2c3d4e5f60718", Branch: "feat/vpc",
		Base: "refs/remotes/origin/main", BaseSHA: "0f1e2d3c4b5a6978", MergeBase: "0f1e2d3c4b5a6978",
		Affected: []string{"conf/prod/vpc"},
		Checks: []guard.Check{
			{Name: guard.UpToDate, Result: guard.Pass, Detail: "up to date with origin/main"},
			{Name: guard.Clean, Result: guard.Skip, Detail: "skipped by configuration (--skip or guard.skip in atoll.yaml)"},
			{Name: guard.Planned, Result: guard.Pass, Detail: "1 affected project(s) planned at HEAD against the current base", Hint: "never shown for a pass"},
			{Name: guard.Locks, Result: guard.Skip, Detail: "project locks are not implemented yet: nothing to check"},
		},
		Skipped: []string{guard.Clean},
		Passed:  true,
	}
}

func TestGuardChecklist(t *testing.T) {
	for name, rep := range map[string]*guard.Report{"guard_fail.golden": guardReport(), "guard_pass.golden": passingReport()} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GuardChecklist(&buf, NewStyles(&buf, false), rep); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "\x1b[") {
				t.Error("colourless checklist has ANSI codes")
			}
			golden(t, name, buf.String())
		})
	}
}

func TestGuardChecklistColour(t *testing.T) {
	var buf bytes.Buffer
	if err := GuardChecklist(&buf, NewStyles(&buf, true), guardReport()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[") {
		t.Error("coloured checklist has no ANSI codes")
	}
}

func TestGuardVerdict(t *testing.T) {
	tests := []struct {
		rep  *guard.Report
		want string
	}{
		{guardReport(), "REFUSED: 2 check(s) failed: up-to-date, applied"},
		{passingReport(), "PASSED: this branch may be applied"},
		{&guard.Report{Stage: guard.StageMerge, Passed: true}, "PASSED: this branch may be merged"},
		// The plan stage only warns.
		{&guard.Report{Stage: guard.StagePlan, Passed: true, Checks: []guard.Check{{Name: guard.UpToDate, Result: guard.Warn}}}, "PASSED"},
	}
	for _, tt := range tests {
		if got := verdict(tt.rep); got != tt.want {
			t.Errorf("verdict(%s stage) = %q, want %q", tt.rep.Stage, got, tt.want)
		}
	}
}

func TestGuardMarkdown(t *testing.T) {
	golden(t, "guard_fail.md.golden", GuardMarkdown(guardReport()))
	md := GuardMarkdown(passingReport())
	for _, want := range []string{
		"### atoll guard (apply stage): PASSED: this branch may be applied\n",
		"| ➖ | `clean` | skipped by configuration (--skip or guard.skip in atoll.yaml) |  |\n",
		"| ✅ | `planned` | 1 affected project(s) planned at HEAD against the current base |  |\n",
		"> [!WARNING]\n> Skipped by configuration: clean\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// A | in a detail would end its table cell.
	rep := guardReport()
	rep.Checks[0].Detail = "a | b"
	if !strings.Contains(GuardMarkdown(rep), `a \| b`) {
		t.Error("| not escaped")
	}
}

func TestGuardAnnotations(t *testing.T) {
	rep := guardReport()
	rep.Checks = append(rep.Checks,
		guard.Check{Name: guard.UpToDate, Result: guard.Warn, Detail: "100% behind\nreally", Hint: "merge"},
		guard.Check{Name: guard.Planned, Result: guard.Pass, Detail: "fine"})
	want := "::error title=atoll guard%3A up-to-date::3 commits behind origin/main; 1 of them touch this branch's projects: conf/prod/vpc. Fix: merge or rebase onto origin/main, then plan (and apply) again\n" +
		"::error title=atoll guard%3A applied::conf/prod/vpc: never applied; conf/staging/vpc: its latest apply (at 5e5e5e5e) failed: Terraform does not roll back. Fix: apply from the branch before merging: atoll plan, review, atoll apply\n" +
		"::warning title=atoll guard%3A up-to-date::100%25 behind%0Areally. Fix: merge\n"
	render := func(as []ci.Annotation) string {
		var b strings.Builder
		for _, a := range as {
			b.WriteString(a.GitHub())
		}
		return b.String()
	}
	if got := render(GuardAnnotations(rep)); got != want {
		t.Errorf("annotations:\n%s\nwant:\n%s", got, want)
	}
	if got := render(GuardAnnotations(passingReport())); got != "" {
		t.Errorf("a passing report has annotations: %q", got)
	}
}
