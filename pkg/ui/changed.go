package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// maxReasons is how many reasons a terminal row shows before "+N more".
const maxReasons = 4

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// FormatReason is the one-line form of a reason, e.g.
// "conf/prod/vpc <- modules/network <- modules/subnets/main.tf".
func FormatReason(r affected.Reason) string {
	switch r.Kind {
	case affected.KindModule:
		// The last module of the chain holds Path, which names it already.
		via := r.Via
		if len(via) > 1 {
			via = via[:len(via)-1]
		}
		parts := append(append([]string{}, via...), r.Path)
		for i := range parts {
			parts[i] = Printable(parts[i])
		}
		return strings.Join(parts, " <- ")
	case affected.KindWatch, affected.KindGlobalWatch:
		if len(r.Via) > 0 {
			return fmt.Sprintf("%s (matches %s)", Printable(r.Path), Printable(r.Via[0]))
		}
	}
	return Printable(r.Path)
}

// Printable is s as it is, or Go-quoted when it holds a character that
// would split or corrupt a line of a table (a changed file may be named
// anything; JSON output carries it exactly).
func Printable(s string) string {
	if _, bad := project.Unprintable(s); bad {
		return strconv.Quote(s)
	}
	return s
}

// StatusNote explains a status that needs action.
func StatusNote(p affected.Project) string {
	switch p.Status {
	case affected.Deleted:
		return "its infrastructure still exists: it needs a destroy"
	case affected.Renamed:
		return "moved from " + p.From + ": in geodesic the state key follows the path, so migrate the state or destroy the old one"
	}
	return ""
}

func (s *Styles) status(st affected.Status) string {
	switch st {
	case affected.Added:
		return s.Add.Render(string(st))
	case affected.Deleted:
		return s.Destroy.Render(string(st))
	case affected.Renamed:
		return s.Rename.Render(string(st))
	}
	return s.Change.Render(string(st))
}

// ChangedColumns are the columns of ChangedTable.
var ChangedColumns = []string{"PROJECT", "STATUS", "WHY"}

// ChangedTable renders affected projects as a terminal table.
func ChangedTable(w io.Writer, s *Styles, rep *scan.Report) error {
	t := s.Table(ChangedColumns)
	for _, p := range rep.Projects {
		var why []string
		for i, r := range p.Reasons {
			if i == maxReasons {
				why = append(why, s.Muted.Render(fmt.Sprintf("(+%d more: --output json lists all)", len(p.Reasons)-maxReasons)))
				break
			}
			why = append(why, s.Muted.Render(fmt.Sprintf("%-12s", r.Kind))+" "+FormatReason(r))
		}
		if note := StatusNote(p); note != "" {
			why = append(why, s.Warning.Render(note))
		}
		name := s.projectCell(Printable(p.Name), Printable(p.Dir))
		t.Row(name, s.status(p.Status), strings.Join(why, "\n"))
	}
	_, err := fmt.Fprintln(w, t.Render())
	return err
}

// ChangedPlain writes one project directory per line, for shell loops.
func ChangedPlain(w io.Writer, rep *scan.Report) error {
	for _, p := range rep.Projects {
		if _, err := fmt.Fprintln(w, p.Dir); err != nil {
			return err
		}
	}
	return nil
}

// ChangedMatrix writes a GitHub Actions matrix: {"include":[{project,dir}]}.
// Deleted projects are left out: there is nothing at HEAD to run in them.
func ChangedMatrix(w io.Writer, rep *scan.Report) error {
	type entry struct {
		Project string `json:"project"`
		Dir     string `json:"dir"`
		Status  string `json:"status"`
	}
	m := struct {
		Include []entry `json:"include"`
	}{Include: []entry{}}
	for _, p := range rep.Projects {
		if p.Status == affected.Deleted {
			continue
		}
		m.Include = append(m.Include, entry{p.Name, p.Dir, string(p.Status)})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// ChangedMarkdown renders a PR comment or job summary.
func ChangedMarkdown(w io.Writer, rep *scan.Report) error {
	var b strings.Builder
	n := len(rep.Projects)
	fmt.Fprintf(&b, "### atoll: %d %s affected\n\n", n, plural(n, "project", "projects"))
	fmt.Fprintf(&b, "Compared `%s` with the merge-base `%s` of `%s` (`%s`).\n\n", short(rep.Head.SHA), short(rep.MergeBase), rep.Base.Ref, short(rep.Base.SHA))
	if n > 0 {
		b.WriteString("| Project | Status | Why |\n|---|---|---|\n")
		for _, p := range rep.Projects {
			var why []string
			for _, r := range p.Reasons {
				why = append(why, fmt.Sprintf("%s `%s`", r.Kind, mdEscape(FormatReason(r))))
			}
			if note := StatusNote(p); note != "" {
				why = append(why, "**"+mdEscape(note)+"**")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdEscape(p.Name), p.Status, strings.Join(why, "<br>"))
		}
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> %s\n", mdEscape(warn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	if sha == "" {
		return "(none)"
	}
	return sha
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
