package ui

import (
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/charmbracelet/lipgloss"
)

// MaxMarkdownPart is the most characters RunMarkdown puts in one part:
// GitHub rejects comments longer than 65,536.
const MaxMarkdownPart = 65000

// partReserve is room kept in each part for the "continued" header and footer.
const partReserve = 200

// RunColumns are the columns of RunTable.
var RunColumns = []string{"PROJECT", "RESULT", "CHANGES", "DURATION"}

// RunTable renders a plan or apply run as a terminal table, a one-line
// summary, and what went wrong with each project that did not succeed.
func RunTable(w io.Writer, s *Styles, rep *runner.Report) error {
	t := s.Table(RunColumns, 3)
	for _, p := range rep.Projects {
		name := s.projectCell(p.Name, p.Dir)
		dur := "-"
		if p.Duration > 0 {
			dur = formatDuration(p.Duration)
		}
		t.Row(name, s.runStatus(p.Status).Render(string(p.Status)), s.counts(p), s.Muted.Render(dur))
	}
	var b strings.Builder
	b.WriteString(t.Render())
	b.WriteString("\n")
	b.WriteString(runFooter(rep.Command, summarize(rep)))
	b.WriteString("\n")
	for _, p := range rep.Projects {
		if p.Warning != "" {
			fmt.Fprintf(&b, "%s %s: %s\n", s.Warning.Render("warning:"), p.Name, p.Warning)
		}
	}
	first := true
	for _, p := range rep.Projects {
		if !needsAttention(p.Status) {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		msg := p.Error
		if msg == "" {
			msg = string(p.Status)
		}
		fmt.Fprintf(&b, "%s: %s\n", s.runStatus(p.Status).Render(p.Name), indent(strings.TrimRight(msg, "\n"), "  "))
		if p.Hint != "" {
			fmt.Fprintf(&b, "  %s %s\n", s.Muted.Render("hint:"), indent(p.Hint, "        "))
		}
		if len(p.Changed) > 0 {
			fmt.Fprintf(&b, "  %s %s\n", s.Warning.Render("changed before it stopped:"), strings.Join(p.Changed, ", "))
		}
		if p.LogFile != "" {
			fmt.Fprintf(&b, "  %s %s\n", s.Muted.Render("log:"), p.LogFile)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runStatus is the style of a project result.
func (s *Styles) runStatus(st runner.Status) lipgloss.Style {
	switch st {
	case runner.StatusPlanned:
		return s.Change
	case runner.StatusNoChanges:
		return s.Muted
	case runner.StatusApplied:
		return s.Success
	case runner.StatusFailed, runner.StatusRefused:
		return s.Error
	case runner.StatusSkipped, runner.StatusNeedsDestroy:
		return s.Warning
	}
	return s.Bold
}

// counts is the CHANGES cell: zero counts muted, others in their colour.
func (s *Styles) counts(p runner.ProjectResult) string {
	if !hasCounts(p.Status) {
		return s.Muted.Render("-")
	}
	c := p.Counts
	part := func(st lipgloss.Style, sign string, n int) string {
		if n == 0 {
			return s.Muted.Render(fmt.Sprintf("%s%d", sign, n))
		}
		return st.Render(fmt.Sprintf("%s%d", sign, n))
	}
	out := strings.Join([]string{
		part(s.Add, "+", c.Add),
		part(s.Change, "~", c.Change),
		part(s.Rename, "±", c.Replace),
		part(s.Destroy, "-", c.Destroy),
	}, " ")
	if c.Import > 0 {
		out += " " + part(s.Add, "↓", c.Import)
	}
	return out
}

// FormatCounts is the plain form of a project's changes, e.g.
// "+1 ~0 ±2 -0" or "+1 ~0 ±0 -0 ↓3" with imports.
func FormatCounts(c runner.Counts) string {
	out := fmt.Sprintf("+%d ~%d ±%d -%d", c.Add, c.Change, c.Replace, c.Destroy)
	if c.Import > 0 {
		out += fmt.Sprintf(" ↓%d", c.Import)
	}
	return out
}

// hasCounts reports whether a project with this status has meaningful
// counts: the others never got a plan, or failed before it mattered.
func hasCounts(st runner.Status) bool {
	return st == runner.StatusPlanned || st == runner.StatusNoChanges || st == runner.StatusApplied
}

// needsAttention reports whether a project did not do its job.
func needsAttention(st runner.Status) bool {
	switch st {
	case runner.StatusFailed, runner.StatusRefused, runner.StatusSkipped, runner.StatusNeedsDestroy:
		return true
	}
	return false
}

// summarize counts the outcomes from the project results, so that the
// rendering never disagrees with the rows above it.
func summarize(rep *runner.Report) runner.Summary {
	r := *rep
	r.Summarize()
	return r.Summary
}

// runFooter is e.g. "5 projects: 3 with changes, 1 without, 1 failed": the
// command's main category always, the others only when non-zero.
func runFooter(command string, sum runner.Summary) string {
	type category struct {
		n     int
		label string
	}
	var cats []category
	if command == "apply" {
		cats = []category{{sum.Applied, "applied"}, {sum.WithChanges, "planned"}, {sum.NoChanges, "without changes"}}
	} else {
		cats = []category{{sum.WithChanges, "with changes"}, {sum.NoChanges, "without"}, {sum.Applied, "applied"}}
	}
	cats = append(cats, category{sum.Failed, "failed"}, category{sum.Refused, "refused"}, category{sum.Skipped, "skipped"})
	parts := []string{fmt.Sprintf("%d %s", cats[0].n, cats[0].label)}
	for _, c := range cats[1:] {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.label))
		}
	}
	return fmt.Sprintf("%d %s: %s", sum.Total, plural(sum.Total, "project", "projects"), strings.Join(parts, ", "))
}

// formatDuration rounds for people: 0.4s, 12.3s, 1m03s, 1h02m03s.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if r := d.Round(100 * time.Millisecond); r < time.Minute {
		return fmt.Sprintf("%.1fs", r.Seconds())
	}
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, sec)
	}
	return fmt.Sprintf("%dm%02ds", m, sec)
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// RunMarkdown renders a plan or apply run for a PR comment or
// $GITHUB_STEP_SUMMARY: a headline, the commits, a summary table, then each
// project's plan (or error) in a collapsed <details>. The result is split into
// parts of at most MaxMarkdownPart characters, each valid Markdown on its
// own; the summary is always in the first. A plan too long for a part of
// its own is truncated, with a note naming the log file that has all of it.
func RunMarkdown(rep *runner.Report) []string {
	sum := summarize(rep)
	budget := MaxMarkdownPart - partReserve
	var bodies []string
	var cur strings.Builder
	cur.WriteString(markdownSummary(rep, sum, budget))
	for _, p := range rep.Projects {
		blk := detailsBlock(p, budget)
		if blk == "" {
			continue
		}
		if cur.Len() > 0 && cur.Len()+1+len(blk) > budget {
			bodies = append(bodies, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString("\n")
		}
		cur.WriteString(blk)
	}
	bodies = append(bodies, cur.String())

	n := len(bodies)
	cmd := command(rep)
	for i := range bodies {
		if i > 0 {
			bodies[i] = fmt.Sprintf("### atoll %s (continued, part %d of %d)\n\n", cmd, i+1, n) + bodies[i]
		}
		if i < n-1 {
			bodies[i] += fmt.Sprintf("\n_Continued in part %d of %d._\n", i+2, n)
		}
	}
	return bodies
}

func command(rep *runner.Report) string {
	if rep.Command == "" {
		return "plan"
	}
	return rep.Command
}

// markdownSummary is the headline, the commits and the table. Rows that would
// take it past limit are left out, with a note.
func markdownSummary(rep *runner.Report, sum runner.Summary, limit int) string {
	var b strings.Builder
	cmd := command(rep)
	b.WriteString("### atoll " + cmd + ": ")
	switch {
	case sum.Total == 0:
		b.WriteString("no projects")
	case cmd == "apply":
		fmt.Fprintf(&b, "%d of %d %s applied", sum.Applied, sum.Total, plural(sum.Total, "project", "projects"))
	default:
		fmt.Fprintf(&b, "%d of %d %s %s", sum.WithChanges, sum.Total, plural(sum.Total, "project", "projects"), plural(sum.WithChanges, "has changes", "have changes"))
	}
	for _, c := range []struct {
		n     int
		label string
	}{{sum.Failed, "failed"}, {sum.Refused, "refused"}, {sum.Skipped, "skipped"}} {
		if c.n > 0 {
			fmt.Fprintf(&b, ", %d %s", c.n, c.label)
		}
	}
	b.WriteString("\n\n")
	head := "`" + short(rep.Head) + "`"
	if rep.Branch != "" {
		head += " (`" + mdEscape(rep.Branch) + "`)"
	}
	fmt.Fprintf(&b, "Head %s, base `%s` (`%s`), merge-base `%s`.\n", head, mdEscape(rep.Base), short(rep.BaseSHA), short(rep.MergeBase))
	if sum.Total == 0 {
		return b.String()
	}

	imports := false
	for _, p := range rep.Projects {
		imports = imports || (hasCounts(p.Status) && p.Counts.Import > 0)
	}
	b.WriteString("\n| Project | Result | + | ~ | ± | - |")
	sep := "\n|---|---|--:|--:|--:|--:|"
	if imports {
		b.WriteString(" ↓ |")
		sep += "--:|"
	}
	b.WriteString(sep + "\n")
	for i, p := range rep.Projects {
		result := string(p.Status)
		if p.Status == runner.StatusFailed || p.Status == runner.StatusRefused {
			result = "**" + result + "**"
		}
		cells := []string{"-", "-", "-", "-"}
		if hasCounts(p.Status) {
			c := p.Counts
			cells = []string{fmt.Sprint(c.Add), fmt.Sprint(c.Change), fmt.Sprint(c.Replace), fmt.Sprint(c.Destroy)}
		}
		if imports {
			cells = append(cells, "-")
			if hasCounts(p.Status) {
				cells[4] = fmt.Sprint(p.Counts.Import)
			}
		}
		row := fmt.Sprintf("| `%s` | %s | %s |\n", mdEscape(p.Name), result, strings.Join(cells, " | "))
		if b.Len()+len(row) > limit-100 {
			left := len(rep.Projects) - i
			fmt.Fprintf(&b, "\n(%d more %s not shown: `atoll %s --output json` lists all)\n", left, plural(left, "project", "projects"), cmd)
			break
		}
		b.WriteString(row)
	}
	// What the terminal table says under a project (a plan that would
	// revert another branch's apply) a reviewer must see too.
	first := true
	for _, p := range rep.Projects {
		if p.Warning == "" {
			continue
		}
		line := fmt.Sprintf("> **Warning** `%s`: %s\n", mdEscape(p.Name), mdEscape(p.Warning))
		if b.Len()+len(line) > limit-100 {
			break
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		b.WriteString(line)
	}
	return b.String()
}

// codeBlock is text shown in a fenced code block, possibly shortened.
type codeBlock struct {
	lang string
	text string
	cut  int // characters left out
}

// shorten drops at least n bytes from the end, at a line break when one is
// near, else at a character boundary.
func (c *codeBlock) shorten(n int) {
	keep := max(len(c.text)-n, 0)
	if i := strings.LastIndexByte(c.text[:keep], '\n'); i >= keep/2 {
		keep = i
	}
	for keep > 0 && !utf8.RuneStart(c.text[keep]) {
		keep--
	}
	c.cut += utf8.RuneCountInString(c.text[keep:])
	c.text = c.text[:keep]
}

// detailsBlock is one project's <details>, at most limit bytes long; "" when
// there is nothing to show beyond the table row.
func detailsBlock(p runner.ProjectResult, limit int) string {
	errText := codeBlock{lang: "text", text: strings.TrimRight(p.Error, "\n")}
	var plan codeBlock
	if p.Status != runner.StatusNoChanges {
		plan.lang, plan.text = planCode(strings.TrimRight(p.PlanText, "\n"))
	}
	if errText.text == "" && plan.text == "" && p.Hint == "" {
		return ""
	}
	blk := renderDetails(p, errText, plan)
	for len(blk) > limit {
		longest := &plan
		if len(errText.text) > len(plan.text) {
			longest = &errText
		}
		if longest.text == "" {
			break
		}
		// Leave room for the truncation note, whose length depends on the cut.
		longest.shorten(len(blk) - limit + 100 + len(p.LogFile))
		blk = renderDetails(p, errText, plan)
	}
	return blk
}

// renderDetails lays out a project: error, hint and log file, then the plan.
// Failures are open: they are what the reader has to act on.
func renderDetails(p runner.ProjectResult, errText, plan codeBlock) string {
	var b strings.Builder
	summary := p.Name + ": " + string(p.Status)
	if hasCounts(p.Status) {
		summary = p.Name + ": " + FormatCounts(p.Counts)
	}
	open := ""
	if needsAttention(p.Status) {
		open = " open"
	}
	fmt.Fprintf(&b, "<details%s><summary>%s</summary>\n\n", open, html.EscapeString(summary))
	writeCode(&b, errText, p.LogFile)
	if p.Hint != "" {
		fmt.Fprintf(&b, "**Hint:** %s\n\n", p.Hint)
	}
	if needsAttention(p.Status) && len(p.Changed) > 0 {
		fmt.Fprintf(&b, "Changed before it stopped: `%s`\n\n", strings.Join(p.Changed, "`, `"))
	}
	if p.Error != "" && p.LogFile != "" {
		fmt.Fprintf(&b, "Log file: `%s`\n\n", p.LogFile)
	}
	writeCode(&b, plan, p.LogFile)
	b.WriteString("</details>\n")
	return b.String()
}

// writeCode writes c fenced, and a note when it was truncated.
func writeCode(b *strings.Builder, c codeBlock, logFile string) {
	if c.text == "" && c.cut == 0 {
		return
	}
	fence := codeFence(c.text)
	fmt.Fprintf(b, "%s%s\n%s\n%s\n\n", fence, c.lang, c.text, fence)
	if c.cut > 0 {
		fmt.Fprintf(b, "(truncated: %d more characters", c.cut)
		if logFile != "" {
			fmt.Fprintf(b, "; see the log file `%s`", logFile)
		}
		b.WriteString(")\n\n")
	}
}

// codeFence is a fence longer than any run of backticks in text, so that a
// plan quoting Markdown cannot close it early.
func codeFence(text string) string {
	longest, run := 0, 0
	for i := 0; i < len(text); i++ {
		if text[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// planMarker matches a Terraform plan line that starts with a change marker
// after its indentation.
var planMarker = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^( *)(-/\+|\+/-|[-+~])( )`) })

// planCode moves Terraform's change markers to the start of the line so that
// GitHub colours the plan as a diff ("~" becomes "!", which it also marks);
// a plan without markers stays HCL.
func planCode(plan string) (lang, text string) {
	if !planMarker().MatchString(plan) {
		return "hcl", plan
	}
	return "diff", planMarker().ReplaceAllStringFunc(plan, func(m string) string {
		sub := planMarker().FindStringSubmatch(m)
		marker := sub[2]
		if marker == "~" {
			marker = "!"
		}
		return marker + sub[1] + sub[3]
	})
}
