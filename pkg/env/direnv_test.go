package env

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// direnvBin is the real direnv: these tests fail, never skip, without it.
func direnvBin(t *testing.T) string {
	t.Helper()
	bin, err := FindDirenv()
	if err != nil {
		t.Fatalf("%v: install direnv (apt-get install direnv); .ci/run does", err)
	}
	return bin
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirenvExport(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	// The user's helpers, where direnv looks for them.
	write(t, filepath.Join(home, ".config/direnv/lib/stage.sh"), "use_stage() { export STAGE=$1; }\n")
	write(t, filepath.Join(home, ".config/direnv/direnvrc"), "use_region() { export REGION=$1; }\n")
	checkouts := filepath.Join(tmp, "work", "repo")
	write(t, filepath.Join(checkouts, "abc/conf/.envrc"), "export FROM_PARENT=yes\nexport GONE_LATER=1\n")
	write(t, filepath.Join(checkouts, "abc/conf/acm/.envrc"), "source_up\nuse envrc\nuse stage prod\nuse region eu-west-1\nunset GONE_LATER\nunset KEEP\n")
	write(t, filepath.Join(checkouts, "abc/conf/acm/terraform.envrc"), "export TF_CLI_INIT_FROM_MODULE=git::file:///m\n")
	write(t, filepath.Join(home, ".config/direnv/lib/envrc.sh"), "use_envrc() { local f; for f in ${@:-*.envrc}; do [ -e \"$f\" ] && source_env \"$f\"; done; }\n")
	// An .envrc outside the trusted directory.
	write(t, filepath.Join(tmp, "elsewhere/.envrc"), "export X=1\n")

	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "work", "direnv"), Trust: checkouts}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": home, "KEEP": "k"}
	if err := d.Setup(UserConfigDir(base)); err != nil {
		t.Fatal(err)
	}
	got, err := d.Export(context.Background(), filepath.Join(checkouts, "abc/conf/acm"), base, "conf/acm/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"FROM_PARENT": "yes", "STAGE": "prod", "REGION": "eu-west-1", "TF_CLI_INIT_FROM_MODULE": "git::file:///m"} {
		if v := got[k]; v == nil || *v != want {
			t.Errorf("%s = %v, want %s", k, v, want)
		}
	}
	if v, ok := got["KEEP"]; !ok || v != nil {
		t.Errorf("KEEP, unset by the .envrc, is %v (present %v), want null", v, ok)
	}
	if _, ok := got["GONE_LATER"]; ok {
		t.Errorf("a variable set and unset again is reported: %v", got["GONE_LATER"])
	}
	// The user's own allow list is untouched.
	if _, err := os.Stat(filepath.Join(home, ".local/share/direnv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("direnv wrote the user's data directory: %v", err)
	}

	_, err = d.Export(context.Background(), filepath.Join(tmp, "elsewhere"), base, "elsewhere/.envrc")
	var ee *EnvrcError
	if !errors.As(err, &ee) || !strings.Contains(ee.Error(), "elsewhere/.envrc") || !strings.Contains(ee.Message, "blocked") {
		t.Errorf("an .envrc outside the checkouts: %v", err)
	}
}

func TestDirenvFailingEnvrc(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, "co/p/.envrc"), "echo 'cannot reach the vault' >&2\nexit 3\n")
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	_, err := d.Export(context.Background(), filepath.Join(tmp, "co/p"), map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}, "conf/p/.envrc")
	var ee *EnvrcError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"conf/p/.envrc", "cannot reach the vault", "exit status 3"} {
		if !strings.Contains(ee.Error(), want) {
			t.Errorf("error %q does not say %q", ee.Error(), want)
		}
	}
	if strings.Contains(ee.Error(), "\x1b[") {
		t.Errorf("colours in the message: %q", ee.Error())
	}
}

func TestFindEnvrc(t *testing.T) {
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, ".envrc"), "")
	write(t, filepath.Join(tmp, "co/conf/.envrc"), "")
	if got := FindEnvrc(filepath.Join(tmp, "co"), filepath.Join(tmp, "co/conf/acm")); got != filepath.Join(tmp, "co/conf/.envrc") {
		t.Errorf("got %q", got)
	}
	// Never above the checkout root.
	if got := FindEnvrc(filepath.Join(tmp, "co2"), filepath.Join(tmp, "co2/conf")); got != "" {
		t.Errorf("got %q", got)
	}
}
