package ledger

import "strings"

// Identity is who takes a lock or applies: a person, or a CI job acting
// for one.
type Identity struct {
	// User is the git user (user.name, else $USER) or, in CI, the actor.
	User string `json:"user"`
	// CI names the CI system when one runs atoll (github, gitlab).
	CI string `json:"ci,omitempty"`
	// RunURL links to the CI run.
	RunURL string `json:"run_url,omitempty"`
	// Host is the machine.
	Host string `json:"host,omitempty"`
}

// String is "ana@laptop" or "ana (github https://...)".
func (i Identity) String() string {
	s := i.User
	if s == "" {
		s = "unknown"
	}
	if i.CI != "" {
		s += " (" + i.CI
		if i.RunURL != "" {
			s += " " + i.RunURL
		}
		return s + ")"
	}
	if i.Host != "" {
		s += "@" + i.Host
	}
	return s
}

// IdentityFrom fills an Identity from the environment (getenv), the git
// user name and the host name. CI variables win: in a CI job the actor
// is who applies, and the run is where to look.
func IdentityFrom(getenv func(string) string, gitUser, host string) Identity {
	id := Identity{User: strings.TrimSpace(gitUser), Host: host}
	if id.User == "" {
		id.User = getenv("USER")
	}
	switch {
	case getenv("GITHUB_ACTOR") != "":
		id.User, id.CI = getenv("GITHUB_ACTOR"), "github"
		if srv, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); srv != "" && repo != "" && run != "" {
			id.RunURL = strings.TrimSuffix(srv, "/") + "/" + repo + "/actions/runs/" + run
		}
	case getenv("GITLAB_USER_LOGIN") != "":
		id.User, id.CI, id.RunURL = getenv("GITLAB_USER_LOGIN"), "gitlab", getenv("CI_JOB_URL")
	}
	return id
}

// BranchFrom names the branch being applied when HEAD is detached, as CI
// checkouts are: ATOLL_BRANCH, else the CI's own variable.
func BranchFrom(getenv func(string) string) string {
	for _, v := range []string{"ATOLL_BRANCH", "GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH"} {
		if b := getenv(v); b != "" {
			return b
		}
	}
	return ""
}
