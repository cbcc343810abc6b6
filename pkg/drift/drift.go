// Package drift decides, per project, whether production differs from the
// base branch and why: from a plan of the base's head and the project's
// latest apply in the ledger. It is pure: the plans are made by
// pkg/runner and the ledger is read by pkg/guard.
package drift

import (
	"fmt"
	"sort"
	"time"

	"github.com/atoll-tf/atoll/pkg/ledger"
)

// Status is a project's verdict.
type Status string

const (
	// InSync: planning the base's head changes nothing.
	InSync Status = "in-sync"
	// Drift: planning the base's head would change resources or outputs.
	Drift Status = "drift"
	// Error: the project could not be planned, so nobody knows.
	Error Status = "error"
)

// Cause is why a drifting project drifts.
type Cause string

const (
	// UnmergedApply: the project's latest apply was made from a commit the
	// base does not contain (a branch applied and not merged, or deleted).
	UnmergedApply Cause = "unmerged-apply"
	// OutsideAtoll: the latest apply is on the base (or there is none):
	// the difference was made outside atoll (the console, a terraform
	// apply by hand, another tool) or by the provider itself.
	OutsideAtoll Cause = "outside-atoll"
	// Unknown: the ledger could not be read, so the two cannot be told
	// apart.
	Unknown Cause = "unknown"
)

// Changes are what a plan of the base's head would do.
type Changes struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
	// Outputs counts root module outputs that would change.
	Outputs int `json:"outputs"`
}

// Resource is one resource instance the plan would change.
type Resource struct {
	Address string `json:"address"`
	Action  string `json:"action"`
}

// Plan is what planning one project at the base's head found.
type Plan struct {
	// Err is set when the project could not be planned; Hint says how
	// to fix it.
	Err  string
	Hint string
	// HasChanges is Terraform's verdict (plan -detailed-exitcode): true
	// also when only outputs change.
	HasChanges bool
	Changes    Changes
	Resources  []Resource
	LogFile    string
	Duration   time.Duration
}

// Apply is a ledger entry of an apply, as drift reports it.
type Apply struct {
	ID     string          `json:"id"`
	Branch string          `json:"branch"`
	Head   string          `json:"head"`
	Who    ledger.Identity `json:"who"`
	Time   time.Time       `json:"time"`
	// Result is success, failed, interrupted, or started (its outcome
	// is unknown: killed, or never recorded).
	Result string `json:"result"`
	// OnBase: the base contains the change applied (its commit is in the
	// base's history, or the project's inputs at the base's head are the
	// ones applied).
	OnBase bool `json:"on_base"`
}

// Project is one project's verdict.
type Project struct {
	Name      string        `json:"name"`
	Dir       string        `json:"dir"`
	Workspace string        `json:"workspace"`
	Status    Status        `json:"status"`
	Cause     Cause         `json:"cause,omitempty"`
	Why       string        `json:"why"`
	Changes   Changes       `json:"changes"`
	Resources []Resource    `json:"resources"`
	LastApply *Apply        `json:"last_apply,omitempty"`
	Error     string        `json:"error,omitempty"`
	Hint      string        `json:"hint,omitempty"`
	LogFile   string        `json:"log_file,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
}

// Summary counts the verdicts.
type Summary struct {
	Total  int `json:"total"`
	InSync int `json:"in_sync"`
	Drift  int `json:"drift"`
	Error  int `json:"error"`
}

// Report is what atoll drift prints (--output json).
type Report struct {
	Command string `json:"command"` // "drift"
	// Base is the branch's short name (main), BaseRef the ref planned
	// (refs/remotes/origin/main), BaseSHA its head.
	Base    string `json:"base"`
	BaseRef string `json:"base_ref"`
	BaseSHA string `json:"base_sha"`
	// Fetched: the base was fetched from its remote first (--fetch).
	Fetched bool `json:"fetched"`
	// Ledger is where the apply ledger was read; LedgerError why it
	// could not be (every drift's cause is then unknown).
	Ledger      string    `json:"ledger,omitempty"`
	LedgerError string    `json:"ledger_error,omitempty"`
	Projects    []Project `json:"projects"`
	Summary     Summary   `json:"summary"`
	// Warnings are about the run as a whole (files left out of the
	// checkout).
	Warnings []string `json:"warnings,omitempty"`
}

// Classify decides a project's verdict from its plan and its latest apply
// (nil: never applied through atoll, as far as the ledger knows).
// ledgerRead is false when the ledger could not be read.
func Classify(p Project, plan Plan, last *Apply, ledgerRead bool, base string) Project {
	p.Changes, p.Resources, p.LastApply = plan.Changes, plan.Resources, last
	p.LogFile, p.Duration = plan.LogFile, plan.Duration
	if p.Resources == nil {
		p.Resources = []Resource{}
	}
	switch {
	case plan.Err != "":
		p.Status, p.Error, p.Hint = Error, plan.Err, plan.Hint
		p.Why = "could not be planned: whether production matches " + base + " is unknown"
	case !plan.HasChanges:
		p.Status, p.Why = InSync, "planning "+base+" changes nothing"
	case !ledgerRead:
		p.Status, p.Cause = Drift, Unknown
		p.Why = "the ledger could not be read: whether an unmerged apply or a change outside atoll made the difference is unknown"
	case last != nil && !last.OnBase:
		p.Status, p.Cause = Drift, UnmergedApply
		what := "holds an unmerged apply"
		if last.Result == ledger.Started {
			what = "may hold an apply whose outcome is unknown"
		}
		p.Why = fmt.Sprintf("production %s from branch %s (%s, by %s at %s, %s), which %s does not contain",
			what, orUnknown(last.Branch), short(last.Head), last.Who.String(), last.Time.UTC().Format("2006-01-02 15:04:05Z"), last.Result, base)
		p.Hint = fmt.Sprintf("if production should keep it, merge branch %s; to undo it, plan and apply %s from %s (atoll plan %s && atoll apply %s)", orUnknown(last.Branch), p.Dir, base, p.Dir, p.Dir)
	default:
		p.Status, p.Cause = Drift, OutsideAtoll
		p.Why = "changed outside atoll: the latest apply through atoll is on " + base
		if last == nil {
			p.Why = "changed outside atoll: the ledger holds no apply of it"
		}
		p.Hint = fmt.Sprintf("find who changed it (the provider's audit log); to keep the change, commit it on a branch, plan and apply it, and merge; to undo it, plan and apply %s from %s", p.Dir, base)
	}
	return p
}

// Summarize sorts the projects by directory and counts their verdicts.
func (r *Report) Summarize() {
	sort.SliceStable(r.Projects, func(i, j int) bool {
		if r.Projects[i].Dir != r.Projects[j].Dir {
			return r.Projects[i].Dir < r.Projects[j].Dir
		}
		return r.Projects[i].Workspace < r.Projects[j].Workspace
	})
	s := Summary{Total: len(r.Projects)}
	for _, p := range r.Projects {
		switch p.Status {
		case InSync:
			s.InSync++
		case Drift:
			s.Drift++
		case Error:
			s.Error++
		}
	}
	r.Summary = s
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
