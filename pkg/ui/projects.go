package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/atoll-tf/atoll/pkg/project"
)

// ProjectsColumns are the columns of ProjectsTable.
var ProjectsColumns = []string{"PROJECT", "LOCAL MODULES", "NOTES"}

// ProjectsTable renders discovered projects as a terminal table; settings
// names the file that declares projects (atoll.yaml, or atlantis.yaml when
// the projects come from it).
func ProjectsTable(w io.Writer, s *Styles, g *project.Graph, settings string) error {
	t := s.Table(ProjectsColumns)
	for _, p := range g.Projects {
		name := s.projectCell(p.Name, p.Dir)
		var mods []string
		for _, m := range p.Modules {
			mods = append(mods, m.Dir)
		}
		var notes []string
		if p.Declared {
			notes = append(notes, "declared in "+settings)
		}
		switch {
		case p.Source != "":
			notes = append(notes, "code from -from-module "+p.Source)
		case p.FromModule:
			notes = append(notes, "code from -from-module, source computed in "+p.SourceFrom)
		}
		if len(p.Watch) > 0 {
			notes = append(notes, "watch: "+strings.Join(p.Watch, ", "))
		}
		if len(p.DependsOn) > 0 {
			notes = append(notes, "after: "+strings.Join(p.DependsOn, ", "))
		}
		t.Row(name, s.Muted.Render(orDash(strings.Join(mods, "\n"))), strings.Join(notes, "\n"))
	}
	_, err := fmt.Fprintln(w, t.Render())
	if err == nil {
		_, err = fmt.Fprintf(w, "%d %s\n", len(g.Projects), plural(len(g.Projects), "project", "projects"))
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
