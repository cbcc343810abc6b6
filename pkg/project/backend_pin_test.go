package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateProblemWithBackendConfig: -backend-config key=value settings
// override and complete the backend block; a file of settings is
// Terraform's to check.
func TestStateProblemWithBackendConfig(t *testing.T) {
	t.Parallel()
	local := func(body string) string { return "terraform {\n  backend \"local\" {\n" + body + "  }\n}\n" }
	for _, tt := range []struct {
		name, file, workspace string
		config                []string
		want                  string
	}{
		{"an absolute path given", local(""), "", []string{"path=/s/x.tfstate"}, ""},
		{"a path with spaces around the key", local(""), "", []string{" path =/s/x.tfstate"}, ""},
		{"a relative path given", local("    path = \"/s/x.tfstate\"\n"), "", []string{"path=state/x.tfstate"}, "-backend-config=path=state/x.tfstate: the local backend's path is relative"},
		{"a relative path in the block, an absolute one given", local("    path = \"x.tfstate\"\n"), "", []string{"path=/s/x.tfstate"}, ""},
		{"a settings file", local(""), "", []string{"local.tfbackend"}, ""},
		{"another setting", local(""), "", []string{"workspace_dir=/s/ws"}, "main.tf:2: the local backend has no path"},
		{"an absolute workspace_dir given", local("    path = \"/s/x.tfstate\"\n    workspace_dir = \"ws\"\n"), "staging", []string{"workspace_dir=/s/ws"}, ""},
		{"an absolute workspace_dir given, none in the block", local("    path = \"/s/x.tfstate\"\n"), "staging", []string{"workspace_dir=/s/ws"}, ""},
		{"a relative workspace_dir given", local("    path = \"/s/x.tfstate\"\n    workspace_dir = \"/s/ws\"\n"), "staging", []string{"workspace_dir=ws"}, `main.tf:2: workspace "staging"`},
		{"a path that is no string", local("    path = 5\n"), "", nil, "main.tf:3: the local backend's path is not a literal string"},
		{"a path from a variable", local("    path = var.p\n"), "", nil, "main.tf:3: the local backend's path is not a literal string"},
		{"a null path", local("    path = null\n"), "", nil, "main.tf:3: the local backend's path is not a literal string"},
		{"a null workspace_dir", local("    path = \"/s/x.tfstate\"\n    workspace_dir = null\n"), "staging", nil, `main.tf:2: workspace "staging"`},
		{"a workspace_dir that is no string", local("    path = \"/s/x.tfstate\"\n    workspace_dir = 5\n"), "staging", nil, `main.tf:2: workspace "staging"`},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tt.file), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := StateProblemWith(dir, tt.workspace, tt.config)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestStateProblemReadsEveryFile: the backend may be in any file,
// native or JSON; a directory named like a file is not one; a file that
// does not parse, or a directory that cannot be read, is an error.
func TestStateProblemReadsEveryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a.tf":            "resource \"terraform_data\" \"x\" {}\n",
		"backend.tf.json": `{"terraform": {"backend": {"local": {"path": "rel.tfstate"}}}}`,
		"notes.txt":       "terraform {\n",
	}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.tf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := StateProblem(dir, ""); err != nil || !strings.HasPrefix(got, `backend.tf.json:1: the local backend's path "rel.tfstate" is relative`) {
		t.Errorf("JSON backend: %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0bad.tf"), []byte("terraform {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := StateProblem(dir, ""); err == nil || !strings.Contains(err.Error(), "0bad.tf:1") {
		t.Errorf("a file that does not parse: %v", err)
	}
	if _, err := StateProblem(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("a missing directory: no error")
	}
}

// TestStateProblemReadsOnlyTerraformFiles: other files, and directories
// named like Terraform files, are not read, wherever they sort.
func TestStateProblemReadsOnlyTerraformFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, c := range map[string]string{
		"0notes.txt": "terraform {\n",
		"a.tf":       "terraform {\n  backend \"s3\" {}\n}\n",
		"z.md":       "{{{",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"0dir.tf", "z.tf.json", "zz"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := StateProblem(dir, "staging"); got != "" || err != nil {
		t.Errorf("StateProblem = %q, %v; want no problem", got, err)
	}
}
