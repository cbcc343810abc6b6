package project

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
)

// Pins from issue 12.

func TestWorkspaceDirMustBeAbsolute(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, backend, want string }{
		{"relative workspace_dir", "    workspace_dir = \"ws\"\n", `workspace "staging"`},
		{"dot-relative workspace_dir", "    workspace_dir = \"./state/ws\"\n", `workspace "staging"`},
		{"workspace_dir from a variable", "    workspace_dir = var.ws\n", `workspace "staging"`},
		{"absolute workspace_dir", "    workspace_dir = \"/s/ws\"\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "terraform {\n  backend \"local\" {\n    path = \"/s/default.tfstate\"\n" + tt.backend + "  }\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := StateProblem(dir, "staging")
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) || (got != "" && !strings.HasPrefix(got, "main.tf:2:")) {
				t.Errorf("StateProblem = %q, want %q at main.tf:2", got, tt.want)
			}
			// The default workspace's state is at path: workspace_dir is
			// not used.
			if got, _ := StateProblem(dir, "default"); got != "" {
				t.Errorf("default workspace: %q", got)
			}
		})
	}
}

// fileTree is a Tree with explicit File values (IDs may be empty, as for
// uncommitted work-tree files).
type fileTree struct {
	files   []File
	content map[string]string
}

func (f fileTree) Files(func(string) bool) ([]File, error) { return f.files, nil }
func (f fileTree) Read(x File) ([]byte, error)             { return []byte(f.content[x.Path]), nil }

func TestUncommittedFileVoidsTheFingerprint(t *testing.T) {
	committed := fileTree{files: []File{{Path: "conf/a/main.tf", ID: "1"}, {Path: "conf/a/vars.tf", ID: "2"}}}
	dirty := fileTree{files: []File{{Path: "conf/a/main.tf", ID: "1"}, {Path: "conf/a/vars.tf"}}}
	g1, err := Discover(committed, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Discover(dirty, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g1.Projects[0].Fingerprint == "" {
		t.Fatal("committed files: no fingerprint")
	}
	if fp := g2.Projects[0].Fingerprint; fp != "" {
		t.Errorf("a project with an uncommitted file has fingerprint %q, want none", fp)
	}
}

func TestFingerprintFollowsNamesAndContents(t *testing.T) {
	fp := func(files ...File) string {
		t.Helper()
		g, err := Discover(fileTree{files: files}, &config.Config{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range g.Projects {
			if p.Dir == "conf/a" || p.Dir == "conf/b" {
				return p.Fingerprint
			}
		}
		t.Fatalf("no project in %+v", g.Projects)
		return ""
	}
	base := fp(File{Path: "conf/a/main.tf", ID: "1"}, File{Path: "conf/a/x.tf", ID: "2"})
	if moved := fp(File{Path: "conf/b/main.tf", ID: "1"}, File{Path: "conf/b/x.tf", ID: "2"}); moved != base {
		t.Errorf("same files in another directory: %q != %q", moved, base)
	}
	if other := fp(File{Path: "conf/a/main.tf", ID: "1"}, File{Path: "conf/a/x.tf", ID: "3"}); other == base {
		t.Error("another content gives the same fingerprint")
	}
	if renamed := fp(File{Path: "conf/a/main.tf", ID: "1"}, File{Path: "conf/a/y.tf", ID: "2"}); renamed == base {
		t.Error("another file name gives the same fingerprint")
	}
}

func TestSymlinkToASingleFileIsALink(t *testing.T) {
	tree := mapTree{
		"conf/a/main.tf":        "",
		"conf/a/versions.tf@":   "../../shared/versions.tf",
		"shared/versions.tf":    "",
		"conf/b/main.tf":        "",
		"conf/b/modules@":       "../../shared/mods",
		"shared/mods/x/main.tf": "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string][]string{}
	for _, p := range g.Projects {
		links[p.Dir] = p.Links
	}
	want := map[string][]string{"conf/a": {"shared/versions.tf"}, "conf/b": {"shared/mods"}}
	if !reflect.DeepEqual(links, want) {
		t.Errorf("links = %v, want %v", links, want)
	}
}
