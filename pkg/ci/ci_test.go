package ci

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDetect(t *testing.T) {
	t.Parallel()
	pr := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main",
		"GITHUB_HEAD_REF": "feature/x", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_SHA": "abc",
		"GITHUB_ACTOR": "ana", "GITHUB_SERVER_URL": "https://github.example/", "GITHUB_REPOSITORY": "org/infra",
		"GITHUB_RUN_ID": "42", "GITHUB_JOB": "plan", "GITHUB_OUTPUT": "/o", "GITHUB_STEP_SUMMARY": "/s",
	}
	mr := map[string]string{
		"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
		"CI_MERGE_REQUEST_DIFF_BASE_SHA": "d1ff", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/y",
		"CI_COMMIT_BRANCH": "", "GITLAB_USER_LOGIN": "bo", "CI_JOB_URL": "https://gitlab.example/j/9",
		"CI_PIPELINE_URL": "https://gitlab.example/p/8", "CI_PIPELINE_ID": "8", "CI_JOB_ID": "9", "CI_COMMIT_SHA": "cafe",
	}
	tests := []struct {
		name string
		env  map[string]string
		mode string
		want Env
	}{
		{"nothing", map[string]string{}, "auto", Env{System: None}},
		{"GITHUB_ACTIONS must be true", map[string]string{"GITHUB_ACTIONS": "false", "GITHUB_ACTOR": "ana"}, "", Env{System: None}},
		{"github pull request", pr, "auto", Env{System: GitHub, Event: "pull_request", BaseBranch: "main", BaseVar: "GITHUB_BASE_REF",
			HeadBranch: "feature/x", MergeRef: "refs/pull/7/merge", SHA: "abc",
			Run:        Run{Actor: "ana", URL: "https://github.example/org/infra/actions/runs/42", Pipeline: "42", Job: "plan"},
			OutputFile: "/o", SummaryFile: "/s"}},
		{"none ignores everything", pr, "none", Env{System: None}},
		{"github push: no base, the pushed branch", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
			"GITHUB_REF": "refs/heads/main", "GITHUB_BASE_REF": "ignored", "GITHUB_ACTOR": "ana"}, "",
			Env{System: GitHub, Event: "push", HeadBranch: "main", Run: Run{Actor: "ana"}}},
		{"github pull_request_target checks out the base", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request_target",
			"GITHUB_REF": "refs/heads/main", "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "f"}, "",
			Env{System: GitHub, Event: "pull_request_target", BaseBranch: "main", BaseVar: "GITHUB_BASE_REF", HeadBranch: "f"}},
		{"gitlab merge request", mr, "", Env{System: GitLab, Event: "merge_request_event", BaseBranch: "main",
			BaseVar: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", DiffBaseSHA: "d1ff", HeadBranch: "feature/y", SHA: "cafe",
			Run: Run{Actor: "bo", URL: "https://gitlab.example/j/9", Pipeline: "8", Job: "9"}}},
		{"gitlab branch pipeline", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_URL": "https://p"}, "",
			Env{System: GitLab, HeadBranch: "main", Run: Run{URL: "https://p"}}},
		{"forced gitlab", map[string]string{"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "dev"}, "gitlab",
			Env{System: GitLab, BaseBranch: "dev", BaseVar: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"}},
		{"both set: GitHub wins in auto", map[string]string{"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, "", Env{System: GitHub}},
	}
	for _, tt := range tests {
		got, err := Detect(envOf(tt.env), tt.mode)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
	var me *ModeError
	if _, err := Detect(envOf(pr), "jenkins"); !errors.As(err, &me) || !strings.Contains(err.Error(), "auto, github, gitlab, none") {
		t.Errorf("unknown mode: %v", err)
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"},
		{"conf/a:b,c", "conf/a:b,c", "conf/a%3Ab%2Cc"},
		{"%0A", "%250A", "%250A"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	} {
		if got := EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := EscapeProperty(tt.in); got != tt.prop {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.prop)
		}
	}
}

func TestAnnotationGitHub(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a    Annotation
		want string
	}{
		{Annotation{Level: Error, Message: "boom"}, "::error::boom\n"},
		{Annotation{Level: Warning, File: "conf/a/main.tf", Line: 3, Message: "a\nb"}, "::warning file=conf/a/main.tf,line=3::a%0Ab\n"},
		{Annotation{Level: Error, File: "conf/a,b:c/x.tf", Line: 2, Col: 5, Title: "atoll: config", Message: "50% bad"},
			"::error file=conf/a%2Cb%3Ac/x.tf,line=2,col=5,title=atoll%3A config::50%25 bad\n"},
		{Annotation{Level: Error, Line: 4, Message: "a line without a file is dropped"}, "::error::a line without a file is dropped\n"},
	} {
		if got := tt.a.GitHub(); got != tt.want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.a, got, tt.want)
		}
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	files := map[string]bool{"conf/a/main.tf": true, "conf/b": true, "atoll.yaml": true}
	exists := func(p string) bool { return files[p] }
	for _, tt := range []struct {
		msg  string
		file string
		line int
	}{
		{`conf/a/main.tf:12: module "x": source "../nowhere" names modules/nowhere, which does not exist`, "conf/a/main.tf", 12},
		{"conf/b: a project at the merge-base, but not at HEAD", "conf/b", 0},
		{"atoll.yaml:3:7: key roots: bad", "atoll.yaml", 3},
		{"no location here", "", 0},
		{"conf/missing.tf:1: not a file of this repository", "", 0},
		{"3 projects: vanished", "", 0},
	} {
		a := Locate(Warning, tt.msg, exists)
		if a.File != tt.file || a.Line != tt.line || a.Message != tt.msg || a.Level != Warning {
			t.Errorf("Locate(%q) = %+v, want file %q line %d", tt.msg, a, tt.file, tt.line)
		}
	}
}

func TestGitHubOutputs(t *testing.T) {
	t.Parallel()
	n := 0
	delims := []string{"EOF1", "EOF2", "EOF3"}
	next := func() string { n++; return delims[n-1] }
	got, err := GitHubOutputs([]Output{{"count", "2"}, {"projects", "conf/a\nconf/b"}, {"tricky", "x\nEOF2\n"}}, next)
	if err != nil {
		t.Fatal(err)
	}
	want := "count=2\nprojects<<EOF1\nconf/a\nconf/b\nEOF1\ntricky<<EOF3\nx\nEOF2\n\nEOF3\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if _, err := GitHubOutputs([]Output{{"a=b", "1"}}, NewDelimiter); err == nil {
		t.Error("a name with = was written")
	}
	a, b := NewDelimiter(), NewDelimiter()
	if a == b || !strings.HasPrefix(a, "ghadelimiter_") || len(a) != len("ghadelimiter_")+32 {
		t.Errorf("delimiters %q %q", a, b)
	}
}

func TestDotenv(t *testing.T) {
	t.Parallel()
	got, err := Dotenv([]Output{{"ATOLL_CHANGED_COUNT", "2"}, {"ATOLL_CHANGED_PROJECTS", "conf/a conf/b"}})
	if err != nil || got != "ATOLL_CHANGED_COUNT=2\nATOLL_CHANGED_PROJECTS=conf/a conf/b\n" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range [][]Output{
		{{"A", "x\ny"}},
		{{"A-B", "x"}},
		{{"A", strings.Repeat("x", DotenvLimit)}},
	} {
		if _, err := Dotenv(bad); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(1700000000, 0) }
	for _, tt := range []struct {
		sys  System
		want string
	}{
		{GitHub, "::group::plan conf/a%0Ax\nlog\n::endgroup::\n"},
		{GitLab, "\x1b[0Ksection_start:1700000000:atoll_plan_conf_a_x[collapsed=true]\r\x1b[0Kplan conf/a x\nlog\n\x1b[0Ksection_end:1700000000:atoll_plan_conf_a_x\r\x1b[0K\n"},
		{None, "plan conf/a x\nlog\n"},
	} {
		var b bytes.Buffer
		g := Env{System: tt.sys}.StartGroup(&b, "plan conf/a\nx", now)
		b.WriteString("log\n")
		g.End()
		if b.String() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.sys, b.String(), tt.want)
		}
	}
}

type fakeReport struct{ md string }

func (f fakeReport) Summary() string { return f.md }
func (f fakeReport) Annotations() []Annotation {
	return []Annotation{{Level: Error, File: "conf/a/main.tf", Line: 1, Message: "bad"}}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	e := Env{System: GitHub, SummaryFile: summary}
	if err := e.Publish(&w, fakeReport{"### atoll"}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Publish(&w, fakeReport{"### not written"}, false); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(summary)
	if string(b) != "earlier step\n### atoll\n\n" {
		t.Errorf("summary %q", b)
	}
	if w.String() != strings.Repeat("::error file=conf/a/main.tf,line=1::bad\n", 2) {
		t.Errorf("annotations %q", w.String())
	}
	w.Reset()
	if err := (Env{System: GitLab, SummaryFile: summary}).Publish(&w, fakeReport{"x"}, true); err != nil || w.Len() != 0 {
		t.Errorf("GitLab wrote %q, %v", w.String(), err)
	}
}
