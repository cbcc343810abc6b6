package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"
)

// spinnerFrames are the braille frames of a running project's spinner.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// progressInterval is how often a terminal display is redrawn.
const progressInterval = 100 * time.Millisecond

const (
	cursorUp  = "\x1b[%dA"
	clearLine = "\x1b[2K"
	clearDown = "\x1b[J"
)

// Progress shows how a plan or apply run is going. On a terminal it keeps one
// line per unfinished project (spinner, phase, elapsed time) redrawn in place,
// and prints a project's line for good, with a ✓, ✗ or – mark, when it
// finishes. Elsewhere (CI logs) it writes one plain timestamped line per event.
// Handle may be called from several goroutines; Stop must be called once the
// run is over.
type Progress struct {
	// Now is the clock. Set it before the first Handle.
	Now func() time.Time

	w             io.Writer
	s             *Styles
	tty           bool
	width, height int // of the terminal; 0 when unknown

	mu        sync.Mutex
	rows      []*progressRow
	byName    map[string]*progressRow
	nameWidth int
	live      int // lines of the live area last drawn, below the cursor's row
	frame     int
	started   bool
	stopped   bool
	stop      chan struct{}
	done      chan struct{}
}

type progressRow struct {
	name    string
	phase   runner.Phase
	detail  string    // e.g. a wait for the state lock
	start   time.Time // when it left the queue
	end     time.Time
	result  *runner.ProjectResult
	printed bool // finished and written above the live area
}

func (r *progressRow) finished() bool { return r.phase == runner.PhaseDone }

// NewProgress returns a display of the projects names, in that order, on w.
// tty selects the terminal display.
func NewProgress(w io.Writer, s *Styles, tty bool, names []string) *Progress {
	p := &Progress{
		Now:    time.Now,
		w:      w,
		s:      s,
		tty:    tty,
		byName: map[string]*progressRow{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if f, ok := w.(interface{ Fd() uintptr }); ok && tty {
		if wd, ht, err := term.GetSize(int(f.Fd())); err == nil {
			p.width, p.height = wd, ht
		}
	}
	for _, n := range names {
		p.row(n)
	}
	return p
}

func (p *Progress) row(name string) *progressRow {
	r, ok := p.byName[name]
	if !ok {
		r = &progressRow{name: name, phase: runner.PhaseQueued}
		p.byName[name] = r
		p.rows = append(p.rows, r)
		p.nameWidth = max(p.nameWidth, lipgloss.Width(name))
	}
	return r
}

// Handle records an event and shows it. Events after Stop are ignored.
func (p *Progress) Handle(ev runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	at := ev.Time
	if at.IsZero() {
		at = p.Now()
	}
	r := p.row(ev.Project)
	if ev.Detail != "" && r.phase == ev.Phase && r.detail == ev.Detail {
		return // nothing new to show
	}
	r.phase, r.detail = ev.Phase, ev.Detail
	if ev.Phase != runner.PhaseQueued && r.start.IsZero() {
		r.start = at
	}
	if ev.Phase == runner.PhaseDone {
		r.end = at
		r.result = ev.Result
	}
	if !p.tty {
		// Progress is best effort: a failing stderr must not fail the run.
		_, _ = fmt.Fprintln(p.w, at.UTC().Format(time.RFC3339)+" "+p.eventLine(r))
		return
	}
	if !p.started {
		p.started = true
		go p.tick()
	}
	p.draw(false)
}

// Stop draws the final state, with unfinished projects marked as stopped,
// and returns once the redrawing goroutine has ended.
func (p *Progress) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	started := p.started
	p.mu.Unlock()
	if !started {
		return
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(true)
}

func (p *Progress) tick() {
	defer close(p.done)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			p.draw(false)
			p.mu.Unlock()
		}
	}
}

// draw moves up over the live area, prints the newly finished projects (and,
// when final, the unfinished ones) above it for good, then redraws it.
func (p *Progress) draw(final bool) {
	var b strings.Builder
	if p.live > 0 {
		fmt.Fprintf(&b, cursorUp, p.live)
	}
	for _, r := range p.rows {
		if !r.printed && (r.finished() || final) {
			b.WriteString(clearLine + p.fit(p.line(r)) + "\n")
			r.printed = true
		}
	}
	live := p.liveLines()
	for _, l := range live {
		b.WriteString(clearLine + p.fit(l) + "\n")
	}
	b.WriteString(clearDown)
	p.live = len(live)
	_, _ = io.WriteString(p.w, b.String())
}

