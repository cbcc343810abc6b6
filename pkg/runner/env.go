package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/atoll-tf/atoll/pkg/env"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// Environment is a project's environment as atoll evaluated it.
type Environment struct {
	*env.Project
	// EnvrcFile is the .envrc direnv evaluated (repository path), "" when
	// none.
	EnvrcFile string
}

// envs evaluates projects' environments, sharing what a run computes once:
// the caller's environment and direnv's private configuration.
type envs struct {
	o *Options

	once   sync.Once
	caller *env.Caller
	direnv *env.Direnv
	err    error
}

func (e *envs) setup() error {
	e.once.Do(func() {
		environ := e.o.Environ
		if environ == nil {
			environ = os.Environ()
		}
		e.caller, e.err = env.FromCaller(environ, e.o.Config.Env.Pass)
		if e.err != nil {
			e.err = &refusal{msg: e.err.Error(), hint: "leave direnv's directory (cd /) or run `direnv reload`, then run atoll again"}
			return
		}
		if e.o.Config.Env.Envrc == "ignore" {
			return
		}
		bin, err := env.FindDirenv()
		if err != nil {
			return // an error only for projects that have an .envrc
		}
		repoDir := filepath.Join(e.o.Workdir, workspace.RepoID(e.o.Repo))
		e.direnv = &env.Direnv{Bin: bin, Dir: filepath.Join(repoDir, "direnv"), Trust: repoDir}
		e.err = e.direnv.Setup(env.UserConfigDir(e.caller.Base))
	})
	return e.err
}

// Caller is the caller's environment as atoll takes it apart.
func (e *envs) Caller() (*env.Caller, error) {
	if err := e.setup(); err != nil {
		return nil, err
	}
	return e.caller, nil
}

// of evaluates the environment of project p whose files are in dir, inside
// the checkout root: the caller's base with what its .envrc gives.
func (e *envs) of(ctx context.Context, p project.Project, root, dir string) (*Environment, error) {
	if err := e.setup(); err != nil {
		return nil, err
	}
	out := &Environment{}
	var changes map[string]*string
	if file := env.FindEnvrc(root, dir); file != "" && e.o.Config.Env.Envrc != "ignore" {
		rel, _ := filepath.Rel(root, file)
		out.EnvrcFile = filepath.ToSlash(rel)
		if e.direnv == nil {
			return nil, &refusal{
				msg:  fmt.Sprintf("%s needs direnv, which is not on PATH: without it %s would run without its environment (backend, variables, -from-module)", out.EnvrcFile, p.Dir),
				hint: "install direnv (geodesic ships it; Debian: apt-get install direnv), or set env.envrc: ignore in atoll.yaml to run without evaluating .envrc files",
			}
		}
		var err error
		if changes, err = e.direnv.Export(ctx, dir, e.caller.Base, out.EnvrcFile); err != nil {
			var ee *env.EnvrcError
			if errors.As(err, &ee) {
				return nil, &envrcFailure{err: ee, dir: p.Dir}
			}
			return nil, err
		}
	}
	pe, err := env.ForProject(e.caller, changes)
	if err != nil {
		return nil, &refusal{msg: fmt.Sprintf("%s: %v", p.Dir, err), hint: "fix the quoting of that variable in the .envrc"}
	}
	out.Project = pe
	return out, nil
}

// envrcFailure is an .envrc that failed: the project's failure, with
// direnv's message.
type envrcFailure struct {
	err *env.EnvrcError
	dir string
}

func (f *envrcFailure) Error() string { return f.err.Error() }

// record is what the plan record keeps of the environment.
func (e *Environment) record(c *env.Caller) (*record.Env, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(salt)
	d := e.Digests(s)
	return &record.Env{Hash: env.Hash(d), Salt: s, Digests: d, Envrc: e.EnvrcFile, Dropped: c.Dropped, Passed: c.Passed}, nil
}

// checkEnv refuses to apply a plan whose environment differs from the
// project's now, naming the variables.
func checkEnv(rec *record.Plan, now *Environment) error {
	if rec.Env == nil {
		return &refusal{msg: "the plan record does not say which environment the plan was made in (an older atoll made it)", hint: "plan again, review, then apply"}
	}
	changed := env.Changed(rec.Env.Digests, now.Digests(rec.Env.Salt))
	if len(changed) == 0 {
		return nil
	}
	return &refusal{
		msg:  fmt.Sprintf("the project's environment differs from the plan's: %s changed since the plan", strings.Join(changed, ", ")),
		hint: "compare with atoll env " + rec.Dir + "; plan again in this environment, review, then apply",
	}
}

// EnvReport is a project's environment as plan and apply give it to
// Terraform, values of secret-looking names masked.
type EnvReport struct {
	Project string `json:"project"`
	Dir     string `json:"dir"`
	// Envrc is the .envrc direnv evaluated, "" when none.
	Envrc string `json:"envrc,omitempty"`
	// Undone, Dropped and Passed are the caller's variables that direnv had
	// loaded for its directory, that were left out as project-specific, or
	// that env.pass kept.
	Undone  []string `json:"undone,omitempty"`
	Dropped []string `json:"dropped,omitempty"`
	Passed  []string `json:"passed,omitempty"`
	// Args are each command's arguments from the environment.
	Args map[string][]string `json:"args"`
	// Vars is the whole environment, sorted by name.
	Vars []EnvVar `json:"vars"`
}

// EnvVar is one variable of a project's environment.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Envrc says the project's .envrc set or changed it.
	Envrc bool `json:"envrc,omitempty"`
}

// EnvOf evaluates the environment of p at HEAD, in a scratch checkout as
// plan does.
func EnvOf(ctx context.Context, o *Options, p project.Project) (*EnvReport, error) {
	cos := &checkouts{o: o}
	defer cos.close()
	co := materialize(ctx, cos, o.Comparison.Head.SHA, []project.Project{p})
	if co.err != nil {
		return nil, co.err
	}
	pe, err := o.projectEnvs().of(ctx, p, co.root, co.dir(p.Dir))
	if err != nil {
		return nil, err
	}
	c, _ := o.CallerEnv()
	rep := &EnvReport{Project: p.Name, Dir: p.Dir, Envrc: pe.EnvrcFile, Undone: c.Undone, Dropped: c.Dropped, Passed: c.Passed, Args: map[string][]string{}}
	for _, cmd := range env.Commands {
		args := []string{}
		for _, a := range pe.Args[cmd] {
			args = append(args, env.MaskedArg(a))
		}
		rep.Args[cmd] = args
	}
	for _, kv := range env.List(pe.Vars) {
		k, v, _ := strings.Cut(kv, "=")
		rep.Vars = append(rep.Vars, EnvVar{Name: k, Value: env.Masked(k, v), Envrc: slices.Contains(pe.Envrc, k)})
	}
	return rep, nil
}

// EnvHint returns how to fix an error of EnvOf, and whether the project's
// own input (its .envrc) is at fault rather than the machine.
func EnvHint(err error) (hint string, input bool) {
	var ref *refusal
	var ef *envrcFailure
	switch {
	case errors.As(err, &ef):
		res := &ProjectResult{}
		failure(res, err)
		return res.Hint, true
	case errors.As(err, &ref):
		return ref.hint, false
	}
	return "", false
}
