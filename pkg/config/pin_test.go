package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
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

// TestOnlyDocumentedVariablesAreRead: projects: and the guard and env
// maps have no ATOLL_* variable (docs/configuration.md lists the ones
// there are), so a variable that happens to share a key's name neither
// replaces the file's entries nor turns into an error blamed on the file.
func TestOnlyDocumentedVariablesAreRead(t *testing.T) {
	t.Setenv("ATOLL_PROJECTS", "conf/b")
	t.Setenv("ATOLL_GUARD", "x")
	t.Setenv("ATOLL_ENV", "y")
	c, err := Load(write(t, "projects:\n  - dir: conf/a\nguard: {}\nenv: {}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Projects) != 1 || c.Projects[0].Dir != "conf/a" {
		t.Errorf("projects = %+v, want the file's conf/a", c.Projects)
	}
}

// TestDecodeErrorNamesKeyAndLine: what checkShape lets through and the
// decoder still refuses is reported like every other error, with the
// dotted key and its line. The errors are the decoder's own, made by
// decoding past checkShape.
func TestDecodeErrorNamesKeyAndLine(t *testing.T) {
	for _, tt := range []struct {
		yaml, key string
		line      int
		msg       string
	}{
		{"base: main\nnope: 1\n", "nope", 2, "unknown key; valid keys are "},
		{"projects:\n  - dir: a\n  - dir: b\n    nmae: x\n", "projects[1].nmae", 4, "unknown key"},
		{"guard:\n  mode: strict\n  mdoe: x\n", "guard.mdoe", 3, "unknown key"},
		{"roots:\n  - a\n  - {x: 1}\n", "roots[1]", 3, "invalid value: "},
		{"projects:\n  - dir: a\n  - x\n", "projects[1]", 3, "invalid value: "},
	} {
		v := viper.New()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(strings.NewReader(tt.yaml)); err != nil {
			t.Fatal(err)
		}
		var c Config
		derr := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true })
		if derr == nil {
			t.Fatalf("%q: the decoder accepted it", tt.yaml)
		}
		err := decodeError("atoll.yaml", []byte(tt.yaml), derr)
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "atoll.yaml" || ce.Key != tt.key || ce.Line != tt.line || !strings.HasPrefix(ce.Msg, tt.msg) {
			t.Errorf("%q: %+v from %q; want %s at line %d, ~%q", tt.yaml, err, derr, tt.key, tt.line, tt.msg)
		}
		if strings.Contains(ce.Msg, "decoding failed") || strings.Contains(ce.Msg, "'"+tt.key+"'") {
			t.Errorf("%q: the decoder's framing leaks: %q", tt.yaml, ce.Msg)
		}
	}
}

// TestLineOfDottedKeys: the line a dotted key starts on; for a key the
// file does not have (the value came from elsewhere), the line of its
// nearest ancestor that the file has, or 0.
func TestLineOfDottedKeys(t *testing.T) {
	raw := []byte("# settings\nbase: main\nroots:\n  - a\n  - b\nguard:\n  mode: strict\nprojects:\n  - dir: conf/a\n  - dir: conf/b\n    watch:\n      - x\n      - y\nenv: {pass: [A]}\n")
	for key, want := range map[string]int{
		"base":                 2,
		"roots":                3,
		"roots[0]":             4,
		"roots[1]":             5,
		"roots[2]":             3, // more roots than the file has: from ATOLL_ROOTS
		"guard.mode":           7,
		"guard.skip":           6,
		"projects[1]":          10,
		"projects[1].dir":      10,
		"projects[1].watch":    11,
		"projects[1].watch[1]": 13,
		"projects[1].name":     10,
		"projects[7].dir":      8,
		"env.pass[0]":          14,
		"base[0]":              2, // not a list
		"guard[0]":             6, // a map, not a list
		"workdir":              0,
		"":                     0,
	} {
		if got := lineOf(raw, key); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", key, got, want)
		}
	}
	for _, raw := range []string{"", "# only a comment\n", "~\n", "[a, b]\n", "roots: [a\n"} {
		if got := lineOf([]byte(raw), "roots[0]"); got != 0 {
			t.Errorf("lineOf(roots[0]) in %q = %d, want 0", raw, got)
		}
	}
}

// TestEnvironmentErrorsWithAFileThatDoesNotSetTheKey: a bad ATOLL_*
// value is blamed on the variable however little the file says.
func TestEnvironmentErrorsWithAFileThatDoesNotSetTheKey(t *testing.T) {
	for _, file := range []string{"# only a comment\n", "roots: [conf]\n", "~\n"} {
		t.Setenv("ATOLL_LOCK_ON", "always")
		t.Setenv("ATOLL_ROOTS", "conf,live,/abs")
		_, err := Load(write(t, file), "", nil)
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "environment variable ATOLL_ROOTS" || ce.Key != "roots[2]" || ce.Line != 0 {
			t.Errorf("file %q, ATOLL_ROOTS=%s: %v", file, os.Getenv("ATOLL_ROOTS"), err)
		}
		t.Setenv("ATOLL_ROOTS", "")
		_, err = Load(write(t, file), "", nil)
		if !errors.As(err, &ce) || ce.File != "environment variable ATOLL_LOCK_ON" || ce.Key != "lock_on" {
			t.Errorf("file %q, ATOLL_LOCK_ON=always: %v", file, err)
		}
	}
}

