package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Pins from issue 12: behaviours a one-line change would break unnoticed.

func TestChangesCountsAddedChangedAndRemovedEntries(t *testing.T) {
	old := &Config{Projects: []Project{{Dir: "conf/a"}, {Dir: "conf/b", Name: "b"}, {Dir: "conf/gone"}, {Dir: "conf/same", Name: "s"}}}
	cur := &Config{Projects: []Project{{Dir: "conf/a"}, {Dir: "conf/b", Name: "bee"}, {Dir: "conf/new"}, {Dir: "conf/same", Name: "s"}}}
	projects, global := Changes(old, cur)
	if want := []string{"conf/b", "conf/gone", "conf/new"}; !reflect.DeepEqual(projects, want) || global {
		t.Errorf("Changes = %v, %v; want %v, false", projects, global, want)
	}
	// Every entry removed (the file emptied or deleted).
	projects, _ = Changes(old, nil)
	if want := []string{"conf/a", "conf/b", "conf/gone", "conf/same"}; !reflect.DeepEqual(projects, want) {
		t.Errorf("all removed: %v, want %v", projects, want)
	}
	projects, _ = Changes(nil, cur)
	if want := []string{"conf/a", "conf/b", "conf/new", "conf/same"}; !reflect.DeepEqual(projects, want) {
		t.Errorf("all added: %v, want %v", projects, want)
	}
	if p, g := Changes(old, old); len(p) != 0 || g {
		t.Errorf("no change: %v, %v", p, g)
	}
}

func TestChangesGlobalSettings(t *testing.T) {
	for name, cur := range map[string]*Config{
		"roots":   {Roots: []string{"live"}},
		"exclude": {Exclude: []string{"x/**"}},
		"watch":   {Watch: []string{".tool-versions"}},
	} {
		if _, g := Changes(&Config{}, cur); !g {
			t.Errorf("%s changed: global = false", name)
		}
		if _, g := Changes(cur, &Config{}); !g {
			t.Errorf("%s removed: global = false", name)
		}
	}
	// base and guard settings decide no project's membership.
	if p, g := Changes(&Config{Base: "main"}, &Config{Base: "develop"}); g || len(p) != 0 {
		t.Errorf("base changed: %v, %v", p, g)
	}
}

func TestGlobsLeavingTheRepositoryAreRefused(t *testing.T) {
	for _, y := range []struct{ yaml, key string }{
		{"watch: [\"../shared/**\"]\n", "watch[0]"},
		{"watch: [\"/etc/**\"]\n", "watch[0]"},
		{"exclude: [\"../x\"]\n", "exclude[0]"},
		{"projects:\n  - dir: conf/a\n    watch: [\"../b/**\"]\n", "projects[0].watch[0]"},
	} {
		_, err := Parse("atoll.yaml", []byte(y.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != y.key || !strings.Contains(ce.Msg, "relative to the repository root") {
			t.Errorf("%q: err = %v, want an error at %s", y.yaml, err, y.key)
		}
	}
	// A glob that only contains ".." further in, or a dotted name, is fine.
	for _, y := range []string{"watch: [\"..foo/**\"]\n", "watch: [\"a/**\"]\n"} {
		if _, err := Parse("atoll.yaml", []byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestProjectEntriesAreValidated(t *testing.T) {
	for _, tt := range []struct{ yaml, key, msg string }{
		{"projects:\n  - dir: /abs\n", "projects[0].dir", "absolute"},
		{"projects:\n  - dir: ..\n", "projects[0].dir", "leaves the repository"},
		{"projects:\n  - dir: a/../../b\n", "projects[0].dir", "leaves the repository"},
		{"projects:\n  - dir: a\n  - dir: b\n    name: \"x y\"\n", "projects[1].name", "white space"},
		{"projects:\n  - dir: a\n  - dir: b\n    depends_on: [a, \"\"]\n", "projects[1].depends_on[1]", "empty project reference"},
		{"projects:\n  - dir: a\n  - dir: b\n    watch: [\"\"]\n", "projects[1].watch[0]", "empty glob"},
		{"guard:\n  mode: loose\n", "guard.mode", "not strict or targeted"},
		{"guard:\n  skip: [nope]\n", "guard.skip[0]", "not a check"},
		{"roots: [\"\"]\n", "roots[0]", "empty path"},
	} {
		_, err := Parse("atoll.yaml", []byte(tt.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%q: err = %v, want %s: ~%q", tt.yaml, err, tt.key, tt.msg)
		}
	}
	c, err := Parse("atoll.yaml", []byte("projects:\n  - dir: conf/a/\n    name: a\n  - dir: conf/b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.ProjectByDir("conf/a"); !ok || p.Name != "a" {
		t.Errorf("ProjectByDir(conf/a) = %+v, %v", p, ok)
	}
	if p, ok := c.ProjectByDir("conf/b"); !ok || p.Dir != "conf/b" {
		t.Errorf("ProjectByDir(conf/b) = %+v, %v", p, ok)
	}
	if _, ok := c.ProjectByDir("conf/c"); ok {
		t.Error("ProjectByDir(conf/c) found an entry")
	}
}
