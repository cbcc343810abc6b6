package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/atoll-tf/atoll/pkg/runner"
)

// CallerEnv names, for -v, what the projects' environments leave out of
// the caller's and what env.pass keeps. Names only, never values.
func CallerEnv(w io.Writer, s *Styles, undone, dropped, passed []string) {
	list := func(names []string) string {
		if len(names) == 0 {
			return s.Muted.Render("none")
		}
		return strings.Join(names, ", ")
	}
	fmt.Fprintf(w, "%s direnv's changes for your directory, undone: %s\n", s.Muted.Render("env:"), list(undone))
	fmt.Fprintf(w, "%s project-specific, dropped from your environment: %s\n", s.Muted.Render("env:"), list(dropped))
	fmt.Fprintf(w, "%s passed on by env.pass: %s\n", s.Muted.Render("env:"), list(passed))
}

// EnvText renders `atoll env`: the project's .envrc, the arguments each
// Terraform command gets, what was left out of the caller's environment,
// then every variable (KEY=VALUE, secrets masked; * marks those the .envrc
// set), so that it can be compared with a shell's `env`.
func EnvText(w io.Writer, s *Styles, rep *runner.EnvReport) error {
	envrc := rep.Envrc
	if envrc == "" {
		envrc = s.Muted.Render("none")
	}
	fmt.Fprintf(w, "%s %s\n", s.Bold.Render("project:"), rep.Dir)
	fmt.Fprintf(w, "%s %s\n", s.Bold.Render("envrc:"), envrc)
	for _, cmd := range []string{"init", "plan", "apply"} {
		fmt.Fprintf(w, "%s %s\n", s.Bold.Render("terraform "+cmd+":"), strings.Join(rep.Args[cmd], " "))
	}
	CallerEnv(w, s, rep.Undone, rep.Dropped, rep.Passed)
	fmt.Fprintln(w)
	for _, v := range rep.Vars {
		mark := " "
		if v.Envrc {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %s=%s\n", mark, v.Name, v.Value)
	}
	return nil
}
