package atlantis

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestGeodesicShapedFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/geodesic-atlantis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse("atlantis.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Projects) != 10 {
		t.Fatalf("%d projects, want 10", len(res.Projects))
	}
	byName := map[string]Project{}
	for _, p := range res.Projects {
		byName[p.Name] = p
	}
	cases := []struct {
		name       string
		dir        string
		watch      []string
		dependsOn  []string
		index      int
		wantAbsent bool
	}{
		// The lowest group depends on nothing; its own-file globs vanish.
		{name: "tfstate-backend", dir: "conf/tfstate-backend", watch: []string{"conf/tfstate-backend/Makefile", "conf/tfstate-backend/.envrc", "conf/tfstate-backend/*.envrc"}, index: 0},
		// A glob climbing to modules/ is made relative to the root.
		{name: "account", dir: "conf/account", watch: []string{"conf/account/Makefile", "conf/account/.envrc", "modules/account/**/*.tf"}, dependsOn: []string{"tfstate-backend"}, index: 1},
		// Group 3 runs after every project of group 2, not of group 1.
		{name: "vpc", dir: "conf/vpc", watch: []string{"conf/vpc/.envrc", "modules/network/**/*.tf"}, dependsOn: []string{"account", "iam"}, index: 3},
		// depends_on and the group add up, without duplicates.
		{name: "acm", dir: "conf/acm", watch: []string{"conf/acm/.envrc"}, dependsOn: []string{"dns", "vpc"}, index: 5},
		// ** globs reach into subdirectories: kept.
		{name: "eks", dir: "conf/eks", watch: []string{"conf/eks/**/*.tf", "conf/eks/.envrc", "modules/eks/**"}, dependsOn: []string{"vpc", "dns"}, index: 6},
		// ./ and a trailing slash are cleaned.
		{name: "cloudtrail", dir: "conf/cloudtrail", index: 8},
		// workspace: default is the default.
		{name: "backing-services", dir: "conf/backing-services", dependsOn: []string{"vpc"}, index: 9},
	}
	for _, c := range cases {
		p, ok := byName[c.name]
		if !ok {
			t.Errorf("project %s missing", c.name)
			continue
		}
		if p.Dir != c.dir || p.Workspace != "" || p.Index != c.index {
			t.Errorf("%s: dir %q workspace %q index %d, want %q, \"\", %d", c.name, p.Dir, p.Workspace, p.Index, c.dir, c.index)
		}
		if !reflect.DeepEqual(p.Watch, c.watch) && (len(p.Watch) != 0 || len(c.watch) != 0) {
			t.Errorf("%s: watch %q, want %q", c.name, p.Watch, c.watch)
		}
		if !reflect.DeepEqual(p.DependsOn, c.dependsOn) && (len(p.DependsOn) != 0 || len(c.dependsOn) != 0) {
			t.Errorf("%s: depends_on %q, want %q", c.name, p.DependsOn, c.dependsOn)
		}
	}
	// Every key with no atoll meaning is reported, with its line and
	// what to do instead.
	want := map[string]string{
		"automerge":                      "guard",
		"delete_source_branch_on_merge":  "git host",
		"parallel_plan":                  "-j N",
		"workflows":                      ".envrc",
		"projects[0].workflow":           ".envrc",
		"projects[0].terraform_version":  "terraform_bin",
		"projects[0].apply_requirements": "required status check",
		"projects[3].apply_requirements": "environment approval",
		"projects[7].autoplan.enabled":   "exclude",
		"projects[9].apply_requirements": "guard",
	}
	got := map[string]Note{}
	for _, n := range res.Notes {
		got[n.Key] = n
	}
	for key, fix := range want {
		n, ok := got[key]
		if !ok {
			t.Errorf("no note for %s", key)
			continue
		}
		if n.Line == 0 || !strings.Contains(n.String(), fix) {
			t.Errorf("note %s = %q (line %d), want it to say %q", key, n.String(), n.Line, fix)
		}
	}
	if n := got["workflows"]; n.Line != 77 {
		t.Errorf("workflows noted at line %d, want 77", n.Line)
	}
	for _, n := range res.Notes {
		if strings.Contains(n.Key, ".dir") || strings.Contains(n.Key, ".name") || strings.Contains(n.Key, "when_modified") || n.Key == "version" || n.Key == "projects" {
			t.Errorf("translated key %s reported as not carried over: %s", n.Key, n)
		}
	}
}

