package cli_test

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/atoll-tf/atoll/pkg/cli"
	"github.com/rogpeppe/go-internal/testscript"
)

// The package's other tests may already define -update (one flag rewrites
// every golden file); define it only when they do not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// updating reports whether -update was given: failing `cmp stdout want`
// lines then rewrite the file inside the script.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestMain lets the test binary act as atoll: testscript copies it onto the
// scripts' PATH under that name, so `exec atoll` runs cli.Main in a real
// process (exit code, stdout and stderr as a user sees them) without a
// separate `go build`.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"atoll": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script, one behaviour
// per file. Besides testscript's built-in commands they have:
//
//	exitcode N PROG [ARG...]  run PROG like exec; fail unless it exits with
//	                          exactly N (`! exec` only checks "non-zero")
//	gitrepo [-local] DIR      commit DIR's files as the first commit of main,
//	                          pushed to a bare origin DIR.git (no origin
//	                          with -local)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       updating(),
		Setup:               hermeticEnv,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exitcode": cmdExitcode,
			"gitrepo":  cmdGitrepo,
		},
	})
}

// hermeticEnv makes git and atoll independent of the machine: no user or
// system git configuration, a fixed identity and date, no colour.
func hermeticEnv(env *testscript.Env) error {
	for _, kv := range [][2]string{
		{"HOME", env.WorkDir},
		{"GIT_CONFIG_GLOBAL", os.DevNull},
		{"GIT_CONFIG_NOSYSTEM", "1"},
		{"GIT_AUTHOR_NAME", "atoll"},
		{"GIT_AUTHOR_EMAIL", "atoll@example.com"},
		{"GIT_COMMITTER_NAME", "atoll"},
		{"GIT_COMMITTER_EMAIL", "atoll@example.com"},
		{"GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"},
		{"GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"},
		{"GIT_TERMINAL_PROMPT", "0"},
		// Settings a user's configuration would otherwise decide.
		{"GIT_CONFIG_COUNT", "4"},
		{"GIT_CONFIG_KEY_0", "init.defaultBranch"},
		{"GIT_CONFIG_VALUE_0", "main"},
		{"GIT_CONFIG_KEY_1", "commit.gpgSign"},
		{"GIT_CONFIG_VALUE_1", "false"},
		{"GIT_CONFIG_KEY_2", "core.autocrlf"},
		{"GIT_CONFIG_VALUE_2", "false"},
		{"GIT_CONFIG_KEY_3", "advice.detachedHead"},
		{"GIT_CONFIG_VALUE_3", "false"},
		{"NO_COLOR", "1"},
	} {
		env.Setenv(kv[0], kv[1])
	}
	return nil
}

// cmdExitcode runs a program through ts.Exec, so that stdout and stderr
// assertions that follow see its output, and checks its exact exit code.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode (name the expected code instead)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	var ee *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdGitrepo turns a directory unpacked from the script into a repository
// whose main has one commit holding its files, pushed to a bare origin with
// origin/HEAD set: the refs a fresh clone has. The git commands run through
// ts.Exec with the script's hermetic environment (they replace stdout and
// stderr).
func cmdGitrepo(ts *testscript.TestScript, neg bool, args []string) {
	local := len(args) > 0 && args[0] == "-local"
	if local {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gitrepo [-local] DIR")
	}
	dir := ts.MkAbs(args[0])
	origin := dir + ".git"
	git := func(args ...string) {
		if err := ts.Exec("git", args...); err != nil {
			ts.Fatalf("git %v: %v", args, err)
		}
	}
	git("init", "-q", dir)
	git("-C", dir, "add", "-A")
	git("-C", dir, "commit", "-q", "--allow-empty", "-m", "initial layout")
	if local {
		return
	}
	git("init", "-q", "--bare", origin)
	git("-C", dir, "remote", "add", "origin", origin)
	git("-C", dir, "push", "-q", "-u", "origin", "main")
	git("-C", dir, "remote", "set-head", "origin", "main")
}
