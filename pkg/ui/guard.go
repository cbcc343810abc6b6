package ui

import (
	"fmt"
	"github.com/atoll-tf/atoll/pkg/ci"
	"io"
	"strings"

	"github.com/atoll-tf/atoll/pkg/guard"
)

func (s *Styles) mark(r guard.Result) string {
	switch r {
	case guard.Pass:
		return s.Success.Render("✓")
	case guard.Fail:
		return s.Error.Render("✗")
	case guard.Warn:
		return s.Warning.Render("!")
	}
	return s.Muted.Render("–")
}

// GuardChecklist renders a guard report: one line per check with its
// detail and hint, then the verdict.
func GuardChecklist(w io.Writer, s *Styles, rep *guard.Report) error {
	var b strings.Builder
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	fmt.Fprintf(&b, "%s %s stage, %s mode: %s (%s) against %s (%s)\n\n", s.Bold.Render("atoll guard:"), rep.Stage, rep.Mode,
		orDash(rep.Branch), short(rep.Head), baseName(rep.Base), short(rep.BaseSHA))
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "%s %-*s  %s\n", s.mark(c.Result), width, c.Name, c.Detail)
		for _, bc := range c.Commits {
			line := short(bc.SHA) + " " + bc.Subject
			if len(bc.Projects) > 0 {
				line += " → " + strings.Join(bc.Projects, ", ")
			}
			fmt.Fprintf(&b, "  %*s  %s\n", width, "", s.Muted.Render(line))
		}
		if c.Hint != "" && (c.Result == guard.Fail || c.Result == guard.Warn) {
			fmt.Fprintf(&b, "  %*s  %s %s\n", width, "", s.Muted.Render("fix:"), c.Hint)
		}
	}
	b.WriteString("\n")
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(&b, "%s these checks were SKIPPED by configuration: %s\n", s.Warning.Render("warning:"), strings.Join(rep.Skipped, ", "))
	}
	if rep.Passed {
		fmt.Fprintf(&b, "%s\n", s.Success.Render(verdict(rep)))
	} else {
		fmt.Fprintf(&b, "%s\n", s.Error.Render(verdict(rep)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// baseName is the base ref as people write it: origin/main, main.
func baseName(ref string) string {
	return strings.TrimPrefix(strings.TrimPrefix(ref, "refs/remotes/"), "refs/heads/")
}

func verdict(rep *guard.Report) string {
	if rep.Passed {
		switch rep.Stage {
		case guard.StageMerge:
			return "PASSED: this branch may be merged"
		case guard.StageApply:
			return "PASSED: this branch may be applied"
		}
		return "PASSED"
	}
	var names []string
	for _, c := range rep.Failed() {
		names = append(names, c.Name)
	}
	return fmt.Sprintf("REFUSED: %d check(s) failed: %s", len(names), strings.Join(names, ", "))
}

// GuardMarkdown renders a guard report for PR comments and job summaries.
func GuardMarkdown(rep *guard.Report) string {
	var b strings.Builder
	icon := map[guard.Result]string{guard.Pass: "✅", guard.Fail: "❌", guard.Warn: "⚠️", guard.Skip: "➖"}
	fmt.Fprintf(&b, "### atoll guard (%s stage): %s\n\n", rep.Stage, verdict(rep))
	head := "`" + short(rep.Head) + "`"
	if rep.Branch != "" {
		head += " (`" + rep.Branch + "`)"
	}
	fmt.Fprintf(&b, "Head %s, base `%s` (`%s`), merge-base `%s`, %s mode.\n\n", head, baseName(rep.Base), short(rep.BaseSHA), short(rep.MergeBase), rep.Mode)
	b.WriteString("| | Check | Detail | Fix |\n|---|---|---|---|\n")
	for _, c := range rep.Checks {
		hint := ""
		if c.Result == guard.Fail || c.Result == guard.Warn {
			hint = c.Hint
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", icon[c.Result], c.Name, mdEscape(c.Detail), mdEscape(hint))
	}
	for _, c := range rep.Checks {
		if len(c.Commits) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nCommits of `%s` this branch lacks (%s):\n\n", baseName(rep.Base), c.Name)
		for _, bc := range c.Commits {
			line := "- `" + short(bc.SHA) + "` " + bc.Subject
			if len(bc.Projects) > 0 {
				line += " → " + strings.Join(bc.Projects, ", ")
			}
			b.WriteString(line + "\n")
		}
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> Skipped by configuration: %s\n", strings.Join(rep.Skipped, ", "))
	}
	return b.String()
}

// GuardAnnotations are the failed and warned checks, for CI annotations.
func GuardAnnotations(rep *guard.Report) []ci.Annotation {
	var out []ci.Annotation
	for _, c := range rep.Checks {
		level := ci.Error
		switch c.Result {
		case guard.Fail:
		case guard.Warn:
			level = ci.Warning
		default:
			continue
		}
		msg := c.Detail
		if c.Hint != "" {
			msg += ". Fix: " + c.Hint
		}
		out = append(out, ci.Annotation{Level: level, Title: "atoll guard: " + c.Name, Message: msg})
	}
	return out
}
