package env

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func TestMapAndList(t *testing.T) {
	t.Parallel()
	got := Map([]string{"A=b=c", "NOEQUALS", "=hidden", "EMPTY=", "A=later"})
	if want := map[string]string{"A": "later", "EMPTY": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("Map = %v, want %v", got, want)
	}
	if got := List(map[string]string{"B": "2", "A": "1=x"}); !reflect.DeepEqual(got, []string{"A=1=x", "B=2"}) {
		t.Errorf("List = %v", got)
	}
}

func TestFromCallerWithAnEmptyDirenvDiff(t *testing.T) {
	t.Parallel()
	// Some shells keep DIRENV_DIFF set, empty, after leaving a directory.
	c, err := FromCaller([]string{"DIRENV_DIFF=", "PATH=/bin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Base["DIRENV_DIFF"]; ok || c.Base["PATH"] != "/bin" || len(c.Undone) != 0 {
		t.Errorf("caller %+v", c)
	}
}

func TestEnvrcErrorSaysWhatFailed(t *testing.T) {
	t.Parallel()
	e := &EnvrcError{File: "conf/a/.envrc", Err: errors.New("exit status 1")}
	if got := e.Error(); got != "conf/a/.envrc failed under direnv: exit status 1" {
		t.Errorf("without a message: %q", got)
	}
	e.Message = "  vault is sealed\n"
	if got := e.Error(); got != "conf/a/.envrc failed under direnv: vault is sealed" {
		t.Errorf("with a message: %q", got)
	}
	e.Err = nil
	e.Message = ""
	if got := e.Error(); got != "conf/a/.envrc failed under direnv: " {
		t.Errorf("with nothing: %q", got)
	}
}

func TestDirenvMessageKeepsWhatMatters(t *testing.T) {
	t.Parallel()
	in := "direnv: loading ~/co/.envrc\n\x1b[31mdirenv: error .envrc:3\x1b[0m\n\ndirenv: using terraform\n  \r\nvault is sealed  \r\ndirenv: export +A -B\n"
	if got, want := direnvMessage(in), "direnv: error .envrc:3\nvault is sealed"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFindEnvrcOutsideTheRoot(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, ".envrc"), "")
	// A directory outside the checkout: only its own .envrc counts, never
	// one found by walking up from it.
	if got := FindEnvrc(filepath.Join(tmp, "co"), filepath.Join(tmp, "other/p")); got != "" {
		t.Errorf("got %q", got)
	}
	write(t, filepath.Join(tmp, "co/p/.envrc"), "")
	if got := FindEnvrc(filepath.Join(tmp, "co"), filepath.Join(tmp, "co/p")); got != filepath.Join(tmp, "co/p/.envrc") {
		t.Errorf("its own: %q", got)
	}
	// A directory named .envrc is not one.
	if err := os.MkdirAll(filepath.Join(tmp, "co/q/.envrc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := FindEnvrc(filepath.Join(tmp, "co"), filepath.Join(tmp, "co/q")); got != "" {
		t.Errorf("a directory: %q", got)
	}
	// At the root itself.
	write(t, filepath.Join(tmp, "co/.envrc"), "")
	if got := FindEnvrc(filepath.Join(tmp, "co"), filepath.Join(tmp, "co/q")); got != filepath.Join(tmp, "co/.envrc") {
		t.Errorf("the root's: %q", got)
	}
}

func TestSetupRewritesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	d := &Direnv{Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup("/home/a/.config/direnv"); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(d.Dir, "config", "direnvrc")
	fi1, err := os.Stat(rc)
	if err != nil {
		t.Fatal(err)
	}
	// The same configuration: the file is left as it is (no rename over it
	// while another atoll's direnv reads it).
	if err := d.Setup("/home/a/.config/direnv"); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(rc)
	if !os.SameFile(fi1, fi2) {
		t.Error("an unchanged direnvrc was rewritten")
	}
	// Another user's helpers: rewritten.
	if err := d.Setup("/home/b's/direnv"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(rc)
	if !strings.Contains(string(b), `direnv_config_dir='/home/b'\''s/direnv'`) {
		t.Errorf("direnvrc not updated:\n%s", b)
	}
}

// The trusted prefix is the checkouts' real path: direnv names the
// directory it evaluates by its real path.
func TestDirenvTrustBehindASymlink(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	write(t, filepath.Join(real, "p/.envrc"), "export FROM=p\n")
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: link}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	got, err := d.Export(context.Background(), filepath.Join(real, "p"), map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}, "p/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	if v := got["FROM"]; v == nil || *v != "p" {
		t.Errorf("FROM = %v", v)
	}
}

