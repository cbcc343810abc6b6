package ledger

import (
	"encoding/json"
	"fmt"
	"time"
)

// FormatVersion is the version of the JSON documents in lock and ledger
// commits; readers refuse versions they do not know.
const FormatVersion = 1

// FileName is the one file in the tree of a lock or ledger commit.
const FileName = "atoll.json"

// Lock is the content of a lock: a parentless commit at
// refs/atoll/locks/<key>.
type Lock struct {
	Format    int    `json:"format"`
	Kind      string `json:"kind"` // "lock"
	Project   string `json:"project"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace,omitempty"`
	Branch    string `json:"branch"`
	Head      string `json:"head"`
	// InputsHash identifies the project's files at Head.
	InputsHash string    `json:"inputs_hash,omitempty"`
	Who        Identity  `json:"who"`
	Time       time.Time `json:"time"`
	// Reason says why (atoll lock --reason, or "atoll apply").
	Reason string `json:"reason,omitempty"`
	// Pushed: the branch was on the remote when the lock was taken. Only
	// then does its absence later mean it was deleted.
	Pushed bool `json:"pushed,omitempty"`
	// Nonce tells two locks with the same fields apart.
	Nonce string `json:"nonce"`
}

// Key is the lock's ref key.
func (l *Lock) Key() string { return Key(l.Dir, l.Workspace) }

// Results of a ledger entry.
const (
	Started     = "started"
	Success     = "success"
	Failed      = "failed"
	Interrupted = "interrupted"
	// Refused: Terraform refused the plan (stale) and changed nothing.
	Refused = "refused"
	// Unlocked records a lock released by someone other than its holder
	// (atoll unlock --force REASON).
	ForceUnlocked = "force-unlocked"
)

// Counts are the resource changes of an apply.
type Counts struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Import  int `json:"import,omitempty"`
}

// Entry is one ledger entry: a commit at refs/atoll/ledger/<key> whose
// parent is the previous entry.
type Entry struct {
	Format    int    `json:"format"`
	Kind      string `json:"kind"` // "ledger"
	ID        string `json:"id"`
	Project   string `json:"project"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace,omitempty"`
	Branch    string `json:"branch,omitempty"`
	Head      string `json:"head"`
	BaseRef   string `json:"base_ref,omitempty"`
	BaseSHA   string `json:"base_sha,omitempty"`
	// InputsHash identifies exactly the files that were applied.
	InputsHash string `json:"inputs_hash,omitempty"`
	// Result is started, success, failed, interrupted or force-unlocked.
	Result string `json:"result"`
	// Completes is the ID of the started entry this one completes.
	Completes        string    `json:"completes,omitempty"`
	Destroy          bool      `json:"destroy,omitempty"`
	Dirty            bool      `json:"dirty,omitempty"`
	Counts           Counts    `json:"counts"`
	TerraformVersion string    `json:"terraform_version,omitempty"`
	Who              Identity  `json:"who"`
	Time             time.Time `json:"time"`
	Force            string    `json:"force,omitempty"`
	Error            string    `json:"error,omitempty"`
	// Lock is, for force-unlocked, the lock that was released.
	Lock *Lock `json:"lock,omitempty"`
}

// Key is the entry's ref key.
func (e *Entry) Key() string { return Key(e.Dir, e.Workspace) }

// Completed reports whether the entry is an apply's outcome.
func (e *Entry) Completed() bool {
	return e.Result == Success || e.Result == Failed || e.Result == Interrupted
}

// Apply reports whether the entry records an apply (started or done),
// not an unlock.
func (e *Entry) Apply() bool { return e.Result != ForceUnlocked }

func marshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// FormatError says a ref holds something atoll cannot read.
type FormatError struct {
	Ref, ID string
	Err     error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s (%s) holds no atoll %s: %v", e.Ref, short(e.ID), "record", e.Err)
}

func parseLock(ref, id string, b []byte) (*Lock, error) {
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, &FormatError{Ref: ref, ID: id, Err: err}
	}
	if l.Format != FormatVersion || l.Kind != "lock" {
		return nil, &FormatError{Ref: ref, ID: id, Err: fmt.Errorf("format %d, kind %q: written by another version of atoll?", l.Format, l.Kind)}
	}
	return &l, nil
}

func parseEntry(ref, id string, b []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, &FormatError{Ref: ref, ID: id, Err: err}
	}
	if e.Format != FormatVersion || e.Kind != "ledger" {
		return nil, &FormatError{Ref: ref, ID: id, Err: fmt.Errorf("format %d, kind %q: written by another version of atoll?", e.Format, e.Kind)}
	}
	return &e, nil
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
