package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/atlantis"
)

const atlantisYAML = `version: 3
workflows:
  make: {plan: {steps: [{run: make plan}]}}
projects:
- name: vpc
  dir: conf/vpc
  workflow: make
  execution_order_group: 1
  autoplan:
    when_modified: ["*.tf", "../../modules/net/**"]
- name: eks
  dir: conf/eks
  workspace: blue
  execution_order_group: 2
  apply_requirements: [approved]
`

var atlantisProjects = []Project{
	{Dir: "conf/vpc", Name: "vpc", Watch: []string{"modules/net/**"}},
	{Dir: "conf/eks", Name: "eks", Workspace: "blue", DependsOn: []string{"vpc"}},
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReadsAtlantisWithoutAtollYAML(t *testing.T) {
	t.Setenv("ATOLL_BASE", "origin/develop") // the environment still applies
	dir := t.TempDir()
	writeFile(t, dir, "atlantis.yaml", atlantisYAML)
	c, err := Load(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Projects, atlantisProjects) {
		t.Errorf("projects %+v\nwant %+v", c.Projects, atlantisProjects)
	}
	if c.Imported != "atlantis.yaml" || c.File != filepath.Join(dir, "atlantis.yaml") || c.Committed() != "atlantis.yaml" || c.Base != "origin/develop" {
		t.Errorf("imported %q file %q committed %q base %q", c.Imported, c.File, c.Committed(), c.Base)
	}
	if len(c.Notes) != 3 { // workflows, projects[0].workflow, projects[1].apply_requirements
		t.Errorf("notes %q, want 3", c.Notes)
	}
	sum := c.ImportSummary()
	for _, w := range []string{"no atoll.yaml", "2 project(s) from atlantis.yaml", "3 setting(s)", "atoll config import-atlantis"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary %q does not say %q", sum, w)
		}
	}
}

func TestAtollYAMLWinsOverAtlantis(t *testing.T) {
	t.Parallel()
	dir := write(t, "projects: [{dir: conf/only}]\n")
	writeFile(t, dir, "atlantis.yaml", atlantisYAML)
	c, err := Load(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Imported != "" || c.ImportSummary() != "" || c.Committed() != FileName || len(c.Projects) != 1 || c.Projects[0].Dir != "conf/only" {
		t.Errorf("with atoll.yaml present: imported %q projects %+v", c.Imported, c.Projects)
	}
}

func TestExplicitAtlantisConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "atlantis.yaml", atlantisYAML)
	c, err := Load(t.TempDir(), filepath.Join(dir, "atlantis.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Imported != "atlantis.yaml" || !reflect.DeepEqual(c.Projects, atlantisProjects) {
		t.Errorf("--config atlantis.yaml: imported %q projects %+v", c.Imported, c.Projects)
	}
}

func TestLoadAtlantisErrorNamesFileAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "atlantis.yaml", "version: 3\nprojects:\n- name: a\n")
	_, err := Load(dir, "", nil)
	var e *atlantis.Error
	if !errors.As(err, &e) || e.Line != 3 || e.File != filepath.Join(dir, "atlantis.yaml") {
		t.Fatalf("err = %v, want an atlantis.Error at %s:3", err, filepath.Join(dir, "atlantis.yaml"))
	}
	// A value atoll refuses is reported against the Atlantis file too.
	writeFile(t, dir, "atlantis.yaml", "version: 3\nprojects:\n- dir: a\n  autoplan: {when_modified: [\"x/[\"]}\n")
	_, err = Load(dir, "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != filepath.Join(dir, "atlantis.yaml") || !strings.Contains(ce.Msg, "not a valid glob") {
		t.Fatalf("err = %v, want the invalid glob blamed on atlantis.yaml", err)
	}
}

func TestParseCommittedAtlantis(t *testing.T) {
	t.Parallel()
	c, err := Parse("atlantis.yaml", []byte(atlantisYAML))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Projects, atlantisProjects) || c.Committed() != "atlantis.yaml" {
		t.Errorf("Parse(atlantis.yaml) = %+v", c.Projects)
	}
	// The same bytes under atoll's name are atoll's format: version and
	// workflows are unknown keys there.
	if _, err := Parse(FileName, []byte(atlantisYAML)); err == nil {
		t.Error("atlantis content parsed as atoll.yaml without an error")
	}
}

func TestImportAtlantisRoundTrips(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../atlantis/testdata/geodesic-atlantis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text, notes, err := ImportAtlantis("atlantis.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	written, err := Parse(FileName, text)
	if err != nil {
		t.Fatalf("written atoll.yaml does not parse: %v\n%s", err, text)
	}
	read, err := Parse("atlantis.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written.Projects, read.Projects) || len(written.Projects) != 10 {
		t.Errorf("written projects differ from the ones read in place:\n%+v\n%+v", written.Projects, read.Projects)
	}
	// Every note is in the file, as a comment.
	for _, n := range notes {
		if !strings.Contains(string(text), "# "+n.String()) {
			t.Errorf("note %q missing from the file:\n%s", n, text)
		}
	}
	// A project's notes come before its entry, after the previous one's.
	s := string(text)
	tf := strings.Index(s, "projects[0].terraform_version")
	first, second := strings.Index(s, `dir: "conf/tfstate-backend"`), strings.Index(s, `dir: "conf/account"`)
	if tf < 0 || first < 0 || second < 0 || !(tf < first && first < second) {
		t.Errorf("project 0's notes are not before its entry:\n%s", s)
	}
}

func TestImportAtlantisEdgeCases(t *testing.T) {
	t.Parallel()
	// No projects; a note on a dropped last entry still appears; YAML
	// special words stay strings.
	text, _, err := ImportAtlantis("atlantis.yaml", []byte("version: 3\n"))
	if err != nil || !strings.Contains(string(text), "projects: []") {
		t.Fatalf("empty: %v\n%s", err, text)
	}
	if _, err := Parse(FileName, text); err != nil {
		t.Errorf("empty import does not parse: %v", err)
	}
	text, notes, err := ImportAtlantis("atlantis.yaml", []byte("version: 3\nprojects:\n- {dir: conf/on, name: \"on\"}\n- {dir: conf/on, workspace: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(FileName, text)
	if err != nil || len(c.Projects) != 1 || c.Projects[0].Name != "on" {
		t.Fatalf("parse: %v %+v\n%s", err, c, text)
	}
	if len(notes) != 1 || !strings.Contains(string(text), notes[0].String()) {
		t.Errorf("the dropped entry's note is not in the file: %v\n%s", notes, text)
	}
	if _, _, err := ImportAtlantis("atlantis.yaml", []byte("version: 1\n")); err == nil {
		t.Error("version 1 imported")
	}
}