func TestSameDirectoryWorkspaces(t *testing.T) {
	t.Parallel()
	res, err := Parse("atlantis.yaml", []byte(`version: 3
projects:
- {name: a-staging, dir: conf/a, workspace: staging}
- {name: a-prod, dir: conf/a, workspace: prod}
- {name: b, dir: conf/b, depends_on: [a-prod, a-staging]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Projects) != 2 || res.Projects[0].Workspace != "staging" || res.Projects[1].Dir != "conf/b" {
		t.Fatalf("projects %+v: want conf/a (staging) and conf/b", res.Projects)
	}
	if got := res.Projects[1].DependsOn; !reflect.DeepEqual(got, []string{"a-staging"}) {
		t.Errorf("b depends on %q: the dropped a-prod entry must not be referenced", got)
	}
	var dup *Note
	for i := range res.Notes {
		if res.Notes[i].Key == "projects[1]" {
			dup = &res.Notes[i]
		}
	}
	if dup == nil || !strings.Contains(dup.Msg, "workspace prod") || !strings.Contains(dup.Msg, "one workspace per directory") || dup.Line != 4 {
		t.Errorf("the second workspace of conf/a must be reported at line 4, got %+v", dup)
	}
}

func TestInvalidFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml, key, msg string
		line                 int
	}{
		{"bad yaml", "version: 3\nprojects: [\n", "", "invalid YAML", 2},
		{"version", "version: 2\nprojects: []\n", "version", "version 3", 1},
		{"not a mapping", "- a\n", "", "must be a mapping", 1},
		{"projects not a list", "version: 3\nprojects: {dir: a}\n", "projects", "list", 2},
		{"no dir", "version: 3\nprojects:\n- name: a\n", "projects[0].dir", "needs a dir", 3},
		{"absolute dir", "version: 3\nprojects:\n- dir: /etc\n", "projects[0].dir", "absolute", 3},
		{"dir leaves", "version: 3\nprojects:\n- dir: conf/../../x\n", "projects[0].dir", "leaves the repository", 3},
		{"control character", "version: 3\nprojects:\n- dir: \"conf/a\\nb\"\n", "projects[0].dir", "control character", 3},
		{"group not a number", "version: 3\nprojects:\n- dir: a\n  execution_order_group: first\n", "projects[0].execution_order_group", "whole number", 4},
		{"depends_on not a list", "version: 3\nprojects:\n- dir: a\n  depends_on: b\n", "projects[0].depends_on", "list", 4},
		{"when_modified entry empty", "version: 3\nprojects:\n- dir: a\n  autoplan:\n    when_modified: [\"\"]\n", "projects[0].autoplan.when_modified[0]", "non-empty", 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("repo/atlantis.yaml", []byte(c.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.File != "repo/atlantis.yaml" || e.Key != c.key || e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
				t.Errorf("got %s (file %q key %q line %d), want key %q line %d and %q", e, e.File, e.Key, e.Line, c.key, c.line, c.msg)
			}
		})
	}
}

func TestWhenModifiedLeavingTheRepository(t *testing.T) {
	t.Parallel()
	res, err := Parse("atlantis.yaml", []byte("version: 3\nprojects:\n- dir: conf/a\n  autoplan:\n    when_modified: [\"../../../shared/*.tf\", \"/abs/*.tf\", \"../b/*.tf\", \"../b/*.tf\", \"!*.md\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Projects[0].Watch; !reflect.DeepEqual(got, []string{"conf/b/*.tf"}) {
		t.Errorf("watch %q, want only conf/b/*.tf (once)", got)
	}
	n := 0
	for _, note := range res.Notes {
		if strings.Contains(note.Msg, "leaves the repository") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d notes about globs leaving the repository, want 2: %v", n, res.Notes)
	}
	if last := res.Notes[len(res.Notes)-1]; last.Key != "projects[0].autoplan.when_modified[4]" || !strings.Contains(last.Msg, "excludes files") {
		t.Errorf("the exclusion glob is not reported: %v", last)
	}
}

func TestUnknownKeysAreNotedNotFatal(t *testing.T) {
	t.Parallel()
	res, err := Parse("atlantis.yaml", []byte("version: 3\nfrobnicate: true\nprojects:\n- dir: a\n  colour: red\n  autoplan: {when_modified: [x], speed: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for _, n := range res.Notes {
		keys = append(keys, n.Key)
	}
	if !reflect.DeepEqual(keys, []string{"frobnicate", "projects[0].colour", "projects[0].autoplan.speed"}) {
		t.Errorf("notes for %q", keys)
	}
	if res.Notes[0].Project() != -1 || res.Notes[1].Project() != 0 {
		t.Errorf("Project() of %q = %d, of %q = %d", res.Notes[0].Key, res.Notes[0].Project(), res.Notes[1].Key, res.Notes[1].Project())
	}
}

func TestEmptyFile(t *testing.T) {
	t.Parallel()
	res, err := Parse("atlantis.yaml", nil)
	if err != nil || len(res.Projects) != 0 || len(res.Notes) != 0 {
		t.Errorf("empty file: %+v, %v", res, err)
	}
}
