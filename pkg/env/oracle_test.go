package env

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// direnvExportJSON is what `direnv export json` itself reports for dir,
// with atoll's private configuration but direnv's own dump: the oracle
// Export is held to.
func direnvExportJSON(t *testing.T, d *Direnv, dir string, base map[string]string) map[string]*string {
	t.Helper()
	conf := filepath.Join(d.Dir, "oracle")
	rc, err := os.ReadFile(filepath.Join(d.Dir, "config", "direnvrc"))
	if err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile(filepath.Join(d.Dir, "config", "direnv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(conf, "direnv.toml"), string(toml))
	write(t, filepath.Join(conf, "direnvrc"), string(rc)+"__dump_at_exit() { local ret=$?; \"$direnv\" dump json \"\" >&3; trap - EXIT; exit \"$ret\"; }\n")
	vars := map[string]string{}
	for k, v := range base {
		vars[k] = v
	}
	vars["DIRENV_CONFIG"], vars["XDG_DATA_HOME"], vars["PWD"] = conf, filepath.Join(d.Dir, "data"), dir
	cmd := exec.Command(d.Bin, "export", "json")
	cmd.Dir, cmd.Env = dir, List(vars)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("direnv export json: %v: %s", err, stderr.String())
	}
	got := map[string]*string{}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for k := range got {
		if direnvOwn(k) {
			delete(got, k)
		}
	}
	if v := got["XDG_DATA_HOME"]; v != nil && *v == vars["XDG_DATA_HOME"] {
		delete(got, "XDG_DATA_HOME")
	}
	return got
}

// TestExportIsDirenvExportJSON: Export, one bash with the stdlib given and
// the environment dumped by bash, reports what `direnv export json`
// reports, for the .envrc features and the shell's corners: source_up,
// use envrc and the user's helpers; set, changed, emptied and unset
// variables; values with newlines and "="; exported arrays, names without
// a value, integers, namerefs and functions (none of which a child sees, or direnv
// reports); a variable un-exported; names bash cannot hold (foo.bar),
// passed through; bash's own variables, which direnv ignores.
func TestExportIsDirenvExportJSON(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	write(t, filepath.Join(home, ".config/direnv/lib/envrc.sh"), "use_envrc() { local f; for f in ${@:-*.envrc}; do [ -e \"$f\" ] && source_env \"$f\"; done; }\n")
	write(t, filepath.Join(home, ".config/direnv/direnvrc"), "use_region() { export REGION=$1; }\n")
	co := filepath.Join(tmp, "co")
	write(t, filepath.Join(co, "conf/.envrc"), "export FROM_PARENT=yes\nexport TEMP=1\n")
	write(t, filepath.Join(co, "conf/p/terraform.envrc"), "export TF_CLI_INIT_FROM_MODULE=git::file:///m\n")
	write(t, filepath.Join(co, "conf/p/.envrc"), `source_up
use envrc
use region eu-west-1
unset TEMP GONE
export KEEP=changed EMPTY= SAME=same
export NL=$'line 1\nline 2' EQ='a=b=c' SPACE=' both ' UNICODE='ü €'
declare -gax ARR=(a b)
declare -gAx MAP=([k]=v)
export NOVAL
declare -gxi SUM=1+1
export -n UNEXPORTED
SHELLVAR=v; declare -gn REF=SHELLVAR; export REF
f() { :; }; export -f f
export SHLVL=9 OLDPWD=/x
IFS=:
cd /
`)
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: co}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": home, "KEEP": "k", "GONE": "g", "SAME": "same",
		"UNEXPORTED": "u", "foo.bar": "1", "BASH_FUNC_g%%": "() {  :\n}", "EMPTY": "not yet"}
	if err := d.Setup(UserConfigDir(base)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(co, "conf/p")
	got, err := d.Export(context.Background(), dir, base, "conf/p/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	want := direnvExportJSON(t, d, dir, base)
	show := func(m map[string]*string) string {
		var b strings.Builder
		for _, kv := range List(func() map[string]string {
			out := map[string]string{}
			for k, v := range m {
				out[k] = "<unset>"
				if v != nil {
					out[k] = "=" + *v
				}
			}
			return out
		}()) {
			b.WriteString("\n  " + kv)
		}
		return b.String()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Export:%s\ndirenv export json:%s", show(got), show(want))
	}
	if v, ok := want["UNEXPORTED"]; !ok || v != nil {
		t.Errorf("the oracle does not see UNEXPORTED un-exported: %v", want)
	}
	if v := want["SHELLVAR"]; v == nil || *v != "v" {
		t.Errorf("the oracle does not see SHELLVAR exported through its nameref: %v", want)
	}
}

// An .envrc in a checkout that links to a file outside the checkouts is
// not the checkout's: blocked, never evaluated (direnv would trust it by
// the link's path).
func TestExportBlocksAnEnvrcLinkedOutOfTheCheckouts(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	ran := filepath.Join(tmp, "ran")
	write(t, filepath.Join(tmp, "outside/.envrc"), "touch "+shellQuote(ran)+"\nexport X=1\n")
	write(t, filepath.Join(tmp, "co/conf/.envrc"), "export FROM_PARENT=1\n")
	if err := os.MkdirAll(filepath.Join(tmp, "co/conf/p"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tmp, "outside/.envrc"), filepath.Join(tmp, "co/conf/p/.envrc")); err != nil {
		t.Fatal(err)
	}
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	_, err := d.Export(context.Background(), filepath.Join(tmp, "co/conf/p"), map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}, "conf/p/.envrc")
	if err == nil || !strings.Contains(err.Error(), "is blocked") {
		t.Errorf("a linked .envrc: %v", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the linked .envrc ran")
	}
}
