package tf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVersionOncePerBinary: a plan of many projects starts Terraform for
// init and plan in each (the counts come from plan's own -json stream, so
// no show), and for `version` once per binary, not once per directory; a
// replaced binary (another size or time) is asked again.
func TestVersionOncePerBinary(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	real := r.Bin
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "terraform")
	writeFile(t, wrapper, "#!/bin/sh\necho \"$1\" >> '"+calls+"'\nexec '"+real+"' \"$@\"\n")
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Bin = wrapper
	ctx := context.Background()
	v1, err := r.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p := newProject(t, `resource "terraform_data" "a" {}`)
		mustInit(t, r, p.Dir)
		mustPlan(t, r, p.Dir, "plan.tfplan", PlanOptions{})
		if v, err := r.Version(ctx); err != nil || v != v1 {
			t.Fatalf("Version() = %q, %v; want %q again", v, err, v1)
		}
	}
	count := func() map[string]int {
		b, err := os.ReadFile(calls)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, l := range strings.Fields(string(b)) {
			n[l]++
		}
		return n
	}
	if got := count(); got["version"] != 1 || got["init"] != 3 || got["plan"] != 3 || len(got) != 3 {
		t.Errorf("terraform started as %v; want version once, and init and plan once per project, nothing else", got)
	}

	// The same path, another binary: asked again.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(wrapper, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Version(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got["version"] != 2 {
		t.Errorf("after the binary changed, version ran %d times in all, want 2", got["version"])
	}
}

func TestVersionOfNoBinary(t *testing.T) {
	t.Parallel()
	r := &Runner{Bin: filepath.Join(t.TempDir(), "no-terraform")}
	if _, err := r.Version(context.Background()); err == nil {
		t.Fatal("Version of a missing binary succeeded")
	}
	notTF := filepath.Join(t.TempDir(), "echo-tf")
	writeFile(t, notTF, "#!/bin/sh\necho 'not json'\n")
	if err := os.Chmod(notTF, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Bin = notTF
	if _, err := r.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "printed no version") {
		t.Errorf("Version of a binary that prints no JSON: %v", err)
	}
}
