package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"remote backend", "terraform {\n  backend \"s3\" {}\n}\n", ""},
		{"cloud block", "terraform {\n  cloud {\n    organization = \"x\"\n  }\n}\n", ""},
		{"absolute local path", "terraform {\n  backend \"local\" {\n    path = \"/var/state/x.tfstate\"\n  }\n}\n", ""},
		{"relative local path", "terraform {\n  backend \"local\" {\n    path = \"state/x.tfstate\"\n  }\n}\n", `main.tf:3: the local backend's path "state/x.tfstate" is relative`},
		{"local without path", "terraform {\n  backend \"local\" {}\n}\n", "main.tf:2: the local backend has no path"},
		{"no backend", `resource "terraform_data" "x" {}`, "no backend is configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := StateProblem(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("StateProblem = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStateProblemOfWorkspaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(backend string) {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("terraform {\n  backend \"local\" {\n"+backend+"  }\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("    path = \"/s/default.tfstate\"\n")
	if got, _ := StateProblem(dir, "staging"); !strings.Contains(got, `workspace "staging"`) {
		t.Errorf("no workspace_dir: %q", got)
	}
	if got, _ := StateProblem(dir, "default"); got != "" {
		t.Errorf("default workspace: %q", got)
	}
	write("    path = \"/s/default.tfstate\"\n    workspace_dir = \"/s/ws\"\n")
	if got, _ := StateProblem(dir, "staging"); got != "" {
		t.Errorf("absolute workspace_dir: %q", got)
	}
}
