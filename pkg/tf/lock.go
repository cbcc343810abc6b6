package tf

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// LockInfo says who holds a state lock, as Terraform prints it when it
// cannot take the lock.
type LockInfo struct {
	ID, Path, Operation, Who, Version, Created string
}

// String is a one-line description: "held by ana@laptop (OperationTypeApply
// since 2026-12-01 21:16:05 UTC, lock ID c681...)".
func (l LockInfo) String() string {
	var what []string
	if l.Operation != "" {
		what = append(what, l.Operation)
	}
	if l.Created != "" {
		what = append(what, "since "+l.Created)
	}
	if l.ID != "" {
		what = append(what, "lock ID "+l.ID)
	}
	who := l.Who
	if who == "" {
		who = "another run"
	}
	if len(what) == 0 {
		return "held by " + who
	}
	return fmt.Sprintf("held by %s (%s)", who, strings.Join(what, ", "))
}

// lockSummary is the summary of the diagnostic Terraform emits when the
// state lock is held by someone else.
const lockSummary = "Error acquiring the state lock"

var lockField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[\s│|]*(ID|Path|Operation|Who|Version|Created):[ \t]*(.*?)\s*$`)
})

// parseLockInfo reads the "Lock Info:" block of Terraform's error text.
func parseLockInfo(text string) (LockInfo, bool) {
	if !strings.Contains(text, lockSummary) {
		return LockInfo{}, false
	}
	var l LockInfo
	if _, rest, ok := strings.Cut(text, "Lock Info:"); ok {
		for _, m := range lockField().FindAllStringSubmatch(rest, -1) {
			v := m[2]
			switch m[1] {
			case "ID":
				l.ID = v
			case "Path":
				l.Path = v
			case "Operation":
				l.Operation = v
			case "Who":
				l.Who = v
			case "Version":
				l.Version = v
			case "Created":
				l.Created = v
			}
		}
	}
	return l, true
}

// lockPoll is how long atoll waits between attempts to take a held lock.
var lockPoll = 2 * time.Second

// withStateLock runs attempt, which runs one Terraform command that locks
// the state, until it gets past the lock or LockTimeout has passed.
// Terraform's own -lock-timeout waits in silence; trying again with no
// timeout makes Terraform say, each time, who holds the lock, which
// OnStateLock passes on. attempt reports through passed when Terraform got
// past the lock (its first output after it).
func (r *Runner) withStateLock(ctx context.Context, attempt func(lockTimeout string, passed func()) error) error {
	if r.LockTimeout <= 0 {
		return attempt("", func() {})
	}
	deadline := time.Now().Add(r.LockTimeout)
	var waitingFor *LockInfo
	for {
		passed := func() {
			if waitingFor != nil && r.OnStateLock != nil {
				r.OnStateLock(nil)
			}
			waitingFor = nil
		}
		err := attempt("0s", passed)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Interrupted() {
			return err
		}
		info, locked := parseLockInfo(e.Diagnostics)
		if !locked || time.Now().After(deadline) {
			return err
		}
		if waitingFor == nil || *waitingFor != info {
			waitingFor = &info
			if r.OnStateLock != nil {
				r.OnStateLock(&info)
			}
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(lockPoll):
		}
	}
}
