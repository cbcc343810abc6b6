package ui

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/runner"
)

func short8(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func withWorkspace(dir, ws string) string {
	if ws != "" && ws != "default" {
		return dir + " (" + ws + ")"
	}
	return dir
}

// LocksTable renders atoll locks.
func LocksTable(w io.Writer, s *Styles, rep *guard.LocksReport) error {
	if len(rep.Locks) == 0 {
		_, err := fmt.Fprintf(w, "No locks on %s.\n", rep.Where)
		return err
	}
	t := s.Table([]string{"PROJECT", "BRANCH", "COMMIT", "HOLDER", "AGE", "STATE", "WHAT TO DO"})
	for _, l := range rep.Locks {
		st := s.Warning
		switch l.State {
		case ledger.Stale:
			st = s.Muted
		case ledger.Orphaned:
			st = s.Error
		}
		t.Row(withWorkspace(l.Dir, l.Workspace), l.Branch, short8(l.Head), l.Who.String(), l.Age, st.Render(string(l.State)), l.Do)
	}
	_, err := fmt.Fprintf(w, "%s\n%d lock(s) on %s\n", t.Render(), len(rep.Locks), rep.Where)
	return err
}

// HistoryTable renders atoll history.
func HistoryTable(w io.Writer, s *Styles, rep *guard.HistoryReport) error {
	if len(rep.Entries) == 0 {
		_, err := fmt.Fprintf(w, "No applies recorded on %s.\n", rep.Where)
		return err
	}
	t := s.Table([]string{"TIME", "PROJECT", "RESULT", "BRANCH", "COMMIT", "WHO", "NOTE"})
	for _, e := range rep.Entries {
		note := e.Force
		if note != "" {
			note = "--force " + note
		}
		if e.Result == ledger.ForceUnlocked && e.Lock != nil {
			note = fmt.Sprintf("released %s's lock: %s", e.Lock.Branch, e.Force)
		}
		if e.Destroy {
			note = strings.TrimSpace("destroy " + note)
		}
		res := e.Result
		if e.Completed() || e.Result == ledger.Started {
			if c := FormatCounts(countsOf(e.Counts)); e.Result != ledger.Started && c != "" {
				res += " " + c
			}
		}
		t.Row(e.Time.UTC().Format("2006-01-02 15:04:05Z"), withWorkspace(e.Dir, e.Workspace), s.ledgerResult(e.Result).Render(res), e.Branch, short8(e.Head), e.Who.String(), note)
	}
	_, err := fmt.Fprintln(w, t.Render())
	return err
}

func (s *Styles) ledgerResult(r string) interface{ Render(...string) string } {
	switch r {
	case ledger.Success:
		return s.Success
	case ledger.Failed, ledger.Interrupted:
		return s.Error
	case ledger.Started, ledger.ForceUnlocked:
		return s.Warning
	}
	return s.Muted
}

// StatusTable renders atoll status.
func StatusTable(w io.Writer, s *Styles, rep *guard.StatusReport, now time.Time) error {
	if len(rep.Projects) == 0 {
		_, err := fmt.Fprintf(w, "No projects.\n")
		return err
	}
	t := s.Table([]string{"PROJECT", "PRODUCTION FROM", "RESULT", "ON " + strings.ToUpper(rep.Base), "LOCK"})
	for _, p := range rep.Projects {
		from, res := "-", "never applied"
		if e := p.Applied; e != nil {
			from = fmt.Sprintf("%s (%s), %s ago", short8(e.Head), e.Branch, ledger.Age(now, e.Time))
			res = e.Result
			if res == ledger.Started {
				res = "outcome unknown"
			}
		}
		on := p.OnBase
		switch on {
		case "yes":
			on = s.Success.Render("yes")
		case "no", "unknown":
			on = s.Error.Render(on)
		}
		lock := "-"
		if l := p.Lock; l != nil {
			lock = fmt.Sprintf("%s (%s, %s)", l.Branch, l.Who.String(), l.State)
		}
		t.Row(withWorkspace(p.Dir, p.Workspace), from, res, on, lock)
	}
	verdict := s.Success.Render(fmt.Sprintf("%s == production", rep.Base))
	if !rep.InSync {
		verdict = s.Error.Render(fmt.Sprintf("%s != production", rep.Base))
	}
	_, err := fmt.Fprintf(w, "%s\n%s (ledger on %s)\n", t.Render(), verdict, rep.Where)
	return err
}

// StatusMarkdown renders atoll status for a PR comment or job summary.
func StatusMarkdown(rep *guard.StatusReport, now time.Time) string {
	var b strings.Builder
	verdict := "`" + rep.Base + "` == production"
	if !rep.InSync {
		verdict = "`" + rep.Base + "` != production"
	}
	fmt.Fprintf(&b, "### atoll status: %s\n\n| Project | Production from | Result | On `%s` | Lock |\n|---|---|---|---|---|\n", verdict, rep.Base)
	for _, p := range rep.Projects {
		from, res := "-", "never applied"
		if e := p.Applied; e != nil {
			from = fmt.Sprintf("`%s` (`%s`), %s ago", short8(e.Head), e.Branch, ledger.Age(now, e.Time))
			res = e.Result
			if res == ledger.Started {
				res = "outcome unknown"
			}
		}
		lock := "-"
		if l := p.Lock; l != nil {
			lock = fmt.Sprintf("`%s` (%s, %s)", l.Branch, l.Who.String(), l.State)
		}
		on := map[string]string{"yes": "✅ yes", "no": "❌ no", "unknown": "❓ unknown", "-": "-"}[p.OnBase]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", withWorkspace(p.Dir, p.Workspace), from, res, on, lock)
	}
	return b.String()
}

func countsOf(c ledger.Counts) runner.Counts {
	return runner.Counts{Add: c.Add, Change: c.Change, Replace: c.Replace, Destroy: c.Destroy, Import: c.Import}
}
