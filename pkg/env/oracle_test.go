package env

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	got, msg := direnvExport(t, d, dir, base)
	if msg != "" {
		t.Fatalf("direnv export json: %s", msg)
	}
	return got
}

// direnvExport is direnvExportJSON, or the message of a failed .envrc as
// Export gives it.
func direnvExport(t *testing.T, d *Direnv, dir string, base map[string]string) (map[string]*string, string) {
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
		return nil, direnvMessage(stderr.String())
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
	return got, ""
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

// TestSourceEnvAndSourceUpAreDirenvs: atoll's fork-free source_env and
// _source_up (see forkFreeStdlib) against direnv's own, on what an .envrc
// can see of them (REPLY, the directory stack, PWD and OLDPWD where the
// file is sourced, the paths found) and on their failures, including the
// cases where direnv's own functions take over (strict mode, a cd of the
// user's).
func TestSourceEnvAndSourceUpAreDirenvs(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	co := filepath.Join(tmp, "co")
	seen := "export SEEN_${1:-x}=\"reply=$REPLY pwd=$PWD oldpwd=$OLDPWD dirs=$(dirs -l -p | tr '\\n' :) args=$#\"\n"
	files := map[string]string{
		"conf/.envrc":             "set -- top\n" + seen + "export PARENT=1\n",
		"conf/up/.envrc":          "source_up\nset -- up\n" + seen,
		"conf/up/deeper/.envrc":   "source_up\nset -- deeper\n" + seen,
		"conf/named/.envrc":       "source_up other.env\n",
		"other.env":               "set -- other\n" + seen,
		"conf/missing/.envrc":     "source_up nothing-has-this\n",
		"conf/ifexists/.envrc":    "source_up_if_exists nothing-has-this\nexport AFTER=1\n",
		"conf/env/.envrc":         "source_env ../sub\nsource_env ../sub/extra.sh\nsource_env ~/home.sh\nsource_env ./nope.sh\nexport AFTER=$?\n",
		"conf/sub/.envrc":         "set -- sub\n" + seen,
		"conf/sub/extra.sh":       "set -- extra\n" + seen,
		"conf/strict/.envrc":      "strict_env\nsource_up\nset -- strict\n" + seen,
		"conf/owncd/.envrc":       "cd() { builtin cd \"$@\" && export CD_RAN=1; }\nsource_up\nset -- owncd\n" + seen,
		"conf/fails/.envrc":       "source_env ../sub\nsource_up nothing-has-this || exit 4\n",
		"conf/relative/a/.envrc":  "source_env ../../sub/extra.sh\n",
		"conf/space dir/x/.envrc": "source_up\nset -- space\n" + seen,
	}
	for f, c := range files {
		write(t, filepath.Join(co, f), c)
	}
	home := filepath.Join(co, "home")
	write(t, filepath.Join(home, "home.sh"), "set -- home\n"+seen)
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: co}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": home}
	if err := d.Setup(UserConfigDir(base)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"conf/up", "conf/up/deeper", "conf/named", "conf/missing", "conf/ifexists", "conf/env", "conf/strict", "conf/owncd", "conf/fails", "conf/relative/a", "conf/space dir/x"} {
		dir := filepath.Join(co, p)
		got, err := d.Export(context.Background(), dir, base, p)
		want, wantMsg := direnvExport(t, d, dir, base)
		if err != nil || wantMsg != "" {
			var ee *EnvrcError
			if !errors.As(err, &ee) || ee.Message != wantMsg {
				t.Errorf("%s: Export %v, direnv %q", p, err, wantMsg)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nExport:%s\ndirenv export json:%s", p, showChanges(got), showChanges(want))
		}
	}
}

func showChanges(m map[string]*string) string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = "<unset>"
		if v != nil {
			out[k] = "=" + *v
		}
	}
	var b strings.Builder
	for _, kv := range List(out) {
		b.WriteString("\n  " + kv)
	}
	return b.String()
}

// forkFreeStdlib replaces nothing in a stdlib it was not written against.
func TestForkFreeStdlibOnlyForKnownFunctions(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	out, err := exec.Command(bin, "stdlib").Output()
	if err != nil {
		t.Fatal(err)
	}
	stdlib := string(out)
	ver, _ := exec.Command(bin, "version").Output()
	if got := forkFreeStdlib(stdlib); got == stdlib {
		// direnv 2.32 is the stdlib the fork-free functions were written
		// against (and what .ci/run installs): there they must apply.
		if strings.HasPrefix(string(ver), "2.32.") {
			t.Errorf("direnv %s's stdlib was left as it is: the fork-free source_env was written against it", strings.TrimSpace(string(ver)))
		}
		t.Logf("this direnv's stdlib is not the one atoll's fork-free source_env was written against: evaluations run direnv's own")
	} else if !strings.Contains(got, "\n__direnv_source_env() {\n") || !strings.Contains(got, "\n__direnv__source_up() {\n") {
		t.Errorf("direnv's own functions not kept under their new names")
	}
	changed := strings.Replace(stdlib, "\nsource_env() {\n", "\nsource_env() {\n  : another direnv\n", 1)
	if got := forkFreeStdlib(changed); got != changed {
		t.Error("a stdlib whose source_env differs was changed")
	}
	if got := forkFreeStdlib("no functions\n"); got != "no functions\n" {
		t.Error("a stdlib without the functions was changed")
	}
}
