// Package runner plans and applies projects: it materialises each project's
// files from a commit, runs Terraform through pkg/tf, binds saved plans to
// the commit and base they were made from, and orders applies by
// depends_on. Commands stay thin; this is where the work happens.
package runner

import (
	"time"

	"github.com/atoll-tf/atoll/pkg/record"
)

// Status is the outcome of one project in a run.
type Status string

const (
	StatusPlanned      Status = "planned"    // plan saved, with changes
	StatusNoChanges    Status = "no-changes" // plan saved, nothing to do
	StatusApplied      Status = "applied"
	StatusFailed       Status = "failed"        // Terraform (or atoll) failed
	StatusRefused      Status = "refused"       // a safety check refused to run it
	StatusSkipped      Status = "skipped"       // not run: a dependency failed, or --fail-fast
	StatusNeedsDestroy Status = "needs-destroy" // deleted project, not planned
)

// Counts are a plan's resource changes (see record.Counts).
type Counts = record.Counts

// ProjectResult is one project's outcome.
type ProjectResult struct {
	Name     string        `json:"name"`
	Dir      string        `json:"dir"`
	Status   Status        `json:"status"`
	Counts   Counts        `json:"counts"`
	Duration time.Duration `json:"duration_ns"`
	// Error says what went wrong (failed, refused, skipped); Hint how to fix it.
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
	// ErrorFile is the repository file Error is about, when it is about
	// one (an .envrc that failed).
	ErrorFile string `json:"error_file,omitempty"`
	// Workdir is the scratch directory Terraform ran in.
	Workdir  string `json:"workdir,omitempty"`
	PlanFile string `json:"plan_file,omitempty"`
	Record   string `json:"record,omitempty"`
	LogFile  string `json:"log_file,omitempty"`
	// PlanText is Terraform's human-readable plan (for Markdown output).
	PlanText string `json:"-"`
	// Changed lists resources an apply changed, also when it failed midway.
	Changed []string `json:"changed,omitempty"`
	// Warning is said about the project in the table (a plan that would
	// revert another branch's apply).
	Warning string `json:"warning,omitempty"`
}

// Summary counts outcomes.
type Summary struct {
	Total       int `json:"total"`
	WithChanges int `json:"with_changes"`
	NoChanges   int `json:"no_changes"`
	Applied     int `json:"applied"`
	Failed      int `json:"failed"`
	Refused     int `json:"refused"`
	Skipped     int `json:"skipped"`
}

// Report is a plan or apply run: what `--output json` prints.
type Report struct {
	Command string `json:"command"` // plan or apply
	Head    string `json:"head"`
	// MergeCommit is the commit checked out when Head is its second
	// parent (GitHub's merge commit of a pull request).
	MergeCommit string          `json:"merge_commit,omitempty"`
	Branch      string          `json:"branch,omitempty"`
	Base        string          `json:"base_ref"`
	BaseSHA     string          `json:"base_sha"`
	MergeBase   string          `json:"merge_base"`
	Projects    []ProjectResult `json:"projects"`
	Summary     Summary         `json:"summary"`
	// Warnings are files left out of scratch checkouts (symlinks that
	// leave them, missing project directories).
	Warnings []string `json:"warnings,omitempty"`
	// Env names the caller's variables kept out of every project's
	// environment, or passed on by env.pass (names only).
	Env *CallerEnv `json:"env,omitempty"`
}

// Summarize fills in the summary from the project results.
func (r *Report) Summarize() {
	s := Summary{Total: len(r.Projects)}
	for _, p := range r.Projects {
		switch p.Status {
		case StatusPlanned:
			s.WithChanges++
		case StatusNoChanges:
			s.NoChanges++
		case StatusApplied:
			s.Applied++
		case StatusFailed:
			s.Failed++
		case StatusRefused:
			s.Refused++
		case StatusSkipped, StatusNeedsDestroy:
			s.Skipped++
		}
	}
	r.Summary = s
}

// Phase is a step of one project's run, for progress display.
type Phase string

const (
	PhaseQueued      Phase = "queued"
	PhaseMaterialize Phase = "checkout"
	PhaseInit        Phase = "init"
	PhasePlan        Phase = "plan"
	PhaseApply       Phase = "apply"
	PhaseDone        Phase = "done"
)

// Event reports progress of one project.
type Event struct {
	Time    time.Time
	Project string
	Phase   Phase
	// Result is set when Phase is PhaseDone.
	Result *ProjectResult
	// Detail says more about the phase, e.g. that Terraform waits for the
	// state lock and who holds it; an event without one clears it.
	Detail string
}

// CallerEnv is what a run made of the caller's environment.
type CallerEnv struct {
	// Undone: set or changed by direnv for the caller's directory.
	Undone []string `json:"undone,omitempty"`
	// Dropped: project-specific, left out.
	Dropped []string `json:"dropped,omitempty"`
	// Passed: project-specific, kept by env.pass.
	Passed []string `json:"passed,omitempty"`
}
