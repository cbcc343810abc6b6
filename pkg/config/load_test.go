package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEffectiveLockOn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "apply", "apply": "apply", "plan": "plan", "never": "never"} {
		if got := (&Config{LockOn: in}).EffectiveLockOn(); got != want {
			t.Errorf("lock_on %q: %q, want %q", in, got, want)
		}
	}
}

// TestUnreadableFile: an atoll.yaml that exists but cannot be read (a
// directory here) is an error naming it, not a repository without one.
func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || !strings.Contains(ce.Msg, "cannot read") {
		t.Errorf("atoll.yaml a directory: %v", err)
	}
	if _, err := Load(t.TempDir(), path, nil); !errors.As(err, &ce) || ce.File != path {
		t.Errorf("--config naming a directory: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "atoll.yaml", Key: "roots[0]", Line: 3, Msg: "bad"}, `atoll.yaml:3: key "roots[0]": bad`},
		{Error{File: "atoll.yaml", Msg: "bad"}, "atoll.yaml: bad"},
		{Error{Key: "base", Msg: "bad"}, `configuration: key "base": bad`},
		{Error{Line: 2, Msg: "bad"}, "configuration:2: bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
}

// TestSettingsAreValidated: each setting's values, from the file.
func TestSettingsAreValidated(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, key, msg string }{
		{"lock_on: always\n", "lock_on", `"always" is not one of apply, plan, never`},
		{"ledger_remote: \"git@host:x\"\n", "ledger_remote", "is not a remote name"},
		{"ledger_remote: \"a b\"\n", "ledger_remote", "is not a remote name"},
		{"ledger_remote: \"a/b\"\n", "ledger_remote", "is not a remote name"},
		{"env:\n  envrc: run\n", "env.envrc", "not direnv or ignore"},
		{"env:\n  pass: [\"[\"]\n", "env.pass[0]", "not a variable name or glob"},
		{"env:\n  pass: [\" \"]\n", "env.pass[0]", "not a variable name or glob"},
		{"base: \"\"\nroots: [a, \"/b\"]\n", "roots[1]", "absolute"},
	} {
		_, err := Parse("atoll.yaml", []byte(tt.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) || ce.File != "atoll.yaml" || ce.Line == 0 {
			t.Errorf("%q: %v, want %s: ~%q", tt.yaml, err, tt.key, tt.msg)
		}
	}
	for _, ok := range []string{"lock_on: plan\n", "lock_on: never\n", "ledger_remote: upstream\n", "env:\n  envrc: ignore\n  pass: [TF_VAR_*]\n"} {
		if _, err := Parse("atoll.yaml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestParseErrors: a committed atoll.yaml that is not YAML, or has the
// wrong shape, is an error naming the file and line.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		yaml string
		line int
		msg  string
	}{
		{"roots: [a\n", 1, "invalid YAML"},
		{"roots:\n  - a\n  bad\n", 3, "invalid YAML"},
		{"roots: a\n", 1, "expected a list of strings"},
		{"nope: 1\n", 1, "unknown key"},
	} {
		_, err := Parse("conf.yaml", []byte(tt.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "conf.yaml" || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%q: %+v, want line %d ~%q", tt.yaml, err, tt.line, tt.msg)
		}
	}
	for _, empty := range []string{"", "~\n", "# nothing\n"} {
		c, err := Parse("conf.yaml", []byte(empty))
		if err != nil || c.File != "conf.yaml" {
			t.Errorf("%q: %+v, %v", empty, c, err)
		}
	}
}

// TestAnchorsAndMergeKeys: YAML anchors, aliases and merge keys are
// checked like the values they stand for.
func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	c, err := Parse("atoll.yaml", []byte("watch: &w [a, b]\nexclude: *w\nprojects:\n  - &p {dir: conf/a, name: a}\n  - <<: *p\n    dir: conf/b\n    name: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Exclude, ",") != "a,b" || len(c.Projects) != 2 || c.Projects[1].Dir != "conf/b" {
		t.Errorf("config %+v", c)
	}
	for _, tt := range []struct{ yaml, key, msg string }{
		{"env: &e {pass: [A]}\nguard: *e\n", "guard.pass", "unknown key"},
		{"base: &b [a]\n", "base", "expected a string, got a list"},
		{"projects:\n  - <<: {dir: 5}\n", "projects[0].dir", "got a number (5)"},
		{"base: !!binary aGVsbG8=\n", "base", "got binary data"},
		{"base: 2026-01-01\n", "base", "got a date (2026-01-01)"},
		{"base: true\n", "base", "got a boolean (true)"},
		{"base: 1.5\n", "base", "got a number (1.5)"},
		{"base: !custom x\n", "base", "got a value of YAML type !custom"},
		{"base: [a]\n", "base", "expected a string, got a list"},
		{"roots: [{a: 1}]\n", "roots[0]", "expected a string, got a map"},
	} {
		_, err := Parse("atoll.yaml", []byte(tt.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%q: %v, want %s: ~%q", tt.yaml, err, tt.key, tt.msg)
		}
	}
	long := strings.Repeat("x", 50)
	_, err = Parse("atoll.yaml", []byte("guard:\n  skip: "+long+"\n"))
	if err == nil || !strings.Contains(err.Error(), `got a string ("`+long[:40]+`...")`) {
		t.Errorf("long value: %v", err)
	}
}
