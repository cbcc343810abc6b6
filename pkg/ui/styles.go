package ui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/muesli/termenv"
)

// Styles are the semantic styles of atoll's terminal output.
type Styles struct {
	r       *lipgloss.Renderer
	Header  lipgloss.Style
	Add     lipgloss.Style
	Change  lipgloss.Style
	Destroy lipgloss.Style
	Rename  lipgloss.Style
	Error   lipgloss.Style
	Warning lipgloss.Style
	Success lipgloss.Style
	Muted   lipgloss.Style
	Bold    lipgloss.Style
	Border  lipgloss.Style
}

// NewStyles returns styles for writing to w, with or without colour.
func NewStyles(w io.Writer, color bool) *Styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := &Styles{r: r}
	s.Header = r.NewStyle().Bold(true)
	s.Add = r.NewStyle().Foreground(lipgloss.Color("2"))
	s.Change = r.NewStyle().Foreground(lipgloss.Color("3"))
	s.Destroy = r.NewStyle().Foreground(lipgloss.Color("1"))
	s.Rename = r.NewStyle().Foreground(lipgloss.Color("5"))
	s.Error = r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	s.Warning = r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true)
	s.Success = r.NewStyle().Foreground(lipgloss.Color("2")).Bold(true)
	s.Muted = r.NewStyle().Foreground(lipgloss.Color("8"))
	s.Bold = r.NewStyle().Bold(true)
	s.Border = r.NewStyle().Foreground(lipgloss.Color("8"))
	return s
}

// Cell returns a plain style for table cells (padding only).
func (s *Styles) Cell() lipgloss.Style { return s.r.NewStyle().Padding(0, 1) }

// Table starts a terminal table with atoll's look; rightAligned columns
// (by index) hold numbers or durations.
func (s *Styles) Table(headers []string, rightAligned ...int) *table.Table {
	return table.New().Border(lipgloss.RoundedBorder()).BorderStyle(s.Border).
		Headers(headers...).
		StyleFunc(func(row, col int) lipgloss.Style {
			if row == table.HeaderRow {
				return s.Header.Padding(0, 1)
			}
			for _, c := range rightAligned {
				if c == col {
					return s.Cell().Align(lipgloss.Right)
				}
			}
			return s.Cell()
		})
}

// projectCell names a project, with its directory below when they differ.
func (s *Styles) projectCell(name, dir string) string {
	if dir != "" && name != dir {
		return name + "\n" + s.Muted.Render(dir)
	}
	return name
}
