// Package tf runs Terraform (or OpenTofu) for one project directory at a
// time and turns what it does into typed results. It is the only importer of
// terraform-json.
//
// Cancelling the context of a command sends Terraform SIGINT, so that it
// stops gracefully, writes its state and releases its lock. Terraform runs
// in its own process group, so a terminal's Ctrl-C
// does not reach it directly: the caller must turn SIGINT into a cancelled context
// (signal.NotifyContext) and keep catching signals until the command returns.
package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atoll-tf/atoll/pkg/env"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// Runner runs Terraform commands. It is safe for concurrent use on different
// directories when Stdout and Stderr are.
type Runner struct {
	// Bin is the Terraform binary (see Find).
	Bin string
	// Env holds variables set for every command on top of the inherited
	// environment. Ignored when Environ is set.
	Env map[string]string
	// Environ, when not nil, is the whole environment of every command
	// (a project's, see pkg/env): nothing is inherited. It holds no
	// TF_CLI_ARGS*: those are in Args. TF_WORKSPACE is refused (see
	// Workspace); atoll sets TF_IN_AUTOMATION.
	Environ map[string]string
	// Args are the arguments each command (init, plan, apply) gets from the
	// project's environment: given to Terraform as flags after atoll's
	// own, or refused (*ArgError), never dropped.
	Args map[string][]env.Arg
	// Stdout and Stderr receive Terraform's full output, e.g. a log file.
	// Either may be nil. They are written from different goroutines, so a
	// single writer given for both must be safe for concurrent use (an
	// *os.File is).
	Stdout, Stderr io.Writer
	// InterruptGrace is how long Terraform may take to stop after SIGINT
	// before it is killed. Killing it can leave the state locked and lose
	// track of resources created meanwhile, so be generous. Zero means
	// 60s.
	InterruptGrace time.Duration
	// LockTimeout is how long plan and apply wait for a state lock that
	// another run holds (-lock-timeout). Zero fails at once, as Terraform
	// does by default.
	LockTimeout time.Duration
	// OnStateLock, when set, is told who holds the state lock while plan or
	// apply waits for it (each time the holder changes), and nil once
	// Terraform got past the lock after waiting.
	OnStateLock func(holder *LockInfo)
	// VersionCache, when set, is a file that keeps Version's answers
	// between runs (atoll keeps it in its work dir), so that a run asks a
	// binary its version only when the binary is new or replaced. A
	// missing, damaged or foreign file only makes the run ask again.
	VersionCache string
}

// stderrTail bounds how much of stderr an *Error keeps.
const stderrTail = 16 << 10

// command is one Terraform operation in a directory, which atoll runs
// itself (run) rather than through terraform-exec: that starts each
// directory's first command with `terraform version -json`, a process
// start per project that a plan or apply of many projects pays for
// nothing, and it cannot pass a project's TF_VAR_* to plan
// (hashicorp/terraform-exec#584).
type command struct {
	op      string
	dir     string
	environ []string
	stderr  *tailBuffer
}

// command prepares op in dir, with extraEnv on top of the environment.
func (r *Runner) command(op, dir string, extraEnv map[string]string) (*command, error) {
	c := &command{op: op, dir: dir, stderr: newTailBuffer(stderrTail)}
	env, err := r.execEnviron(extraEnv)
	if err != nil {
		return nil, c.fail(err)
	}
	c.environ = env
	return c, nil
}

// execEnviron is the environment of a command atoll runs itself: Environ
// when set (a project's, which holds no TF_CLI_ARGS*: those are in Args),
// else the inherited one with Env; then extra. It tells Terraform it runs
// in automation and never lets TF_WORKSPACE pick a workspace: Workspace
// does that.
func (r *Runner) execEnviron(extra map[string]string) ([]string, error) {
	var vars map[string]string
	if r.Environ != nil {
		if v, ok := r.Environ["TF_WORKSPACE"]; ok {
			return nil, workspaceRefusal(v)
		}
		vars = maps.Clone(r.Environ)
		for k := range vars {
			if k == "TF_CLI_ARGS" || strings.HasPrefix(k, "TF_CLI_ARGS_") {
				return nil, fmt.Errorf("internal: %s in an explicit environment: it belongs in Args", k)
			}
		}
	} else {
		vars = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		maps.Copy(vars, r.Env)
		delete(vars, "TF_WORKSPACE")
	}
	maps.Copy(vars, extra)
	vars["TF_IN_AUTOMATION"] = "1"
	return envList(vars), nil
}

func workspaceRefusal(v string) error {
	return &ArgError{Command: "init", Arg: env.Arg{Flag: "TF_WORKSPACE", Value: v, HasValue: true, From: "the project's environment"},
		Reason: "it selects a Terraform workspace behind atoll's back: declare it as projects[].workspace in atoll.yaml"}
}

// fail wraps err as an *Error carrying stderr's tail.
func (c *command) fail(err error) *Error {
	return &Error{Op: c.op, Dir: c.dir, Diagnostics: c.stderr.String(), Err: err}
}

// writers is io.MultiWriter of the non-nil writers, made lenient.
func writers(ws ...io.Writer) io.Writer {
	var out []io.Writer
	for _, w := range ws {
		if w != nil {
			out = append(out, lenientWriter{w})
		}
	}
	return io.MultiWriter(out...)
}

