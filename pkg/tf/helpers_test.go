package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// newRunner returns a Runner for the real terraform binary, with output in
// the test log. Tests that need it fail, never skip, without it.
func newRunner(t *testing.T) *Runner {
	t.Helper()
	bin, err := Find("")
	if err != nil {
		t.Fatalf("this test runs the real terraform binary: %v", err)
	}
	return &Runner{
		Bin: bin,
		Env: map[string]string{
			"CHECKPOINT_DISABLE": "1",
			// Hermetic: no user CLI configuration (mirrors, credentials),
			// and the data dir inside each test's own working directory.
			"TF_CLI_CONFIG_FILE": os.DevNull,
			"TF_DATA_DIR":        ".terraform",
		},
		Stdout: t.Output(),
		Stderr: t.Output(),
	}
}

// project is a root module in its own temporary directory whose local
// backend keeps the state in State, outside the module.
type project struct {
	Dir   string
	State string
}

func newProject(t *testing.T, resources string) project {
	t.Helper()
	root := t.TempDir()
	p := project{Dir: filepath.Join(root, "project"), State: filepath.Join(root, "state", "terraform.tfstate")}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p.write(t, resources)
	return p
}

// write replaces the project's resources, keeping the backend.
func (p project) write(t *testing.T, resources string) {
	t.Helper()
	writeFile(t, filepath.Join(p.Dir, "main.tf"), backendBlock(p.State)+resources)
}

func backendBlock(state string) string {
	return "terraform {\n  backend \"local\" {\n    path = \"" + state + "\"\n  }\n}\n\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustInit(t *testing.T, r *Runner, dir string) {
	t.Helper()
	if err := r.Init(context.Background(), dir, InitOptions{}); err != nil {
		t.Fatalf("init: %v", err)
	}
}

func mustPlan(t *testing.T, r *Runner, dir, planFile string, opts PlanOptions) *PlanResult {
	t.Helper()
	res, err := r.Plan(context.Background(), dir, planFile, opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return res
}

func mustApply(t *testing.T, r *Runner, dir, planFile string) *ApplyResult {
	t.Helper()
	res, err := r.Apply(context.Background(), dir, planFile)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// stateAddresses reads a state file, failing the test if it is not valid
// JSON, and returns the addresses of its managed resources.
func stateAddresses(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Module, Mode, Type, Name string
		}
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatalf("state %s is not valid JSON: %v\n%s", path, err, data)
	}
	var addrs []string
	for _, r := range state.Resources {
		if r.Mode == "managed" {
			addrs = append(addrs, strings.TrimPrefix(r.Module+"."+r.Type+"."+r.Name, "."))
		}
	}
	return addrs
}

// watchWriter keeps what is written to it and closes seen once needle has
// been written, for tests that act while Terraform runs.
type watchWriter struct {
	needle string
	seen   chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
}

func newWatchWriter(needle string) *watchWriter {
	return &watchWriter{needle: needle, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.needle) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
