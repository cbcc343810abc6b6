// Package sandbox builds real git repositories for tests and for the demo:
// a bare "origin" and a clone, driven by the git binary with a hermetic
// configuration (no user or system config, fixed identity and dates), so
// results do not depend on the machine.
package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// Env is the hermetic git environment.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=atoll",
		"GIT_AUTHOR_EMAIL=atoll@example.com",
		"GIT_COMMITTER_NAME=atoll",
		"GIT_COMMITTER_EMAIL=atoll@example.com",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z",
		"GIT_COMMITTER_DATE=2026-01-01T00:00:00Z",
		"GIT_TERMINAL_PROMPT=0",
		// git 2.39 starts `git maintenance run --auto` after every
		// commit: one process in ten of a test, for nothing.
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=maintenance.auto", "GIT_CONFIG_VALUE_0=false",
		"GIT_CONFIG_KEY_1=gc.auto", "GIT_CONFIG_VALUE_1=0",
	)
}

// Git runs git in dir with the hermetic environment and returns its
// trimmed standard output.
func Git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s (in %s): %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// WriteFiles writes files (slash paths relative to dir) with their contents.
func WriteFiles(dir string, files map[string]string) error {
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Layout is a created sandbox: Origin is the bare remote, Work the clone.
type Layout struct {
	Origin string
	Work   string
}

// Create makes a bare origin under root and a clone of it, commits files
// as the first commit of main and pushes it, so origin/HEAD, origin/main
// and main all exist.
//
// Only the commit goes through git (init, add, commit: three processes).
// The bare origin and the refs a clone and a push would leave are written
// directly (Publish): on a machine where a process start costs
// milliseconds, `git clone` and `git push` to a local bare repository are
// thirteen processes for a state that is a few files.
func Create(root string, files map[string]string) (*Layout, error) {
	l := &Layout{Origin: filepath.Join(root, "origin.git"), Work: filepath.Join(root, "work")}
	if _, err := Git(root, "init", "-q", l.Work); err != nil {
		return nil, err
	}
	if err := WriteFiles(l.Work, files); err != nil {
		return nil, err
	}
	if _, err := Commit(l.Work, "initial layout"); err != nil {
		return nil, err
	}
	if err := Publish(l.Work, l.Origin); err != nil {
		return nil, err
	}
	return l, nil
}

// Commit stages everything in dir and commits it; returns the new SHA.
func Commit(dir, msg string) (string, error) {
	if _, err := Git(dir, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := Git(dir, "commit", "-q", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	if sha, err := headSHA(dir); err == nil {
		return sha, nil
	}
	return Git(dir, "rev-parse", "HEAD")
}

// WriteExecutable writes data to path (its directory created, a file there
// replaced) as an executable, with no process forked while it is open for
// writing: a test that runs the file at once while parallel tests start
// processes would otherwise fail now and then with "text file busy".
func WriteExecutable(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	defer safefs.HoldForks()()
	if err := os.WriteFile(path, data, 0o755); err != nil {
		return err
	}
	return os.Chmod(path, 0o755)
}
