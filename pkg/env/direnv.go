package env

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Direnv evaluates .envrc files as the real direnv binary does (its
// stdlib, its bash command line; see Export), under a private
// configuration: it trusts only the .envrc files under Trust
// (atoll's scratch checkouts), keeps its state in Dir, and loads the
// user's own direnv helpers (their lib/*.sh and direnvrc, where geodesic
// keeps `use terraform`, `use tfenv` and `use atlantis`). The user's allow
// list is neither read nor written.
type Direnv struct {
	// Bin is the direnv binary.
	Bin string
	// Dir holds the private configuration (DIRENV_CONFIG) and data
	// (XDG_DATA_HOME); it is inside atoll's work dir.
	Dir string
	// Trust is the directory whose .envrc files are allowed.
	Trust string
}

// ErrNoDirenv says direnv is not installed.
var ErrNoDirenv = errors.New("direnv is not on PATH")

// FindDirenv returns the direnv binary on PATH.
func FindDirenv() (string, error) {
	bin, err := exec.LookPath("direnv")
	if err != nil {
		return "", ErrNoDirenv
	}
	return bin, nil
}

// EnvrcError is an .envrc that direnv could not evaluate.
type EnvrcError struct {
	// File is the .envrc direnv loaded, as the caller names it.
	File string
	// Message is what direnv and the .envrc said, cleaned of colours and
	// of direnv's progress lines.
	Message string
	Err     error
}

func (e *EnvrcError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%s failed under direnv: %s", e.File, msg)
}

func (e *EnvrcError) Unwrap() error { return e.Err }

// UserConfigDir is where direnv, run by the user with environment vars,
// reads its configuration and helpers.
func UserConfigDir(vars map[string]string) string {
	if d := vars["DIRENV_CONFIG"]; d != "" {
		return d
	}
	if d := vars["XDG_CONFIG_HOME"]; d != "" {
		return filepath.Join(d, "direnv")
	}
	return filepath.Join(vars["HOME"], ".config", "direnv")
}

// Setup writes the private configuration. userConfig is the user's direnv
// configuration directory (UserConfigDir), whose helpers are loaded.
func (d *Direnv) Setup(userConfig string) error {
	trust := d.Trust
	if real, err := filepath.EvalSymlinks(trust); err == nil {
		trust = real
	}
	conf := filepath.Join(d.Dir, "config")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d.Dir, "data"), 0o700); err != nil {
		return err
	}
	q, _ := json.Marshal(trust + string(filepath.Separator))
	toml := "# Written by atoll: trust only atoll's scratch checkouts.\n" +
		"[global]\ndisable_stdin = true\nhide_env_diff = true\n" +
		"[whitelist]\nprefix = [ " + string(q) + " ]\n"
	rc := "# Written by atoll: the user's direnv helpers, loaded as direnv loads them.\n" +
		"# At exit, the environment bash exports, as `direnv dump` would read it, from\n" +
		"# bash itself: no direnv process (nor a subshell for compgen -e). Arrays,\n" +
		"# namerefs and unset names are not in a child's environment.\n" +
		"__dump_at_exit() {\n  local ret=$? __atoll_name\n" +
		"  builtin printf '" + strings.ReplaceAll(dumpMark, "\x00", `\0`) + "' >&3\n" +
		"  for __atoll_name in " + allNames + "; do\n" +
		"    if [[ -v $__atoll_name && ! -R $__atoll_name && ${!__atoll_name@a} == *x* && ${!__atoll_name@a} != *[aA]* ]]; then\n" +
		"      builtin printf '%s=%s\\0' \"$__atoll_name\" \"${!__atoll_name}\" >&3\n" +
		"    fi\n  done\n  trap - EXIT\n  exit \"$ret\"\n}\n" +
		"direnv_config_dir=" + shellQuote(userConfig) + "\n" +
		"for lib in \"$direnv_config_dir/lib/\"*.sh; do\n  [[ -f $lib ]] && source \"$lib\"\ndone\n" +
		"if [[ -f $direnv_config_dir/direnvrc ]]; then\n  source \"$direnv_config_dir/direnvrc\"\n" +
		"elif [[ -f $HOME/.direnvrc ]]; then\n  source \"$HOME/.direnvrc\"\nfi\n" +
		"# atoll evaluates a checkout once and never reloads it: the files direnv\n" +
		"# would watch for a reload need no `direnv watch` process each.\n" +
		"watch_file() { :; }\nwatch_dir() { :; }\n"
	for name, content := range map[string]string{"direnv.toml": toml, "direnvrc": rc} {
		if err := writeAtomic(filepath.Join(conf, name), []byte(content)); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// FindEnvrc returns the .envrc direnv would load in dir: the nearest one in
// dir or a parent, but not above root; "" when there is none.
func FindEnvrc(root, dir string) string {
	root = filepath.Clean(root)
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		f := filepath.Join(d, ".envrc")
		if fi, err := os.Lstat(f); err == nil && fi.Mode().IsRegular() {
			return f
		}
		if d == root || !strings.HasPrefix(d, root+string(filepath.Separator)) {
			return ""
		}
	}
}