// lenientWriter passes output on and never fails: os/exec stops reading
// Terraform's output when a writer fails, and Terraform then blocks forever
// on a full pipe (a full disk under the log file must not hang an apply).
type lenientWriter struct{ w io.Writer }

func (l lenientWriter) Write(p []byte) (int, error) {
	_, _ = l.w.Write(p)
	return len(p), nil
}

// Version returns the version of the binary, e.g. "1.11.4". It runs
// `terraform version -json` once per binary: the answer is kept for the
// life of the process, and in VersionCache across runs, keyed by the
// binary's path, size, modification and change times and inode, so a
// replaced binary is asked again.
func (r *Runner) Version(ctx context.Context) (string, error) {
	key, err := binaryKey(r.Bin)
	if err != nil {
		return "", &Error{Op: "version", Dir: ".", Err: err}
	}
	if v, ok := versions.Load(key); ok {
		return v.(string), nil
	}
	cached := readVersionCache(r.VersionCache)
	if v := cached[key]; v != "" {
		versions.Store(key, v)
		return v, nil
	}
	// The temporary directory, not ".": `version` reads provider selections
	// from the working directory, which does not matter here.
	c, err := r.command("version", os.TempDir(), nil)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if _, err := r.run(ctx, c, &out, false, "version", "-json"); err != nil {
		return "", c.fail(err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Version == "" {
		return "", c.fail(fmt.Errorf("%s version -json printed no version (is it Terraform 0.13 or later, or OpenTofu?)", r.Bin))
	}
	versions.Store(key, v.Version)
	writeVersionCache(r.VersionCache, cached, key, v.Version)
	return v.Version, nil
}

// versions caches Version's answers by binaryKey.
var versions sync.Map

// binaryKey identifies a binary as found on PATH: its absolute path, size,
// modification time and, where the system has them, inode and change
// time (which a copy that keeps the modification time still changes).
func binaryKey(bin string) (string, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", err
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s\x00%d\x00%d%s", path, fi.Size(), fi.ModTime().UnixNano(), fileIdentity(fi)), nil
}

// versionCacheMax bounds VersionCache's entries: past it, the file starts
// again from the one answer just found (tfenv keeps a binary per version,
// not hundreds).
const versionCacheMax = 64

// readVersionCache returns the answers kept in path, none when it is
// unset, missing, not the user's own private file, or damaged.
func readVersionCache(path string) map[string]string {
	if path == "" {
		return nil
	}
	b, err := safefs.ReadPrivateFile(path, 1<<20)
	if err != nil {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// writeVersionCache adds key's answer to the cached ones and replaces
// path with them, if path's directory exists. Failing to is no error: the
// next run asks again.
func writeVersionCache(path string, cached map[string]string, key, version string) {
	if path == "" {
		return
	}
	if fi, err := os.Lstat(filepath.Dir(path)); err != nil || !fi.IsDir() || safefs.CheckPrivate(filepath.Dir(path), fi) != nil {
		return
	}
	m := map[string]string{}
	if len(cached) < versionCacheMax {
		maps.Copy(m, cached)
	}
	m[key] = version
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	_ = safefs.ReplaceFile(path, b, 0o600)
}

// InitOptions are the options of Init.
type InitOptions struct {
	// FromModule, when set, copies that module source into the empty dir
	// first, as `terraform init -from-module`. Terraform reads it: a local
	// path must start with "./", "../" or "/" and is relative to dir.
	FromModule string
	// PluginCacheDir, when set, is created and used as TF_PLUGIN_CACHE_DIR,
	// unless the environment already sets that variable. A relative path
	// is relative to the current directory, not to dir.
	PluginCacheDir string
}

// Init runs `terraform init -input=false` in dir.
func (r *Runner) Init(ctx context.Context, dir string, opts InitOptions) error {
	var extra map[string]string
	if opts.PluginCacheDir != "" && !r.hasEnv("TF_PLUGIN_CACHE_DIR") {
		cache, err := filepath.Abs(opts.PluginCacheDir)
		if err == nil {
			err = os.MkdirAll(cache, 0o700)
		}
		if err != nil {
			return &Error{Op: "init", Dir: dir, Err: err}
		}
		extra = map[string]string{"TF_PLUGIN_CACHE_DIR": cache}
	}
	c, err := r.command("init", dir, extra)
	if err != nil {
		return err
	}
	fromEnv, err := initArgs(r.Args["init"])
	if err != nil {
		return c.fail(err)
	}
	args := []string{"init", "-no-color", "-input=false"}
	if opts.FromModule != "" {
		args = append(args, "-from-module="+opts.FromModule)
	}
	args = append(args, fromEnv...)
	if _, err := r.run(ctx, c, writers(r.Stdout), false, args...); err != nil {
		return c.fail(err)
	}
	return nil
}

func (r *Runner) hasEnv(k string) bool {
	if r.Environ != nil {
		_, ok := r.Environ[k]
		return ok
	}
	if _, ok := r.Env[k]; ok {
		return true
	}
	_, ok := os.LookupEnv(k)
	return ok
}

// Workspace selects the Terraform workspace name in dir, an initialised
// directory, creating it when it does not exist yet.
func (r *Runner) Workspace(ctx context.Context, dir, name string) error {
	c, err := r.command("workspace", dir, nil)
	if err != nil {
		return err
	}
	if _, err := r.run(ctx, c, writers(r.Stdout), false, "workspace", "select", "-or-create=true", name); err != nil {
		return c.fail(err)
	}
	return nil
}
