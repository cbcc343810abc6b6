package tf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	tfjson "github.com/hashicorp/terraform-json"
)

// Error says which Terraform command failed where, and keeps Terraform's own
// diagnostic text so that it can be shown to the user as is.
type Error struct {
	Op  string // "init", "plan", "show", "apply", "version"
	Dir string
	// Diagnostics is Terraform's error text: the error diagnostics of a -json
	// run, else the tail of stderr. It may be empty.
	Diagnostics string
	// Err is the underlying error. errors.Is(err, context.Canceled) holds
	// when the command was interrupted.
	Err error
}

func (e *Error) Error() string {
	what := "failed"
	if e.Interrupted() {
		what = "was interrupted"
	}
	msg := fmt.Sprintf("terraform %s in %s %s", e.Op, e.Dir, what)
	if e.Diagnostics != "" {
		return msg + ":\n" + e.Diagnostics
	}
	return msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Interrupted reports whether the command stopped because its context was
// cancelled or timed out (Terraform was sent SIGINT).
func (e *Error) Interrupted() bool {
	return errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
}

// StalePlanError says a saved plan can no longer be applied because the
// state changed after it was made. Planning again is the fix.
type StalePlanError struct {
	PlanFile string
	// Err is the *Error of the failed apply.
	Err *Error
}

func (e *StalePlanError) Error() string {
	return fmt.Sprintf("saved plan %s is stale: the state of %s changed after the plan was made; plan again", e.PlanFile, e.Err.Dir)
}

func (e *StalePlanError) Unwrap() error { return e.Err }

// staleSummary is the summary of the diagnostic Terraform emits when asked
// to apply a plan made against an older state.
const staleSummary = "Saved plan is stale"

// formatDiagnostics renders diagnostics the way Terraform does: summary,
// where (with the source lines when Terraform sent them), then detail.
func formatDiagnostics(diags []tfjson.Diagnostic) string {
	parts := make([]string, 0, len(diags))
	for _, d := range diags {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s", severityWord(d.Severity), d.Summary)
		if d.Range != nil {
			fmt.Fprintf(&b, "\n  on %s line %d", d.Range.Filename, d.Range.Start.Line)
			if sn := d.Snippet; sn != nil && sn.Code != "" {
				if sn.Context != nil && *sn.Context != "" {
					fmt.Fprintf(&b, ", in %s", *sn.Context)
				}
				b.WriteString(":")
				for i, line := range strings.Split(strings.TrimRight(sn.Code, "\n"), "\n") {
					fmt.Fprintf(&b, "\n%4d: %s", sn.StartLine+i, line)
				}
			}
		}
		if d.Address != "" {
			fmt.Fprintf(&b, "\n  with %s", d.Address)
		}
		if d.Detail != "" {
			b.WriteString("\n\n" + d.Detail)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "\n\n")
}

func severityWord(s tfjson.DiagnosticSeverity) string {
	if s == tfjson.DiagnosticSeverityWarning {
		return "Warning"
	}
	return "Error"
}

// tailBuffer keeps the last max bytes written to it: enough of stderr to
// explain a failure without holding a huge log in memory.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// Reset empties the buffer: a retried command keeps only its own output.
func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = t.buf[:0]
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
