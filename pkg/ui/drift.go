package ui

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/atoll-tf/atoll/pkg/drift"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/charmbracelet/lipgloss"
)

// DriftColumns are the columns of DriftTable.
var DriftColumns = []string{"PROJECT", "STATUS", "CHANGES", "WHY"}

// driftLabel is a status as people read it.
func driftLabel(st drift.Status) string {
	if st == drift.InSync {
		return "in sync"
	}
	return string(st)
}

func (s *Styles) driftStatus(st drift.Status) lipgloss.Style {
	switch st {
	case drift.InSync:
		return s.Success
	case drift.Drift:
		return s.Warning
	}
	return s.Error
}

// driftWhy is the WHY cell: the cause in a few words.
func driftWhy(p drift.Project) string {
	switch {
	case p.Status == drift.Error:
		return "could not be planned"
	case p.Status == drift.InSync:
		return "-"
	case p.Cause == drift.UnmergedApply && p.LastApply != nil:
		a := p.LastApply
		what := "unmerged apply"
		if a.Result != "success" {
			what += " (" + a.Result + ")"
		}
		return fmt.Sprintf("%s from branch %s (%s, by %s, %s)", what, orDash(a.Branch), short8(a.Head), a.Who.String(), a.Time.UTC().Format("2006-01-02 15:04Z"))
	case p.Cause == drift.OutsideAtoll:
		return "changed outside atoll"
	}
	return "cause unknown: the ledger could not be read"
}

func driftCounts(p drift.Project) string {
	if p.Status == drift.Error {
		return "-"
	}
	c := p.Changes
	out := FormatCounts(runner.Counts{Add: c.Add, Change: c.Change, Replace: c.Replace, Destroy: c.Destroy, Import: c.Import})
	if c.Outputs > 0 {
		out += fmt.Sprintf(" (%d output%s)", c.Outputs, plural(c.Outputs, "", "s"))
	}
	return out
}

// driftVerdict is the report's one line: "main == production" or not.
func driftVerdict(rep *drift.Report) string {
	sum := rep.Summary
	switch {
	case sum.Drift > 0:
		v := fmt.Sprintf("%s != production: %d of %d %s drift%s", rep.Base, sum.Drift, sum.Total, plural(sum.Total, "project", "projects"), plural(sum.Drift, "s", ""))
		if sum.Error > 0 {
			v += fmt.Sprintf(", %d could not be planned", sum.Error)
		}
		return v
	case sum.Error > 0:
		return fmt.Sprintf("unknown: %d of %d %s could not be planned", sum.Error, sum.Total, plural(sum.Total, "project", "projects"))
	}
	return fmt.Sprintf("%s == production: %d %s in sync", rep.Base, sum.Total, plural(sum.Total, "project", "projects"))
}

func driftFooter(rep *drift.Report) string {
	sum := rep.Summary
	parts := []string{fmt.Sprintf("%d in sync", sum.InSync)}
	if sum.Drift > 0 {
		parts = append(parts, fmt.Sprintf("%d drifting", sum.Drift))
	}
	if sum.Error > 0 {
		parts = append(parts, fmt.Sprintf("%d could not be planned", sum.Error))
	}
	return fmt.Sprintf("%d %s against %s (%s): %s", sum.Total, plural(sum.Total, "project", "projects"), rep.Base, short8(rep.BaseSHA), strings.Join(parts, ", "))
}

func resourceList(rs []drift.Resource) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Address+" ("+r.Action+")")
	}
	return strings.Join(out, ", ")
}

