package tf

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func TestFind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "terraform")
	if err := sandbox.WriteExecutable(exe, []byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	notExe := filepath.Join(dir, "plain")
	writeFile(t, notExe, "")
	wellKnown := filepath.Join(dir, "well-known-terraform")
	if err := sandbox.WriteExecutable(wellKnown, []byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		explicit  string
		onPath    []string // names lookPath finds, as /path/<name>
		wellKnown string
		want      string
		wantErr   string
	}{
		{name: "explicit path", explicit: exe, want: exe},
		{name: "explicit path wins over PATH", explicit: exe, onPath: []string{"terraform"}, want: exe},
		{name: "explicit name looked up", explicit: "tofu", onPath: []string{"tofu"}, want: "/path/tofu"},
		{name: "explicit name missing", explicit: "tofu", onPath: []string{"terraform"}, wantErr: `"tofu" is not on PATH`},
		{name: "explicit path missing", explicit: filepath.Join(dir, "nope"), wantErr: "no such file"},
		{name: "explicit path not executable", explicit: notExe, wantErr: "not an executable file"},
		{name: "explicit directory", explicit: dir, wantErr: "not an executable file"},
		{name: "terraform on PATH first", onPath: []string{"terraform", "tofu"}, wellKnown: wellKnown, want: "/path/terraform"},
		{name: "well-known path before tofu", onPath: []string{"tofu"}, wellKnown: wellKnown, want: wellKnown},
		{name: "tofu last", onPath: []string{"tofu"}, wellKnown: filepath.Join(dir, "nope"), want: "/path/tofu"},
		{name: "nothing", wellKnown: filepath.Join(dir, "nope"), wantErr: "install Terraform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lookPath := func(name string) (string, error) {
				for _, n := range tt.onPath {
					if n == name {
						return "/path/" + name, nil
					}
				}
				return "", errors.New("not found")
			}
			got, err := find(tt.explicit, lookPath, tt.wellKnown)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrNotFound) {
					t.Fatalf("find() = %q, %v; want an ErrNotFound containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("find() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestExecEnviron: Terraform gets the inherited environment with Env and
// then the command's own variables on top, TF_IN_AUTOMATION set and
// TF_WORKSPACE dropped; an explicit environment (a project's) is all it
// gets, and a TF_WORKSPACE there is refused. No t.Parallel: Setenv.
func TestExecEnviron(t *testing.T) {
	t.Setenv("ATOLL_TEST_INHERITED", "shell")
	t.Setenv("TF_WORKSPACE", "prod")
	t.Setenv("TF_LOG", "TRACE")
	r := &Runner{Env: map[string]string{"ATOLL_TEST_ENV": "env", "TF_DATA_DIR": "d"}}
	got, err := r.execEnviron(map[string]string{"TF_DATA_DIR": "e"})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range got {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for k, want := range map[string]string{"ATOLL_TEST_INHERITED": "shell", "ATOLL_TEST_ENV": "env", "TF_DATA_DIR": "e", "TF_IN_AUTOMATION": "1", "TF_LOG": "TRACE"} {
		if vars[k] != want {
			t.Errorf("inherited environment: %s=%q, want %q", k, vars[k], want)
		}
	}
	if _, ok := vars["TF_WORKSPACE"]; ok {
		t.Error("TF_WORKSPACE reached Terraform")
	}

	r = &Runner{Environ: map[string]string{"PATH": "/bin", "TF_VAR_stage": "prod"}, Env: map[string]string{"IGNORED": "1"}}
	if got, err = r.execEnviron(nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"PATH=/bin", "TF_IN_AUTOMATION=1", "TF_VAR_stage=prod"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("explicit environment %q, want exactly %q", got, want)
	}
	r.Environ["TF_WORKSPACE"] = "staging"
	var ae *ArgError
	if _, err := r.execEnviron(nil); !errors.As(err, &ae) || !strings.Contains(err.Error(), "projects[].workspace") {
		t.Errorf("TF_WORKSPACE in a project's environment: %v, want a refusal", err)
	}
	delete(r.Environ, "TF_WORKSPACE")
	r.Environ["TF_CLI_ARGS_plan"] = "-parallelism=1"
	if _, err := r.execEnviron(nil); err == nil || !strings.Contains(err.Error(), "belongs in Args") {
		t.Errorf("TF_CLI_ARGS_plan in an explicit environment: %v", err)
	}
}