// What the .envrc does to direnv's own settings is the project's: a
// value it sets or unsets is reported.
func TestDirenvEnvrcChangingDirenvSettings(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, "co/set/.envrc"), "export XDG_DATA_HOME=/custom\n")
	write(t, filepath.Join(tmp, "co/unset/.envrc"), "unset XDG_DATA_HOME\n")
	write(t, filepath.Join(tmp, "co/empty/.envrc"), "true\n")
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}
	got, err := d.Export(context.Background(), filepath.Join(tmp, "co/set"), base, "set/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	if v := got["XDG_DATA_HOME"]; v == nil || *v != "/custom" {
		t.Errorf("set: XDG_DATA_HOME = %v", v)
	}
	for _, k := range []string{"DIRENV_CONFIG", "PWD"} {
		if _, ok := got[k]; ok {
			t.Errorf("set: atoll's own %s reported as the .envrc's", k)
		}
	}
	got, err = d.Export(context.Background(), filepath.Join(tmp, "co/unset"), base, "unset/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["XDG_DATA_HOME"]; !ok || v != nil {
		t.Errorf("unset: XDG_DATA_HOME = %v (present %v), want null", v, ok)
	}
	got, err = d.Export(context.Background(), filepath.Join(tmp, "co/empty"), base, "empty/.envrc")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if !strings.HasPrefix(k, "DIRENV_") {
			t.Errorf("an .envrc that changes nothing: %s = %v", k, v)
		}
	}
}

// Cancelled (Ctrl-C), the .envrc and what it started stop at once.
func TestDirenvExportCancelled(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	started := filepath.Join(tmp, "started")
	write(t, filepath.Join(tmp, "co/p/.envrc"), "touch "+started+"\nsleep 30\n")
	d := &Direnv{Bin: bin, Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelled := make(chan time.Time, 1)
	go func() {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(started); err == nil {
				break
			}
		}
		cancelled <- time.Now()
		cancel()
	}()
	_, err := d.Export(ctx, filepath.Join(tmp, "co/p"), map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}, "p/.envrc")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the cancellation", err)
	}
	// direnv's children hold its output open: only stopping the whole
	// group ends the run before the .envrc's sleep (or the 10 s bound).
	if took := time.Since(<-cancelled); took > 5*time.Second {
		t.Errorf("returned %s after the cancellation", took)
	}
}