// liveLines are the unfinished projects, running ones first when they do not
// all fit on the terminal.
func (p *Progress) liveLines() []string {
	var running, queued []*progressRow
	for _, r := range p.rows {
		switch {
		case r.printed:
		case r.phase == runner.PhaseQueued:
			queued = append(queued, r)
		default:
			running = append(running, r)
		}
	}
	n := len(running) + len(queued)
	if p.height <= 2 || n < p.height {
		var lines []string
		for _, r := range p.rows {
			if !r.printed {
				lines = append(lines, p.line(r))
			}
		}
		return lines
	}
	var lines []string
	for _, r := range append(running, queued...)[:p.height-2] {
		lines = append(lines, p.line(r))
	}
	more := n - (p.height - 2)
	return append(lines, p.s.Muted.Render(fmt.Sprintf("  … and %d more", more)))
}

// line is a project's line on the terminal.
func (p *Progress) line(r *progressRow) string {
	name := r.name + strings.Repeat(" ", p.nameWidth-lipgloss.Width(r.name))
	switch {
	case r.finished() && r.result != nil:
		res := r.result
		st := p.s.runStatus(res.Status)
		text := st.Render(string(res.Status))
		if counts := resultCounts(res); counts != "" {
			text += " " + counts
		}
		return fmt.Sprintf("%s %s  %s  %s", st.Render(mark(res.Status)), name, text, p.s.Muted.Render(formatDuration(p.duration(r))))
	case r.finished():
		return fmt.Sprintf("%s %s  done  %s", p.s.Success.Render("✓"), name, p.s.Muted.Render(formatDuration(p.duration(r))))
	case p.stopped && r.phase == runner.PhaseQueued:
		return fmt.Sprintf("%s %s  %s", p.s.Muted.Render("–"), name, p.s.Muted.Render("not started"))
	case p.stopped:
		return fmt.Sprintf("%s %s  %s  %s", p.s.Warning.Render("–"), name, p.s.Warning.Render("stopped during "+string(r.phase)), p.s.Muted.Render(formatDuration(p.Now().Sub(r.start))))
	case r.phase == runner.PhaseQueued:
		return fmt.Sprintf("%s %s  %s", p.s.Muted.Render("·"), name, p.s.Muted.Render("queued"))
	}
	spin := spinnerFrames[p.frame%len(spinnerFrames)]
	line := fmt.Sprintf("%s %s  %-8s  %s", p.s.Change.Render(spin), name, r.phase, p.s.Muted.Render(formatDuration(p.Now().Sub(r.start))))
	if r.detail != "" {
		line += "  " + p.s.Warning.Render(r.detail)
	}
	return line
}

// fit cuts a line to the terminal's width: a wrapped line would throw the
// cursor-up count off.
func (p *Progress) fit(line string) string {
	if p.width <= 1 {
		return line
	}
	return p.s.r.NewStyle().MaxWidth(p.width - 1).Render(line)
}

// duration is how long a finished project took: its own measure if it has one.
func (p *Progress) duration(r *progressRow) time.Duration {
	if r.result != nil && r.result.Duration > 0 {
		return r.result.Duration
	}
	return r.end.Sub(r.start)
}

// eventLine is a plain line for a log, without the timestamp.
func (p *Progress) eventLine(r *progressRow) string {
	if !r.finished() {
		if r.detail != "" {
			return r.name + " " + string(r.phase) + ": " + r.detail
		}
		return r.name + " " + string(r.phase)
	}
	if r.result == nil {
		return r.name + " done (" + formatDuration(p.duration(r)) + ")"
	}
	text := string(r.result.Status)
	if counts := resultCounts(r.result); counts != "" {
		text += " " + counts
	}
	return fmt.Sprintf("%s done: %s (%s)", r.name, text, formatDuration(p.duration(r)))
}

// resultCounts are the counts worth showing after a finished project's
// status: none for "no-changes", which says it already.
func resultCounts(res *runner.ProjectResult) string {
	if !hasCounts(res.Status) || res.Status == runner.StatusNoChanges {
		return ""
	}
	return FormatCounts(res.Counts)
}

func mark(st runner.Status) string {
	switch {
	case st == runner.StatusFailed || st == runner.StatusRefused:
		return "✗"
	case needsAttention(st):
		return "–"
	}
	return "✓"
}

// Running lists the projects that have started and not finished, with the
// phase each is in ("conf/prod/vpc (apply)"): what a kill would interrupt.
func (p *Progress) Running() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.rows {
		if !r.finished() && r.phase != runner.PhaseQueued && r.phase != "" {
			out = append(out, fmt.Sprintf("%s (%s)", r.name, r.phase))
		}
	}
	if len(out) == 0 {
		out = []string{"no project is in Terraform right now"}
	}
	return out
}