// DriftTable renders a drift report for people: one row per project, a
// verdict, then what drifts (and why) and what could not be planned.
func DriftTable(w io.Writer, s *Styles, rep *drift.Report) error {
	var b strings.Builder
	if len(rep.Projects) == 0 {
		fmt.Fprintf(&b, "No projects on %s (%s).\n", rep.Base, short8(rep.BaseSHA))
		_, err := io.WriteString(w, b.String())
		return err
	}
	t := s.Table(DriftColumns)
	for _, p := range rep.Projects {
		t.Row(s.projectCell(p.Name, withWorkspace(p.Dir, p.Workspace)), s.driftStatus(p.Status).Render(driftLabel(p.Status)), driftCounts(p), driftWhy(p))
	}
	b.WriteString(t.Render())
	b.WriteString("\n" + driftFooter(rep) + "\n")
	if rep.LedgerError != "" {
		fmt.Fprintf(&b, "%s the apply ledger could not be read (%s): drift causes are unknown\n", s.Warning.Render("warning:"), rep.LedgerError)
	}
	first := true
	for _, p := range rep.Projects {
		if p.Status == drift.InSync {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		name := withWorkspace(p.Dir, p.Workspace)
		if p.Status == drift.Error {
			fmt.Fprintf(&b, "%s: %s\n", s.Error.Render(name), indent(strings.TrimRight(p.Error, "\n"), "  "))
		} else {
			fmt.Fprintf(&b, "%s: %s\n", s.Warning.Render(name), p.Why)
			if len(p.Resources) > 0 {
				fmt.Fprintf(&b, "  %s %s\n", s.Muted.Render("would change:"), resourceList(p.Resources))
			}
		}
		if p.Hint != "" {
			fmt.Fprintf(&b, "  %s %s\n", s.Muted.Render("hint:"), indent(p.Hint, "        "))
		}
		if p.LogFile != "" && p.Status == drift.Error && !strings.Contains(p.Hint, p.LogFile) {
			fmt.Fprintf(&b, "  %s %s\n", s.Muted.Render("log:"), p.LogFile)
		}
	}
	verdict := s.Success
	if rep.Summary.Drift > 0 || rep.Summary.Error > 0 {
		verdict = s.Error
	}
	fmt.Fprintf(&b, "\n%s\n", verdict.Render(driftVerdict(rep)))
	_, err := io.WriteString(w, b.String())
	return err
}

// DriftMarkdown renders a drift report for $GITHUB_STEP_SUMMARY, an issue
// or a chat message: the verdict, one table row per project, then the
// resources each drifting project would change.
func DriftMarkdown(rep *drift.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### atoll drift: %s\n\n", mdEscape(driftVerdict(rep)))
	fetched := "as last fetched"
	if rep.Fetched {
		fetched = "fetched just now"
	}
	fmt.Fprintf(&b, "Planned `%s` at `%s` (%s)", baseName(rep.BaseRef), short8(rep.BaseSHA), fetched)
	if rep.Ledger != "" {
		fmt.Fprintf(&b, "; apply ledger on `%s`", rep.Ledger)
	}
	b.WriteString(".\n\n")
	if rep.LedgerError != "" {
		fmt.Fprintf(&b, "> [!WARNING]\n> The apply ledger could not be read (%s): drift causes are unknown.\n\n", mdEscape(rep.LedgerError))
	}
	if len(rep.Projects) == 0 {
		b.WriteString("No projects.\n")
		return b.String()
	}
	icon := map[drift.Status]string{drift.InSync: "✅", drift.Drift: "⚠️", drift.Error: "❌"}
	b.WriteString("| | Project | Status | Changes | Why |\n|---|---|---|---|---|\n")
	for _, p := range rep.Projects {
		why := driftWhy(p)
		if p.Status == drift.Error {
			why = p.Error
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", icon[p.Status], mdEscape(withWorkspace(p.Dir, p.Workspace)), driftLabel(p.Status), driftCounts(p), mdEscape(oneLine(why)))
	}
	for _, p := range rep.Projects {
		if p.Status == drift.InSync {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary><code>%s</code>: %s</summary>\n\n", html.EscapeString(withWorkspace(p.Dir, p.Workspace)), html.EscapeString(driftLabel(p.Status)))
		if p.Status == drift.Drift {
			fmt.Fprintf(&b, "%s\n\n", mdEscape(p.Why))
			for _, r := range p.Resources {
				fmt.Fprintf(&b, "- `%s` (%s)\n", r.Address, r.Action)
			}
			if p.Changes.Outputs > 0 {
				fmt.Fprintf(&b, "- %d output%s\n", p.Changes.Outputs, plural(p.Changes.Outputs, "", "s"))
			}
			b.WriteString("\n")
		} else {
			writeCode(&b, codeBlock{text: strings.TrimRight(p.Error, "\n")}, p.LogFile)
		}
		if p.Hint != "" {
			fmt.Fprintf(&b, "Hint: %s\n", mdEscape(p.Hint))
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
