package env

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDirenvRunsNoWatchProcesses: direnv's stdlib runs `direnv watch` once
// for every file an .envrc sources (source_up, use envrc, source_env), so
// that a shell reloads when one changes. atoll evaluates each checkout
// once: its private configuration makes those watches no-ops, which leaves
// only the .envrc direnv itself records in DIRENV_WATCHES.
func TestDirenvRunsNoWatchProcesses(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	write(t, filepath.Join(home, ".config/direnv/lib/envrc.sh"), "use_envrc() { local f; for f in ${@:-*.envrc}; do [ -e \"$f\" ] && source_env \"$f\"; done; }\n")
	checkouts := filepath.Join(tmp, "work", "repo")
	write(t, filepath.Join(checkouts, "abc/conf/.envrc"), "export STAGE=test\n")
	write(t, filepath.Join(checkouts, "abc/conf/acm/.envrc"), "source_up\nuse envrc\n")
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
	w := got["DIRENV_WATCHES"]
	if w == nil {
		t.Fatal("direnv set no DIRENV_WATCHES")
	}
	z, err := base64.URLEncoding.DecodeString(*w)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var watches []struct{ Path string }
	if err := json.Unmarshal(raw, &watches); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	for _, x := range watches {
		switch filepath.Base(x.Path) {
		case "terraform.envrc":
			t.Errorf("direnv watched %s: a `direnv watch` process ran for each sourced file", x.Path)
		case ".envrc":
			if filepath.Dir(x.Path) == filepath.Join(checkouts, "abc/conf") {
				t.Errorf("direnv watched %s (source_up): a `direnv watch` process ran for it", x.Path)
			}
		}
	}
}

// TestDirenvMessageDropsProgress: direnv's notice that an .envrc takes a
// while (printed on a loaded machine) is progress, not the .envrc's error.
func TestDirenvMessageDropsProgress(t *testing.T) {
	in := "direnv: loading ~/conf/a/.envrc\ndirenv: ([/usr/bin/direnv export json]) is taking a while to execute. Use CTRL-C to give up.\nno credentials\n"
	if got := direnvMessage(in); got != "no credentials" {
		t.Errorf("direnvMessage = %q, want %q", got, "no credentials")
	}
}