func TestForProjectKeepsTheCallersEnvironment(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	c := &Caller{Base: map[string]string{"PATH": "/bin", "AWS_REGION": "us-east-1", "TF_VAR_aws_region": "eu-west-1",
		"HOME": "/root", "TF_VAR_home": "/root", "TF_VAR_team": "core"}, Passed: []string{"HOME"}}
	p, err := ForProject(c, map[string]*string{"TF_CLI_ARGS": s("-no-color"), "TF_CLI_ARGS_plan": s("-lock=false"), "STAGE": s("prod")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PATH": "/bin", "AWS_REGION": "us-east-1", "TF_VAR_aws_region": "eu-west-1", "HOME": "/root",
		"TF_VAR_home": "/root", "TF_VAR_team": "core", "STAGE": "prod"}
	if !reflect.DeepEqual(p.Vars, want) {
		t.Errorf("vars %v, want %v (TF_CLI_ARGS* only in the arguments)", p.Vars, want)
	}
	if got := p.Args["plan"]; len(got) != 2 || got[0].String() != "-no-color" || got[1].String() != "-lock=false" {
		t.Errorf("plan args %v", got)
	}
	d := p.Digests("s")
	// TF_VAR_aws_region is not tfenv's copy of AWS_REGION (another value):
	// Terraform reads it, the plan is bound to it. TF_VAR_home is the copy
	// of HOME, bound because env.pass passes HOME.
	for _, k := range []string{"TF_VAR_aws_region", "TF_VAR_team", "TF_VAR_home", "HOME", "STAGE", "TF_CLI_ARGS"} {
		if _, ok := d[k]; !ok {
			t.Errorf("the plan is not bound to %s", k)
		}
	}
	for _, k := range []string{"PATH", "AWS_REGION"} {
		if _, ok := d[k]; ok {
			t.Errorf("the plan is bound to %s, a variable of the shell", k)
		}
	}
	// The same value under a name that maps to nothing is no copy.
	c = &Caller{Base: map[string]string{"__": "x", "TF_VAR_": "x"}}
	p, _ = ForProject(c, nil)
	if _, ok := p.Digests("s")["TF_VAR_"]; !ok {
		t.Error("TF_VAR_ taken for a copy of __")
	}
}

func TestMaskedValues(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"GITHUB_TOKEN", "ghp_x", "***"}, {"GITHUB_TOKEN", "", ""}, {"AWS_REGION", "eu-west-1", "eu-west-1"},
	} {
		if got := Masked(c[0], c[1]); got != c[2] {
			t.Errorf("Masked(%s, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for a, want := range map[Arg]string{
		{Flag: "-parallelism", Value: "2", HasValue: true, From: "TF_CLI_PLAN_PARALLELISM"}:      "-parallelism=2",
		{Flag: "-var-file", Value: "prod.tfvars", HasValue: true, From: "TF_CLI_ARGS_SECRET"}:    "-var-file=***",
		{Flag: "-backend-config", Value: "bucket=b", HasValue: true, From: "TF_CLI_ARGS_SECRET"}: "-backend-config=bucket=b",
		{Value: "plan.cache", From: "TF_CLI_PLAN"}:                                               "plan.cache",
		{Flag: "-lock", Value: "false", HasValue: true, From: "TF_CLI_PLAN_LOCK"}:                "-lock=false",
		{Flag: "-refresh", From: "TF_CLI_PLAN_REFRESH"}:                                          "-refresh",
	} {
		if got := MaskedArg(a); got != want {
			t.Errorf("MaskedArg(%+v) = %q, want %q", a, got, want)
		}
	}
}

func TestFromModuleAndTrailingValueFlag(t *testing.T) {
	t.Parallel()
	if got := FromModule([]Arg{{Flag: "-from-module", Value: "a"}, {Flag: "-upgrade"}, {Flag: "-from-module", Value: "b"}, {Value: "-from-module"}}); got != "b" {
		t.Errorf("FromModule = %q, want the last one", got)
	}
	if got := FromModule([]Arg{{Flag: "-upgrade"}}); got != "" {
		t.Errorf("FromModule without one = %q", got)
	}
	// A flag that takes a value, last: nothing follows to take.
	args, err := Args(map[string]string{"TF_CLI_ARGS_plan": "-lock=false -var"}, "plan")
	if err != nil || len(args) != 2 || args[1].String() != "-var" || args[1].HasValue {
		t.Errorf("args %+v %v", args, err)
	}
}

func TestSplitArgsEscapes(t *testing.T) {
	t.Parallel()
	got, err := SplitArgs(`a\ b 'c\d' "e\"f" '' x"y z"` + "\tw\nv")
	if want := []string{"a b", `c\d`, `e"f`, "", "xy z", "w", "v"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q %v, want %q", got, err, want)
	}
	for _, bad := range []string{`a\`, `'open`, `"open`} {
		if _, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) accepted", bad)
		}
	}
}

