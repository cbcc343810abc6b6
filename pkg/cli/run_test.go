package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
)

// A run that ended says nothing about an interruption when the context is
// cancelled afterwards, as Main's deferred stop does on every exit. The race
// is lost only when the watcher has not started yet, so it is tried often.
func TestWatchInterruptsQuietAfterTheRun(t *testing.T) {
	t.Parallel()
	for i := range 200 {
		var errb bytes.Buffer
		io := &ui.IO{Out: &bytes.Buffer{}, Err: &errb}
		s := ui.NewStyles(io.Err, false)
		ctx, cancel := context.WithCancel(context.Background())
		stop := watchInterrupts(ctx, io, s, ui.NewProgress(io.Err, s, false, nil))
		stop()
		cancel()
		time.Sleep(time.Millisecond)
		if errb.Len() > 0 {
			t.Fatalf("try %d: a finished run printed: %q", i, errb.String())
		}
	}
}

func TestRunExit(t *testing.T) {
	t.Parallel()
	report := func(statuses ...runner.Status) *runner.Report {
		rep := &runner.Report{}
		for _, s := range statuses {
			rep.Projects = append(rep.Projects, runner.ProjectResult{Status: s})
		}
		rep.Summarize()
		return rep
	}
	for _, tc := range []struct {
		name     string
		rep      *runner.Report
		detailed bool
		want     int
	}{
		{"nothing", report(), true, ExitOK},
		{"no changes", report(runner.StatusNoChanges), true, ExitOK},
		{"changes", report(runner.StatusPlanned, runner.StatusNoChanges), true, ExitChanges},
		{"changes without --detailed-exitcode", report(runner.StatusPlanned), false, ExitOK},
		// A deleted project whose destroy is not planned yet is work to do.
		{"needs destroy", report(runner.StatusNeedsDestroy, runner.StatusNoChanges), true, ExitChanges},
		{"needs destroy without --detailed-exitcode", report(runner.StatusNeedsDestroy), false, ExitOK},
		{"refused", report(runner.StatusRefused, runner.StatusPlanned), true, ExitCheckFailed},
		{"failed wins", report(runner.StatusRefused, runner.StatusFailed), true, ExitFailure},
		{"applied", report(runner.StatusApplied), false, ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExitOK
			var se *silentError
			if err := runExit(tc.rep, tc.detailed); errors.As(err, &se) {
				got = se.code
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
		})
	}
}
