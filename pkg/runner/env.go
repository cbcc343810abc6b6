package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	// Envrc is the .envrc direnv evaluated (repository path), "" when none.
	Envrc string
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
		out.Envrc = filepath.ToSlash(rel)
		if e.direnv == nil {
			return nil, &refusal{
				msg:  fmt.Sprintf("%s needs direnv, which is not on PATH: without it %s would run without its environment (backend, variables, -from-module)", out.Envrc, p.Dir),
				hint: "install direnv (geodesic ships it; Debian: apt-get install direnv), or set env.envrc: ignore in atoll.yaml to run without evaluating .envrc files",
			}
		}
		var err error
		if changes, err = e.direnv.Export(ctx, dir, e.caller.Base, out.Envrc); err != nil {
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
	return &record.Env{Hash: env.Hash(d), Salt: s, Digests: d, Envrc: e.Envrc, Dropped: c.Dropped, Passed: c.Passed}, nil
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
