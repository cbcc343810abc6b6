package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func write(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestZeroConfig(t *testing.T) {
	c, err := Load(t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "" || c.Base != "" || len(c.Roots) != 0 || len(c.Projects) != 0 {
		t.Errorf("zero config = %+v", c)
	}
}

func TestFullFile(t *testing.T) {
	dir := write(t, `base: origin/develop
roots: [conf]
exclude: ["conf/**/examples"]
watch: [".tool-versions"]
projects:
  - dir: conf/prod/eks/
    name: prod-eks
    watch: ["config/eks/**"]
    depends_on: [conf/prod/vpc]
`)
	c, err := Load(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Base: "origin/develop", Roots: []string{"conf"}, Exclude: []string{"conf/**/examples"}, Watch: []string{".tool-versions"},
		Projects: []Project{{Dir: "conf/prod/eks", Name: "prod-eks", Watch: []string{"config/eks/**"}, DependsOn: []string{"conf/prod/vpc"}}},
		File:     filepath.Join(dir, FileName)}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestPrecedence(t *testing.T) {
	dir := write(t, "base: from-file\n")
	c, _ := Load(dir, "", nil)
	if c.Base != "from-file" {
		t.Errorf("file: base = %q", c.Base)
	}
	t.Setenv("ATOLL_BASE", "from-env")
	t.Setenv("ATOLL_ROOTS", "live,conf")
	c, _ = Load(dir, "", nil)
	if c.Base != "from-env" || !reflect.DeepEqual(c.Roots, []string{"live", "conf"}) {
		t.Errorf("env: base = %q roots = %v", c.Base, c.Roots)
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("base", "", "")
	c, _ = Load(dir, "", fs)
	if c.Base != "from-env" {
		t.Errorf("an unset flag overrode the environment: %q", c.Base)
	}
	_ = fs.Parse([]string{"--base", "from-flag"})
	c, _ = Load(dir, "", fs)
	if c.Base != "from-flag" {
		t.Errorf("flag: base = %q", c.Base)
	}
}

func TestErrorsNameFileKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"unknown top-level key", "base: main\nroot: [conf]\n", "root", 2, "unknown key"},
		{"unknown project key", "projects:\n  - dir: conf/a\n    nmae: a\n", "projects[0].nmae", 3, "unknown key"},
		{"wrong type", "roots: {a: b}\n", "roots", 1, "expected a list of strings, got a map"},
		{"wrong type in a project", "projects:\n  - dir: a\n    watch: {x: 1}\n", "projects[0].watch", 3, "expected a list of strings, got a map"},
		{"wrong type in a list", "exclude:\n  - a\n  - 5\n", "exclude[1]", 3, "got a number (5); quote it"},
		{"malformed base", "roots: [conf]\nbase: ../../etc/passwd\n", "base", 2, "is not a revision"},
		{"base with a newline", "base: \"main\\nx\"\n", "base", 1, "control character"},
		{"absolute root", "roots: [/conf]\n", "roots[0]", 1, "absolute"},
		{"root leaves the repository", "roots: [../x]\n", "roots[0]", 1, "leaves the repository"},
		{"invalid glob", "watch: [\"a/[b\"]\n", "watch[0]", 1, "not a valid glob"},
		{"project without dir", "projects:\n  - name: a\n", "projects[0].dir", 2, "needs a dir"},
		{"duplicate dir", "projects:\n  - dir: conf/a\n  - dir: conf/a/\n", "projects[1].dir", 3, "already declared"},
		{"duplicate name", "projects:\n  - dir: conf/a\n    name: x\n  - dir: conf/b\n    name: x\n", "projects[1].name", 5, "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := write(t, tt.yaml)
			_, err := Load(dir, "", nil)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if ce.File != filepath.Join(dir, FileName) || ce.Key != tt.key || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got %+v (%v), want key %q line %d msg ~%q", ce, err, tt.key, tt.line, tt.msg)
			}
		})
	}
}

func TestInvalidYAML(t *testing.T) {
	dir := write(t, "base: [unclosed\n")
	_, err := Load(dir, "", nil)
	if err == nil || !strings.Contains(err.Error(), FileName) || !strings.Contains(err.Error(), "invalid YAML") {
		t.Errorf("err = %v", err)
	}
}

