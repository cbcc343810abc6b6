package cli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/ui"
)

// On a machine without Terraform the demo shows atoll changed, says why it
// stops there, and succeeds. (demo.txtar runs the whole loop with it.)
func TestDemoWithoutTerraform(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	io := &ui.IO{Out: &out, Err: &errb}
	cmd := NewCmdDemo(io, func(o *DemoOptions) error {
		o.FindTerraform = func() (string, error) { return "", errors.New("terraform not found") }
		return demoRun(o)
	})
	dir := filepath.Join(t.TempDir(), "sandbox")
	cmd.SetArgs([]string{"--dir", dir})
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("demo without Terraform: %v\n%s%s", err, out.String(), errb.String())
	}
	text := out.String()
	for _, want := range []string{
		"$ atoll changed",
		"conf/prod/vpc",
		"Terraform is not installed, so the demo stops before plan and apply",
		"The sandbox is at " + dir,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	for _, absent := range []string{"$ atoll plan", "atoll guard"} {
		if strings.Contains(text, absent) {
			t.Errorf("the demo without Terraform ran %q:\n%s", absent, text)
		}
	}
}
