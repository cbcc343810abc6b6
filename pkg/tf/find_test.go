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

func TestEnviron(t *testing.T) {
	t.Parallel()
	inherited := []string{"HOME=/home/u", "TF_LOG=TRACE", "TF_WORKSPACE=prod", "EMPTY="}
	tests := []struct {
		name      string
		op        string
		inherited []string
		env       map[string]string
		extra     map[string]string
		want      map[string]string // nil: inherit unchanged
		wantErr   string
	}{
		{name: "nothing to add inherits", op: "plan", inherited: append(inherited, "TF_VAR_region=eu"), want: nil},
		{
			name: "extra over env over inherited", op: "init", inherited: inherited,
			env:   map[string]string{"HOME": "/tmp", "TF_DATA_DIR": "d"},
			extra: map[string]string{"TF_DATA_DIR": "e", "TF_PLUGIN_CACHE_DIR": "/cache"},
			// TF_LOG and TF_WORKSPACE are dropped: terraform-exec
			// overrides them even when inheriting.
			want: map[string]string{"HOME": "/tmp", "EMPTY": "", "TF_DATA_DIR": "e", "TF_PLUGIN_CACHE_DIR": "/cache"},
		},
		{
			name: "TF_VAR dropped where nothing reads it", op: "init",
			inherited: []string{"TF_VAR_region=eu"}, extra: map[string]string{"TF_PLUGIN_CACHE_DIR": "/c"},
			want: map[string]string{"TF_PLUGIN_CACHE_DIR": "/c"},
		},
		{
			name: "TF_VAR for plan is not dropped silently", op: "plan",
			inherited: []string{"TF_VAR_region=eu", "TF_VAR_a=1"}, env: map[string]string{"TF_DATA_DIR": "d"},
			wantErr: "cannot pass TF_VAR_a, TF_VAR_region on to terraform plan while also setting TF_DATA_DIR",
		},
		{
			name: "TF_CLI_ARGS of the command", op: "apply",
			inherited: []string{"TF_CLI_ARGS_apply=-parallelism=1"}, env: map[string]string{"X": "1"},
			wantErr: "TF_CLI_ARGS_apply",
		},
		{
			name: "TF_CLI_ARGS of another command", op: "apply",
			inherited: []string{"TF_CLI_ARGS_plan=-parallelism=1"}, env: map[string]string{"X": "1"},
			want: map[string]string{"X": "1"},
		},
		{
			name: "managed variable in Env", op: "plan", env: map[string]string{"TF_VAR_x": "1"},
			wantErr: "cannot set TF_VAR_x for terraform",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := environ(tt.op, tt.inherited, tt.env, tt.extra)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("environ() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("environ() = %v, want nil (inherit)", got)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("environ() = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if gv, ok := got[k]; !ok || gv != v {
					t.Fatalf("environ() = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
