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

// Direnv evaluates .envrc files with the real direnv binary, under a
// private configuration: it trusts only the .envrc files under Trust
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

// Export evaluates the .envrc of dir (see FindEnvrc) with `direnv export
// json`, starting from base, and returns the changes it made (nil values:
// unset). name is how errors name the .envrc.
func (d *Direnv) Export(ctx context.Context, dir string, base map[string]string, name string) (map[string]*string, error) {
	cmd := exec.CommandContext(ctx, d.Bin, "export", "json")
	cmd.Dir = dir
	vars := make(map[string]string, len(base)+3)
	for k, v := range base {
		vars[k] = v
	}
	vars["DIRENV_CONFIG"] = filepath.Join(d.Dir, "config")
	vars["XDG_DATA_HOME"] = filepath.Join(d.Dir, "data")
	// direnv needs PWD to name the directory it evaluates.
	vars["PWD"] = dir
	cmd.Env = List(vars)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The .envrc's children go with it when ctx is cancelled: SIGKILL to
	// the whole group, as an evaluation has nothing to save and a shell
	// caught between its own commands, or a trap in the .envrc, could
	// outlive SIGTERM and hold the output open until WaitDelay.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	msg := direnvMessage(stderr.String())
	if err != nil {
		return nil, &EnvrcError{File: name, Message: msg, Err: err}
	}
	changes := map[string]*string{}
	if len(bytes.TrimSpace(stdout.Bytes())) == 0 {
		return changes, nil
	}
	if err := json.Unmarshal(stdout.Bytes(), &changes); err != nil {
		return nil, &EnvrcError{File: name, Message: "direnv's output is not JSON: " + err.Error(), Err: err}
	}
	// direnv compares with the environment it was given: its own
	// settings above are not the project's.
	for _, k := range []string{"DIRENV_CONFIG", "XDG_DATA_HOME", "PWD"} {
		if v, ok := changes[k]; ok && v != nil && *v == vars[k] {
			delete(changes, k)
		}
	}
	return changes, nil
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