// TestLoneSlashIsTheRootNotEmpty: a trailing slash is dropped from
// directories and globs, but "/" alone is the file system root, refused
// as absolute, not turned into an empty value.
func TestLoneSlashIsTheRootNotEmpty(t *testing.T) {
	for _, tt := range []struct{ yaml, key, msg string }{
		{"roots: [\"/\"]\n", "roots[0]", "absolute"},
		{"watch: [\"/\"]\n", "watch[0]", "relative to the repository root"},
		{"exclude: [\"/\"]\n", "exclude[0]", "relative to the repository root"},
	} {
		_, err := Parse("atoll.yaml", []byte(tt.yaml))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%q: %v, want %s: ~%q", tt.yaml, err, tt.key, tt.msg)
		}
	}
	c, err := Parse("atoll.yaml", []byte("roots: [\"conf/\", \"a/\"]\nwatch: [\"policies/\", \"x/\"]\nprojects:\n  - dir: conf/b\n    watch: [\"config/b/\", \" y \"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Roots, []string{"conf", "a"}) || !reflect.DeepEqual(c.Watch, []string{"policies", "x"}) || !reflect.DeepEqual(c.Projects[0].Watch, []string{"config/b", "y"}) {
		t.Errorf("roots %q watch %q project watch %q: want spaces and trailing slashes dropped, short names too", c.Roots, c.Watch, c.Projects[0].Watch)
	}
}

// TestQuotedMergeKeyIsAnOrdinaryKey: only the YAML merge key << (tag
// !!merge) merges a map; a quoted "<<" is a key like any other, unknown.
func TestQuotedMergeKeyIsAnOrdinaryKey(t *testing.T) {
	for _, y := range []string{"\"<<\": 5\n", "guard:\n  \"<<\": {mode: strict}\n", "projects:\n  - dir: a\n    \"<<\": x\n"} {
		_, err := Parse("atoll.yaml", []byte(y))
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasSuffix(ce.Key, "<<") || !strings.Contains(ce.Msg, "unknown key") || ce.Line == 0 {
			t.Errorf("%q: %v, want an unknown key <<", y, err)
		}
	}
}

// TestLongValuesAreCutAfterForty: a wrong value is quoted whole up to 40
// characters, and cut with "..." beyond.
func TestLongValuesAreCutAfterForty(t *testing.T) {
	for n, want := range map[int]string{
		40: `got a string ("` + strings.Repeat("x", 40) + `")`,
		41: `got a string ("` + strings.Repeat("x", 40) + `...")`,
	} {
		_, err := Parse("atoll.yaml", []byte("roots: "+strings.Repeat("x", n)+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d characters: %v, want ~%s", n, err, want)
		}
	}
}

// TestCommittedNamesTheFileTheSettingsCameFrom: atlantis.yaml when they
// were imported from it, else atoll.yaml (also with no configuration).
func TestCommittedNamesTheFileTheSettingsCameFrom(t *testing.T) {
	var none *Config
	for c, want := range map[*Config]string{none: FileName, {}: FileName, {Imported: "atlantis.yaml"}: "atlantis.yaml"} {
		if got := c.Committed(); got != want {
			t.Errorf("%+v: Committed() = %q, want %q", c, got, want)
		}
	}
}

// TestImportSummary: the one line says how many projects were read and
// mentions left-out settings only when there are some.
func TestImportSummary(t *testing.T) {
	c, err := Parse("atlantis.yaml", []byte("version: 3\nprojects:\n- dir: conf/a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.ImportSummary(); !strings.Contains(s, "read 1 project(s) from atlantis.yaml") || strings.Contains(s, "setting(s)") {
		t.Errorf("no notes: %q", s)
	}
	c, err = Parse("atlantis.yaml", []byte("version: 3\nprojects:\n- dir: conf/a\n  workflow: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.ImportSummary(); !strings.Contains(s, "(1 setting(s) with no atoll meaning") {
		t.Errorf("one note: %q", s)
	}
}

// TestImportAtlantisPlacesNotesAndFields: each project's notes are
// comments right above its entry (the first project's too, not at the top
// of the file), notes on no project are at the top, and every carried-over
// field (workspace too) survives the round trip.
func TestImportAtlantisPlacesNotesAndFields(t *testing.T) {
	text, notes, err := ImportAtlantis("atlantis.yaml", []byte(atlantisYAML))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(FileName, text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(c.Projects, atlantisProjects) {
		t.Errorf("projects %+v\nwant %+v\n%s", c.Projects, atlantisProjects, text)
	}
	if strings.Contains(string(text), "workspace: \"\"") || strings.Count(string(text), "workspace:") != 1 {
		t.Errorf("workspace written for a project without one:\n%s", text)
	}
	lines := strings.Split(string(text), "\n")
	at := func(s string) int {
		for i, l := range lines {
			if strings.Contains(l, s) {
				return i
			}
		}
		t.Fatalf("%q not in\n%s", s, text)
		return -1
	}
	var general, first, second string
	for _, n := range notes {
		switch n.Project() {
		case -1:
			general = n.String()
		case 0:
			first = n.String()
		case 1:
			second = n.String()
		}
	}
	list := at("projects:")
	if g := at(general); g > list || !strings.HasPrefix(lines[g], "# ") {
		t.Errorf("general note not at the top:\n%s", text)
	}
	if f := at(first); f < list || f+1 != at(`dir: "conf/vpc"`) || !strings.HasPrefix(lines[f], "  # ") {
		t.Errorf("project 0's note not right above its entry:\n%s", text)
	}
	if s := at(second); s < at(`dir: "conf/vpc"`) || s+1 != at(`dir: "conf/eks"`) {
		t.Errorf("project 1's note not right above its entry:\n%s", text)
	}
}