// Export evaluates the .envrc of dir as `direnv export json` would,
// starting from base, and returns the changes it made (nil values: unset).
// name is how errors name the .envrc.
//
// direnv would start four processes per evaluation: itself, bash, `direnv
// stdlib` inside that bash, and `direnv dump` at its exit. Export starts
// one: the bash, given the stdlib that direnv printed once for this binary
// (see stdlib) and the private direnvrc (see Setup), which dumps the
// environment from bash itself. What the bash runs is direnv's own
// `eval "$(direnv stdlib)" && __main__ source_env FILE`, in the same
// environment, so .envrc files, source_up, use and the user's helpers
// behave as under direnv.
func (d *Direnv) Export(ctx context.Context, dir string, base map[string]string, name string) (map[string]*string, error) {
	vars := make(map[string]string, len(base)+3)
	for k, v := range base {
		vars[k] = v
	}
	vars["DIRENV_CONFIG"] = filepath.Join(d.Dir, "config")
	vars["XDG_DATA_HOME"] = filepath.Join(d.Dir, "data")
	// direnv names the directory it evaluates by PWD; the .envrc sees it.
	vars["PWD"] = dir

	changes := map[string]*string{}
	file := findEnvrcUp(dir)
	if file == "" {
		return changes, nil
	}
	if !d.trusted(file) {
		return nil, &EnvrcError{File: name, Message: fmt.Sprintf("direnv: error %s is blocked: atoll evaluates only the .envrc files of its scratch checkouts", file)}
	}
	stdlib, err := d.stdlib(ctx, vars)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &EnvrcError{File: name, Message: err.Error(), Err: err}
	}
	bash, err := bashPath(vars)
	if err != nil {
		return nil, &EnvrcError{File: name, Message: err.Error(), Err: err}
	}
	// direnv's command line, with the stdlib as an argument rather than a
	// `direnv stdlib` process of its own.
	cmd := exec.CommandContext(ctx, bash, "-c", `eval "$1" && __main__ source_env "$2"`, "bash", stdlib, filepath.ToSlash(file))
	cmd.Dir = dir
	cmd.Env = List(vars)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	group(cmd)
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	msg := direnvMessage(stderr.String())
	if err != nil {
		// direnv's own last line for a failed .envrc.
		msg = strings.TrimSpace(msg + "\ndirenv: error " + err.Error())
		return nil, &EnvrcError{File: name, Message: msg, Err: err}
	}
	if stdout.Len() == 0 {
		// The .envrc replaced the shell (exec): direnv reads no
		// environment and reports no change.
		return changes, nil
	}
	dumped, ok := parseDump(stdout.Bytes())
	if !ok {
		return nil, &EnvrcError{File: name, Message: "the .envrc wrote to the output direnv keeps for the environment (file descriptor 3)"}
	}
	changes = envDiff(vars, dumped)
	// direnv compares with the environment it was given: its own
	// settings above are not the project's.
	for _, k := range []string{"DIRENV_CONFIG", "XDG_DATA_HOME", "PWD"} {
		if v, ok := changes[k]; ok && v != nil && *v == vars[k] {
			delete(changes, k)
		}
	}
	return changes, nil
}

// group makes cmd's children go with it when its context is cancelled:
// SIGKILL to the whole group, as an evaluation has nothing to save and a
// shell caught between its own commands, or a trap in the .envrc, could
// outlive SIGTERM and hold the output open until WaitDelay.
func group(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
}

// findEnvrcUp is the .envrc direnv loads for dir: the nearest one in dir or
// a parent, up to the root of the file system.
func findEnvrcUp(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		f := filepath.Join(d, ".envrc")
		if _, err := os.Stat(f); err == nil {
			return f
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// trusted reports whether file, by its real path, is under Trust. The real
// path: an .envrc linked to a file outside the checkouts is not theirs.
func (d *Direnv) trusted(file string) bool {
	trust, err := filepath.EvalSymlinks(d.Trust)
	if err != nil {
		trust = filepath.Clean(d.Trust)
	}
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return false
	}
	return strings.HasPrefix(real, trust+string(filepath.Separator))
}

// bashPath is the bash direnv would run: DIRENV_BASH, else bash on PATH.
func bashPath(vars map[string]string) (string, error) {
	if b := vars["DIRENV_BASH"]; b != "" {
		return b, nil
	}
	for _, dir := range filepath.SplitList(vars["PATH"]) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, "bash")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("direnv: error bash is not on PATH: direnv evaluates .envrc files with bash")
}

