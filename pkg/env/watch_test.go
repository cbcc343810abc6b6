package env

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// countingDirenv is a direnv on PATH that logs each start (its arguments)
// to log before it runs the real one.
func countingDirenv(t *testing.T, dir string) (bin, log string) {
	t.Helper()
	real := direnvBin(t)
	bin, log = filepath.Join(dir, "bin", "direnv"), filepath.Join(dir, "starts.log")
	if err := sandbox.WriteExecutable(bin, []byte("#!/bin/sh\necho \"$*\" >> "+shellQuote(log)+"\nexec "+shellQuote(real)+" \"$@\"\n")); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

func starts(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
}

// TestDirenvRunsNoWatchProcesses: direnv's stdlib runs `direnv watch` once
// for every file an .envrc sources (source_up, use envrc, source_env), so
// that a shell reloads when one changes, and `direnv dump` at the end.
// atoll evaluates each checkout once: its private configuration makes the
// watches no-ops and dumps the environment from bash itself. The .envrc
// points the stdlib's $direnv at a direnv that logs its starts: none.
func TestDirenvRunsNoWatchProcesses(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	counting, log := countingDirenv(t, tmp)
	home := filepath.Join(tmp, "home")
	write(t, filepath.Join(home, ".config/direnv/lib/envrc.sh"), "use_envrc() { local f; for f in ${@:-*.envrc}; do [ -e \"$f\" ] && source_env \"$f\"; done; }\n")
	checkouts := filepath.Join(tmp, "work", "repo")
	write(t, filepath.Join(checkouts, "abc/conf/.envrc"), "export STAGE=test\n")
	write(t, filepath.Join(checkouts, "abc/conf/acm/.envrc"), "direnv="+shellQuote(counting)+"\nsource_up\nuse envrc\nwatch_file x\nwatch_dir .\n")
	write(t, filepath.Join(checkouts, "abc/conf/acm/terraform.envrc"), "export TF_CLI_INIT_FROM_MODULE=git::file:///m\n")
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "work", "direnv"), Trust: checkouts}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": home}
	if err := d.Setup(UserConfigDir(base)); err != nil {
		t.Fatal(err)
	}
	got, err := d.Export(context.Background(), filepath.Join(checkouts, "abc/conf/acm"), base, "conf/acm/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	if v := got["TF_CLI_INIT_FROM_MODULE"]; v == nil || *v != "git::file:///m" {
		t.Fatalf("TF_CLI_INIT_FROM_MODULE = %v: the files were not sourced", v)
	}
	if v := got["STAGE"]; v == nil || *v != "test" {
		t.Fatalf("STAGE = %v: source_up did not load the parent", v)
	}
	if s := starts(t, log); len(s) != 0 {
		t.Errorf("the evaluation started direnv %d times: %v", len(s), s)
	}
}

// TestDirenvStdlibAskedOncePerRun: direnv's stdlib is the same for every
// evaluation; asking `direnv stdlib` costs a direnv start, so a run asks
// once per direnv binary, and an evaluation is one bash and nothing else.
func TestDirenvStdlibAskedOncePerRun(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	bin, log := countingDirenv(t, tmp)
	checkouts := filepath.Join(tmp, "co")
	write(t, filepath.Join(checkouts, "conf/.envrc"), "export STAGE=test\n")
	var dirs []string
	for _, p := range []string{"a", "b", "c"} {
		write(t, filepath.Join(checkouts, "conf", p, ".envrc"), "source_up\nexport P="+p+"\n")
		dirs = append(dirs, filepath.Join(checkouts, "conf", p))
	}
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: checkouts}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}
	errs := make(chan error, len(dirs))
	for _, dir := range dirs {
		go func() {
			got, err := d.Export(context.Background(), dir, base, dir)
			if err == nil && (got["P"] == nil || *got["P"] != filepath.Base(dir) || got["STAGE"] == nil) {
				err = &EnvrcError{File: dir, Message: "wrong environment"}
			}
			errs <- err
		}()
	}
	for range dirs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s := starts(t, log); len(s) != 1 || s[0] != "stdlib" {
		t.Errorf("direnv started %v for three evaluations, want one `direnv stdlib`", s)
	}
	// Another direnv binary (an upgrade in place): asked again.
	if err := sandbox.WriteExecutable(bin, []byte("#!/bin/sh\n# upgraded\necho \"$*\" >> "+shellQuote(log)+"\nexec "+shellQuote(direnvBin(t))+" \"$@\"\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Export(context.Background(), dirs[0], base, dirs[0]); err != nil {
		t.Fatal(err)
	}
	if s := starts(t, log); len(s) != 2 {
		t.Errorf("direnv started %v after its binary changed, want the stdlib asked again", s)
	}
}
