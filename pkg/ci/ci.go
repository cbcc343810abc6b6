// Package ci is atoll's knowledge of CI systems: which one runs atoll
// (GitHub Actions, GitLab CI), what it says about the change being built
// (the pull request's target branch, the merge commit GitHub checks out),
// who runs the job, and how to speak to it: step outputs, dotenv reports,
// annotations, log groups and the job summary. It is pure: the
// environment is given as a function and output goes to writers or files
// the caller names. Nothing else in atoll reads GITHUB_* or GITLAB_*.
package ci

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// System is a CI system.
type System string

const (
	None   System = "none"
	GitHub System = "github"
	GitLab System = "gitlab"
)

// Modes are the values of --ci (and ATOLL_CI).
var Modes = []string{"auto", "github", "gitlab", "none"}

// Env is what the CI environment tells atoll.
type Env struct {
	System System `json:"system"`
	// Event is the event that started the run (GITHUB_EVENT_NAME,
	// CI_PIPELINE_SOURCE).
	Event string `json:"event,omitempty"`
	// BaseBranch is the branch a pull or merge request targets, and
	// BaseVar the variable that named it.
	BaseBranch string `json:"base_branch,omitempty"`
	BaseVar    string `json:"base_var,omitempty"`
	// DiffBaseSHA is GitLab's CI_MERGE_REQUEST_DIFF_BASE_SHA: the
	// merge-base GitLab shows the merge request's diff from.
	DiffBaseSHA string `json:"diff_base_sha,omitempty"`
	// HeadBranch is the branch being built (the pull request's source
	// branch, or the pushed branch).
	HeadBranch string `json:"head_branch,omitempty"`
	// MergeRef is refs/pull/N/merge when GitHub checked out the merge
	// commit of a pull request, which it does by default.
	MergeRef string `json:"merge_ref,omitempty"`
	// SHA is the commit the CI says it checked out.
	SHA string `json:"sha,omitempty"`
	// Run identifies the job for locks and the ledger.
	Run Run `json:"run"`
	// OutputFile is $GITHUB_OUTPUT; SummaryFile is $GITHUB_STEP_SUMMARY.
	OutputFile  string `json:"-"`
	SummaryFile string `json:"-"`
}

// Run is who runs the job and where to look at it.
type Run struct {
	// Actor is the user the job acts for.
	Actor string `json:"actor,omitempty"`
	// URL links to the run (GitHub) or job (GitLab).
	URL string `json:"url,omitempty"`
	// Pipeline is the run or pipeline id; Job the job's id or name.
	Pipeline string `json:"pipeline,omitempty"`
	Job      string `json:"job,omitempty"`
}

// ModeError is a --ci or ATOLL_CI value that is not a mode.
type ModeError struct{ Value string }

func (e *ModeError) Error() string {
	return fmt.Sprintf("CI mode %q is not one of %s", e.Value, strings.Join(Modes, ", "))
}

// pullMergeRef is the ref GitHub builds a pull request's merge commit on.
var pullMergeRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^refs/pull/[0-9]+/merge$`) })

// Detect reads the environment. mode is one of Modes ("" is auto): auto
// recognises GitHub Actions (GITHUB_ACTIONS=true) and GitLab CI
// (GITLAB_CI set); github and gitlab read that system's variables
// whatever else is set; none reads nothing, so atoll behaves as on a
// laptop.
func Detect(getenv func(string) string, mode string) (Env, error) {
	sys := None
	switch mode {
	case "", "auto":
		switch {
		case getenv("GITHUB_ACTIONS") == "true":
			sys = GitHub
		case getenv("GITLAB_CI") != "":
			sys = GitLab
		}
	case "github":
		sys = GitHub
	case "gitlab":
		sys = GitLab
	case "none":
	default:
		return Env{System: None}, &ModeError{Value: mode}
	}
	switch sys {
	case GitHub:
		return github(getenv), nil
	case GitLab:
		return gitlab(getenv), nil
	}
	return Env{System: None}, nil
}

func github(getenv func(string) string) Env {
	e := Env{System: GitHub, Event: getenv("GITHUB_EVENT_NAME"), SHA: getenv("GITHUB_SHA"),
		OutputFile: getenv("GITHUB_OUTPUT"), SummaryFile: getenv("GITHUB_STEP_SUMMARY")}
	if e.Event == "pull_request" || e.Event == "pull_request_target" {
		if b := getenv("GITHUB_BASE_REF"); b != "" {
			e.BaseBranch, e.BaseVar = b, "GITHUB_BASE_REF"
		}
		e.HeadBranch = getenv("GITHUB_HEAD_REF")
		if ref := getenv("GITHUB_REF"); pullMergeRef().MatchString(ref) {
			e.MergeRef = ref
		}
	} else if ref := getenv("GITHUB_REF"); strings.HasPrefix(ref, "refs/heads/") {
		e.HeadBranch = strings.TrimPrefix(ref, "refs/heads/")
	}
	e.Run = Run{Actor: getenv("GITHUB_ACTOR"), Pipeline: getenv("GITHUB_RUN_ID"), Job: getenv("GITHUB_JOB")}
	if srv, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); srv != "" && repo != "" && run != "" {
		e.Run.URL = strings.TrimSuffix(srv, "/") + "/" + repo + "/actions/runs/" + run
	}
	return e
}

func gitlab(getenv func(string) string) Env {
	e := Env{System: GitLab, Event: getenv("CI_PIPELINE_SOURCE"), SHA: getenv("CI_COMMIT_SHA")}
	if b := getenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"); b != "" {
		e.BaseBranch, e.BaseVar = b, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
		e.DiffBaseSHA = getenv("CI_MERGE_REQUEST_DIFF_BASE_SHA")
	}
	e.HeadBranch = getenv("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
	if e.HeadBranch == "" {
		e.HeadBranch = getenv("CI_COMMIT_BRANCH")
	}
	e.Run = Run{Actor: getenv("GITLAB_USER_LOGIN"), Pipeline: getenv("CI_PIPELINE_ID"), Job: getenv("CI_JOB_ID")}
	e.Run.URL = getenv("CI_JOB_URL")
	if e.Run.URL == "" {
		e.Run.URL = getenv("CI_PIPELINE_URL")
	}
	return e
}

// Active reports whether a CI system was detected or chosen.
func (e Env) Active() bool { return e.System != None && e.System != "" }

// Title is the system's name for people.
func (e Env) Title() string {
	switch e.System {
	case GitHub:
		return "GitHub Actions"
	case GitLab:
		return "GitLab CI"
	}
	return "no CI"
}

// ShallowFix is the setting that makes the CI fetch the whole history.
func (e Env) ShallowFix() string {
	switch e.System {
	case GitHub:
		return "in the workflow, give actions/checkout `with: fetch-depth: 0`"
	case GitLab:
		return "in .gitlab-ci.yml, set `variables: GIT_DEPTH: 0` (or GIT_DEPTH in the project's CI/CD settings)"
	}
	return ""
}

// Variables lists every variable Detect may read, for the docs.
var Variables = []string{
	"GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_BASE_REF", "GITHUB_HEAD_REF", "GITHUB_REF", "GITHUB_SHA",
	"GITHUB_ACTOR", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_JOB",
	"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
	"GITLAB_CI", "CI_PIPELINE_SOURCE", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_MERGE_REQUEST_DIFF_BASE_SHA",
	"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_SHA", "GITLAB_USER_LOGIN",
	"CI_PIPELINE_ID", "CI_JOB_ID", "CI_JOB_URL", "CI_PIPELINE_URL",
}
