package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// The GitHub Actions workflows of docs/examples pass actionlint: workflow
// syntax, expressions and their types, the inputs of known actions, job
// dependencies, untrusted input in scripts. (actionlint runs as a library,
// from the module cache, so this works offline; shellcheck is not used,
// so that the result does not depend on what the machine has installed.)
func TestExamplesActionlint(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/examples/github/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d workflows in docs/examples/github, want pull-request, guard, apply and drift", len(files))
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		errs, err := linter.LintFile(f, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s [%s]", strings.TrimPrefix(f, "../../"), e.Line, e.Column, e.Message, e.Kind)
		}
	}
}

// actionlint catches what the test relies on it for.
func TestExamplesActionlintRefuses(t *testing.T) {
	t.Parallel()
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps:\n      - run: echo ${{ github.event.comment.body }}\n"
	errs, err := linter.Lint("bad.yml", []byte(bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []string{"job-needs", "expression"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("actionlint did not report %s in a bad workflow (reported %v)", want, kinds)
		}
	}
}

// gitlabJobKeys are the keywords a GitLab CI job may use.
var gitlabJobKeys = []string{
	"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage", "dependencies",
	"environment", "extends", "hooks", "id_tokens", "identity", "image", "inherit", "interruptible",
	"manual_confirmation", "needs", "pages", "parallel", "release", "resource_group", "retry", "rules",
	"run", "script", "secrets", "services", "stage", "tags", "timeout", "trigger", "variables", "when",
}

// gitlabGlobalKeys are the top-level keywords that are not jobs.
var gitlabGlobalKeys = []string{"default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script", "after_script"}

// The GitLab pipeline of docs/examples is well formed (GitLab publishes a
// JSON schema, but none is available offline): the YAML parses; every job
// uses only job keywords, has a stage the pipeline defines and a script
// (its own or by extends); needs, dependencies and extends name jobs and
// templates that exist, and needs point at earlier (or the same) stages;
// rules use only rule keywords and valid when values; artifacts name
// paths; environments have a name.
func TestExamplesGitLabPipeline(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/examples/gitlab/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no GitLab pipeline in docs/examples/gitlab")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range gitlabProblems(b) {
			t.Errorf("%s: %s", strings.TrimPrefix(f, "../../"), problem)
		}
	}
}

// The structural check catches what it must.
func TestExamplesGitLabPipelineRefuses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown stage":   {"stages: [a]\nj:\n  stage: b\n  script: [x]\n", `stage "b"`},
		"needs a job":     {"stages: [a]\nj:\n  stage: a\n  needs: [k]\n  script: [x]\n", `needs "k"`},
		"later stage":     {"stages: [a, b]\nj:\n  stage: a\n  needs: [k]\n  script: [x]\nk:\n  stage: b\n  script: [x]\n", "later stage"},
		"no script":       {"stages: [a]\nj:\n  stage: a\n", "no script"},
		"typo":            {"stages: [a]\nj:\n  stage: a\n  scirpt: [x]\n", `"scirpt"`},
		"rule when":       {"stages: [a]\nj:\n  stage: a\n  script: [x]\n  rules:\n    - if: $X\n      when: later\n", `when "later"`},
		"extends":         {"stages: [a]\nj:\n  extends: .t\n  stage: a\n  script: [x]\n", `extends ".t"`},
		"artifacts paths": {"stages: [a]\nj:\n  stage: a\n  script: [x]\n  artifacts:\n    paths: x\n", "artifacts"},
		"not yaml":        {"stages: [a\n", "YAML"},
	} {
		problems := gitlabProblems([]byte(tc.yaml))
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %q do not mention %s", name, problems, tc.want)
		}
	}
}

