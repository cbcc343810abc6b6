// Package ui renders results for people (tables, colour) and machines (JSON,
// Markdown). It is atoll's only importer of lipgloss.
package ui

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IO is where a command reads and writes, and what kind of terminal it has.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutTTY is true when stdout is a terminal (or ATOLL_FORCE_TTY is set).
	OutTTY bool
	// Color is true when colour may be used on stdout.
	Color bool
}

// System returns the process's streams. ATOLL_FORCE_TTY=1 makes stdout
// count as a terminal (for tests of the terminal rendering); NO_COLOR turns
// colour off.
func System() *IO {
	tty := term.IsTerminal(int(os.Stdout.Fd()))
	if v := os.Getenv("ATOLL_FORCE_TTY"); v != "" && v != "0" && v != "false" {
		tty = true
	}
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, OutTTY: tty, Color: tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

// IsTerminal reports whether f is a terminal (ATOLL_FORCE_TTY counts).
func IsTerminal(f *os.File) bool {
	if v := os.Getenv("ATOLL_FORCE_TTY"); v != "" && v != "0" && v != "false" {
		return true
	}
	return term.IsTerminal(int(f.Fd()))
}