// stdlibs holds `direnv stdlib` of each direnv binary (by path, size and
// modification time) that this process has asked: it is the same for every
// evaluation, and asking costs a direnv start.
var stdlibs struct {
	sync.Mutex
	text map[string]string
}

// stdlib is direnv's stdlib as `direnv stdlib` prints it, with vars as
// its environment (it reads the private configuration).
func (d *Direnv) stdlib(ctx context.Context, vars map[string]string) (string, error) {
	fi, err := os.Stat(d.Bin)
	if err != nil {
		return "", fmt.Errorf("direnv: %w", err)
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", d.Bin, fi.Size(), fi.ModTime().UnixNano())
	stdlibs.Lock()
	defer stdlibs.Unlock()
	if s, ok := stdlibs.text[key]; ok {
		return s, nil
	}
	cmd := exec.CommandContext(ctx, d.Bin, "stdlib")
	cmd.Env = List(vars)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	group(cmd)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("`direnv stdlib` failed: %v %s", err, strings.TrimSpace(direnvMessage(stderr.String())))
	}
	s := forkFreeStdlib(stdout.String())
	if !strings.Contains(s, "__main__()") {
		return "", errors.New("`direnv stdlib` printed no stdlib (no __main__): this direnv is not one atoll knows")
	}
	if stdlibs.text == nil {
		stdlibs.text = map[string]string{}
	}
	stdlibs.text[key] = s
	return s, nil
}

// allNames expands, in bash, to the name of every variable: one
// ${!X@} for each letter and _ a name can start with.
var allNames = func() string {
	var b strings.Builder
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_" {
		fmt.Fprintf(&b, ` "${!%c@}"`, c)
	}
	return b.String()[1:]
}()

// dumpMark starts the environment the private direnvrc dumps at exit.
const dumpMark = "atoll-env\x00"

// parseDump reads the dump: NAME=value entries, each ended by NUL.
func parseDump(b []byte) (map[string]string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(dumpMark))
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, e := range strings.Split(string(rest), "\x00") {
		if e == "" {
			continue
		}
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

var shellName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// envDiff is what `direnv export json` reports between the environment it
// gave bash (given) and the one bash exported at exit (dumped): set or
// changed values, nil for unset ones, less the names direnv ignores.
// Names bash cannot hold as variables (foo.bar) pass through bash's
// environment untouched and are not in the dump: they are unchanged.
func envDiff(given, dumped map[string]string) map[string]*string {
	out := map[string]*string{}
	for k, v := range dumped {
		if ignoredByDirenv(k) {
			continue
		}
		if was, ok := given[k]; !ok || was != v {
			out[k] = &v
		}
	}
	for k := range given {
		if _, ok := dumped[k]; !ok && !ignoredByDirenv(k) && shellName().MatchString(k) {
			out[k] = nil
		}
	}
	return out
}

// ignoredByDirenv are the names direnv leaves out of its diff: its own
// settings, bash's bookkeeping, and exported functions.
func ignoredByDirenv(k string) bool {
	switch k {
	case "DIRENV_CONFIG", "DIRENV_BASH", "DIRENV_IN_ENVRC", "COMP_WORDBREAKS", "PS1",
		"OLDPWD", "PWD", "SHELL", "SHELLOPTS", "SHLVL", "_":
		return true
	}
	return strings.HasPrefix(k, "__fish") || strings.HasPrefix(k, "BASH_FUNC_")
}

var ansi = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`) })

// direnvMessage keeps what matters from direnv's stderr: errors and the
// .envrc's own output, without colours and progress lines.
func direnvMessage(s string) string {
	var out []string
	for _, line := range strings.Split(ansi().ReplaceAllString(s, ""), "\n") {
		line = strings.TrimRight(line, " \r")
		switch {
		case line == "",
			strings.HasPrefix(line, "direnv: loading "),
			strings.HasPrefix(line, "direnv: using "),
			strings.HasPrefix(line, "direnv: export "),
			strings.HasPrefix(line, "direnv: (") && strings.HasSuffix(line, "is taking a while to execute. Use CTRL-C to give up."):
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
