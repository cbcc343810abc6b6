package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEffectiveLockOn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "apply", "apply": "apply", "plan": "plan", "never": "never"} {
		if got := (&Config{LockOn: in}).EffectiveLockOn(); got != want {
			t.Errorf("lock_on %q: %q, want %q", in, got, want)
		}
	}
}

// TestUnreadableFile: an atoll.yaml that exists but cannot be read (a
// directory here) is an error naming it, not a repository without one.
func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, "", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || !strings.Contains(ce.Msg, "cannot read") {
		t.Errorf("atoll.yaml a directory: %v", err)
	}
	if _, err := Load(t.TempDir(), path, nil); !errors.As(err, &ce) || ce.File != path {
		t.Errorf("--config naming a directory: %v", err)
	}
}
