package ledger

import "strings"

// Identity is who takes a lock or applies: a person, or a CI job acting
// for one.
type Identity struct {
	// User is the git user (user.name, else $USER) or, in CI, the actor.
	User string `json:"user"`
	// CI names the CI system when one runs atoll (github, gitlab).
	CI string `json:"ci,omitempty"`
	// RunURL links to the CI run (GitHub) or job (GitLab).
	RunURL string `json:"run_url,omitempty"`
	// Pipeline is the CI's run or pipeline id; Job its job's id or name.
	Pipeline string `json:"pipeline,omitempty"`
	Job      string `json:"job,omitempty"`
	// Host is the machine.
	Host string `json:"host,omitempty"`
}

// String is "ana@laptop", or "ana (github run 42 job plan
// https://...)" for a CI job.
func (i Identity) String() string {
	s := i.User
	if s == "" {
		s = "unknown"
	}
	if i.CI != "" {
		parts := []string{i.CI}
		if i.Pipeline != "" {
			parts = append(parts, "run "+i.Pipeline)
		}
		if i.Job != "" {
			parts = append(parts, "job "+i.Job)
		}
		if i.RunURL != "" {
			parts = append(parts, i.RunURL)
		}
		return s + " (" + strings.Join(parts, " ") + ")"
	}
	if i.Host != "" {
		s += "@" + i.Host
	}
	return s
}

// IdentityFrom is a person's Identity: the git user name, else $USER
// (from getenv), on host. In a CI job the caller sets the CI fields from
// the CI's environment (pkg/ci), whose actor is then who acts.
func IdentityFrom(getenv func(string) string, gitUser, host string) Identity {
	id := Identity{User: strings.TrimSpace(gitUser), Host: host}
	if id.User == "" {
		id.User = getenv("USER")
	}
	return id
}