func TestShellFunction(t *testing.T) {
	t.Parallel()
	script := "\nf() {\n  echo f\n}\ng() {\n  echo g\n}\n"
	if body, ok := shellFunction(script, "f"); !ok || body != "f() {\n  echo f\n}" {
		t.Errorf("f: %q %v", body, ok)
	}
	if body, ok := shellFunction(script, "g"); !ok || body != "g() {\n  echo g\n}" {
		t.Errorf("g: %q %v", body, ok)
	}
	for _, s := range []string{"f() {\n  echo f\n}\n", "\nf() {\n  echo unclosed\n", "\nff() {\n}\n"} {
		if body, ok := shellFunction(s, "f"); ok {
			t.Errorf("%q: found %q", s, body)
		}
	}
}

func TestIgnoredByDirenv(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{"BASH_FUNC_f%%": true, "__fish_x": true, "PWD": true, "DIRENV_CONFIG": true,
		"HOME": false, "X_BASH_FUNC_": false, "fish": false, "PWDX": false} {
		if got := ignoredByDirenv(k); got != want {
			t.Errorf("ignoredByDirenv(%q) = %v", k, got)
		}
	}
}

func TestDirenvMessageKeepsOtherParentheses(t *testing.T) {
	t.Parallel()
	in := "direnv: (conf/a/.envrc) is taking a while to execute. Use CTRL-C to give up.\ndirenv: (vault) login needed\nnote: is taking a while to execute. Use CTRL-C to give up."
	if got, want := direnvMessage(in), "direnv: (vault) login needed\nnote: is taking a while to execute. Use CTRL-C to give up."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFindEnvrcUp(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, "a/.envrc"), "")
	if got := findEnvrcUp(filepath.Join(tmp, "a/b/c")); got != filepath.Join(tmp, "a/.envrc") {
		t.Errorf("from below: %q", got)
	}
	if got := findEnvrcUp(filepath.Join(tmp, "a")); got != filepath.Join(tmp, "a/.envrc") {
		t.Errorf("its own: %q", got)
	}
	for d := tmp; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(filepath.Dir(d), ".envrc")); err == nil {
			t.Fatalf("%s has an .envrc: run the tests with another TMPDIR", filepath.Dir(d))
		}
	}
	if got := findEnvrcUp(filepath.Join(tmp, "b")); got != "" {
		t.Errorf("none: %q", got)
	}
}

// The prefix direnv's configuration trusts is the checkouts' real path.
func TestSetupTrustsTheRealPath(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	if err := os.Mkdir(filepath.Join(tmp, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	d := &Direnv{Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "link")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, "config", "direnv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `prefix = [ "` + filepath.Join(tmp, "real") + `/" ]`; !strings.Contains(string(b), want) {
		t.Errorf("direnv.toml:\n%s\nwant %s", b, want)
	}
}

// Cancelled while direnv prints its stdlib (a binary not seen before, so
// not cached): the cancellation, not an .envrc failure.
func TestExportCancelledBeforeTheStdlib(t *testing.T) {
	t.Parallel()
	bin := direnvBin(t)
	tmp := t.TempDir()
	copyBin := filepath.Join(tmp, "bin", "direnv")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.WriteExecutable(copyBin, data); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(tmp, "co/p/.envrc"), "export X=1\n")
	d := &Direnv{Bin: copyBin, Dir: filepath.Join(tmp, "direnv"), Trust: filepath.Join(tmp, "co")}
	if err := d.Setup(filepath.Join(tmp, "none")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Export(ctx, filepath.Join(tmp, "co/p"), map[string]string{"PATH": os.Getenv("PATH"), "HOME": tmp}, "p/.envrc")
	var ee *EnvrcError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ee) {
		t.Errorf("got %v (%T), want context.Canceled", err, err)
	}
}