func TestExplicitMissingFile(t *testing.T) {
	_, err := Load(t.TempDir(), "/nonexistent/atoll.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/atoll.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestHashChangesWithSettings(t *testing.T) {
	a := &Config{Roots: []string{"conf"}}
	b := &Config{Roots: []string{"live"}}
	if a.Hash() == b.Hash() || a.Hash() != (&Config{Roots: []string{"conf"}, File: "elsewhere"}).Hash() {
		t.Error("Hash must follow the settings and ignore where they came from")
	}
}

func TestEnvironmentValuesAreBlamedOnTheVariable(t *testing.T) {
	dir := write(t, "roots: [conf]\n")
	t.Setenv("ATOLL_ROOTS", "/abs, live/ ")
	_, err := Load(dir, "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != "environment variable ATOLL_ROOTS" || ce.Line != 0 {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("ATOLL_ROOTS", "conf/prod, conf/staging/")
	c, err := Load(dir, "", nil)
	if err != nil || !reflect.DeepEqual(c.Roots, []string{"conf/prod", "conf/staging"}) {
		t.Errorf("roots = %q, %v; want spaces and trailing slashes trimmed", c.Roots, err)
	}
}

func TestGuardEnvironment(t *testing.T) {
	t.Setenv("ATOLL_GUARD_MODE", "targeted")
	t.Setenv("ATOLL_GUARD_SKIP", "locks")
	c, err := Load(t.TempDir(), "", nil)
	if err != nil || c.Guard.Mode != "targeted" || !reflect.DeepEqual(c.Guard.Skip, []string{"locks"}) {
		t.Errorf("guard = %+v, %v", c.Guard, err)
	}
}

// TestEveryKeyRefusesEveryWrongType gives each key of atoll.yaml values of
// each YAML type it does not take: none may be converted into a setting.
func TestEveryKeyRefusesEveryWrongType(t *testing.T) {
	kinds := map[string]string{
		"base": "string", "workdir": "string", "terraform_bin": "string",
		"lock_on": "string", "ledger_remote": "string",
		"roots": "list", "exclude": "list", "watch": "list",
		"projects":              "maps",
		"projects[].dir":        "string",
		"projects[].name":       "string",
		"projects[].source":     "string",
		"projects[].workspace":  "string",
		"projects[].watch":      "list",
		"projects[].depends_on": "list",
		"guard.mode":            "string", "guard.skip": "list",
		"env.pass": "list", "env.envrc": "string",
	}
	if got, want := Keys(), sortedKeys(kinds); !reflect.DeepEqual(got, want) {
		t.Fatalf("Keys() = %v; this test knows %v: add the new key here", got, want)
	}
	wrong := map[string][]string{
		"string": {"5", "1.5", "true", "2026-01-01", "[a]", "{a: b}", "[]"},
		"list":   {"conf", "5", "false", "{a: b}", "[5]", "[true]", "[[a]]", "[{a: b}]"},
		"maps":   {"x", "5", "{a: b}", "[x]", "[[a]]", "[5]"},
	}
	for key, kind := range kinds {
		for _, value := range wrong[kind] {
			var doc, wantKey string
			switch {
			case strings.HasPrefix(key, "projects[]."):
				sub := strings.TrimPrefix(key, "projects[].")
				doc = "projects:\n  - dir: conf/a\n    " + sub + ": " + value + "\n"
				if sub == "dir" {
					doc = "projects:\n  - dir: " + value + "\n"
				}
				wantKey = "projects[0]." + sub
			case strings.HasPrefix(key, "guard."):
				doc = "guard:\n  " + strings.TrimPrefix(key, "guard.") + ": " + value + "\n"
				wantKey = key
			case strings.HasPrefix(key, "env."):
				doc = "env:\n  " + strings.TrimPrefix(key, "env.") + ": " + value + "\n"
				wantKey = key
			default:
				doc = "# a comment\n" + key + ": " + value + "\n"
				wantKey = key
			}
			t.Run(key+"="+value, func(t *testing.T) {
				dir := write(t, doc)
				_, err := Load(dir, "", nil)
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("%q: err = %v, want *config.Error", doc, err)
				}
				if ce.File != filepath.Join(dir, FileName) || !strings.HasPrefix(ce.Key, wantKey) || ce.Line == 0 || !strings.Contains(ce.Msg, "expected") {
					t.Errorf("%q: got %v, want file, line and key %s", doc, err, wantKey)
				}
				if _, err := Parse("atoll.yaml", []byte(doc)); err == nil {
					t.Errorf("%q: Parse accepted it", doc)
				}
			})
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestRightTypesStillLoad(t *testing.T) {
	dir := write(t, "base: \"1234\"\nworkdir:\nroots: []\nguard: {mode: strict, skip: [locks]}\nprojects:\n  - dir: conf/a\n    name: \"5\"\n")
	c, err := Load(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Base != "1234" || c.Projects[0].Name != "5" || c.Guard.Mode != "strict" {
		t.Errorf("got %+v", c)
	}
}

func TestUnknownKeyListsEveryKey(t *testing.T) {
	_, err := Load(write(t, "guard:\n  mdoe: strict\n"), "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "guard.mdoe" || ce.Line != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, k := range []string{"base", "guard.mode", "guard.skip", "projects[].workspace", "projects[].source", "terraform_bin"} {
		if !strings.Contains(ce.Msg, k) {
			t.Errorf("message %q does not list %s", ce.Msg, k)
		}
	}
}

func TestEnvSettings(t *testing.T) {
	c, err := Load(write(t, "env:\n  pass: [TF_CLI_ARGS_init, \"TF_VAR_*\"]\n  envrc: ignore\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Env.Pass, []string{"TF_CLI_ARGS_init", "TF_VAR_*"}) || c.Env.Envrc != "ignore" {
		t.Errorf("env = %+v", c.Env)
	}
	_, err = Load(write(t, "env:\n  envrc: sometimes\n"), "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "env.envrc" || ce.Line != 2 {
		t.Errorf("bad env.envrc: %v", err)
	}
	_, err = Load(write(t, "env:\n  pass: [\"TF_[\"]\n"), "", nil)
	if !errors.As(err, &ce) || ce.Key != "env.pass[0]" {
		t.Errorf("bad env.pass glob: %v", err)
	}
}