func gitlabProblems(b []byte) []string {
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return []string{"not valid YAML: " + err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	stages := []string{".pre", "build", "test", "deploy", ".post"}
	if s, ok := doc["stages"]; ok {
		list, ok := s.([]any)
		if !ok {
			bad("stages is not a list")
		}
		stages = []string{".pre"}
		for _, st := range list {
			stages = append(stages, fmt.Sprint(st))
		}
		stages = append(stages, ".post")
	}
	jobs := map[string]map[string]any{}
	for name, v := range doc {
		if slices.Contains(gitlabGlobalKeys, name) {
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			bad("%s is neither a keyword nor a job", name)
			continue
		}
		jobs[name] = job
	}
	// resolved follows extends, as GitLab merges templates into jobs.
	var resolved func(name string, seen int) map[string]any
	resolved = func(name string, seen int) map[string]any {
		job := jobs[name]
		out := map[string]any{}
		if ext, ok := job["extends"]; ok && seen < 10 {
			var parents []string
			switch e := ext.(type) {
			case string:
				parents = []string{e}
			case []any:
				for _, p := range e {
					parents = append(parents, fmt.Sprint(p))
				}
			}
			for _, p := range parents {
				if _, ok := jobs[p]; !ok {
					bad("job %s: extends %q, which is not defined", name, p)
					continue
				}
				for k, v := range resolved(p, seen+1) {
					out[k] = v
				}
			}
		}
		for k, v := range job {
			out[k] = v
		}
		return out
	}
	stageOf := func(job map[string]any) string {
		if s, ok := job["stage"]; ok {
			return fmt.Sprint(s)
		}
		return "test"
	}
	for name := range jobs {
		for k := range jobs[name] {
			if !slices.Contains(gitlabJobKeys, k) {
				bad("job %s: %q is not a job keyword", name, k)
			}
		}
		if strings.HasPrefix(name, ".") {
			continue // a template, not a job
		}
		job := resolved(name, 0)
		if !slices.Contains(stages, stageOf(job)) {
			bad("job %s: stage %q is not one of the stages %v", name, stageOf(job), stages)
		}
		if _, ok := job["script"]; !ok {
			if _, trigger := job["trigger"]; !trigger {
				bad("job %s: no script", name)
			}
		}
		var needs []string
		if n, ok := job["needs"].([]any); ok {
			for _, e := range n {
				switch e := e.(type) {
				case string:
					needs = append(needs, e)
				case map[string]any:
					needs = append(needs, fmt.Sprint(e["job"]))
				}
			}
		}
		if d, ok := job["dependencies"].([]any); ok {
			for _, e := range d {
				needs = append(needs, fmt.Sprint(e))
			}
		}
		for _, n := range needs {
			other, ok := jobs[n]
			if !ok || strings.HasPrefix(n, ".") {
				bad("job %s: needs %q, which is not a job", name, n)
				continue
			}
			if slices.Index(stages, stageOf(resolved(n, 0))) > slices.Index(stages, stageOf(job)) {
				bad("job %s: needs %s, which runs in a later stage", name, n)
			}
			_ = other
		}
		if rules, ok := job["rules"]; ok {
			list, ok := rules.([]any)
			if !ok {
				bad("job %s: rules is not a list", name)
			}
			for _, r := range list {
				rule, ok := r.(map[string]any)
				if !ok {
					bad("job %s: a rule is not a mapping", name)
					continue
				}
				for k, v := range rule {
					if !slices.Contains([]string{"if", "when", "changes", "exists", "variables", "allow_failure", "needs", "interruptible", "start_in"}, k) {
						bad("job %s: %q is not a rule keyword", name, k)
					}
					if k == "when" && !slices.Contains([]string{"on_success", "on_failure", "always", "never", "manual", "delayed"}, fmt.Sprint(v)) {
						bad("job %s: rule when %q is not a when value", name, v)
					}
				}
			}
		}
		if a, ok := job["artifacts"]; ok {
			art, ok := a.(map[string]any)
			if !ok {
				bad("job %s: artifacts is not a mapping", name)
			} else if p, ok := art["paths"]; ok {
				list, ok := p.([]any)
				if !ok || len(list) == 0 {
					bad("job %s: artifacts paths is not a list of paths", name)
				}
				for _, e := range list {
					if s, ok := e.(string); !ok || s == "" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
						bad("job %s: artifacts path %v is not a path inside the project", name, e)
					}
				}
			}
		}
		if env, ok := job["environment"].(map[string]any); ok {
			if _, ok := env["name"]; !ok {
				bad("job %s: environment has no name", name)
			}
		}
	}
	slices.Sort(problems)
	return problems
}
