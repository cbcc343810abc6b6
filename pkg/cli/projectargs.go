package cli

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/spf13/cobra"
)

// selectProjects resolves arguments (project names or directories) to
// directories; an unknown one is a usage error that lists what exists.
// A directory is read from the repository root, or from the current
// directory (-C DIR when given): `atoll plan .` in conf/prod/vpc, as
// geodesic users stand there. One written as a path (., .., ./x, ../x or
// absolute) is only read from the current directory.
func selectProjects(s *session, g *project.Graph, args []string) (map[string]bool, error) {
	if len(args) == 0 {
		return nil, nil
	}
	byKey := map[string]string{}
	for _, p := range g.Projects {
		byKey[p.Name] = p.Dir
		byKey[p.Dir] = p.Dir
	}
	sel := map[string]bool{}
	var unknown []string
	firstUnknown := ""
	for _, a := range args {
		var keys []string
		if !isPathArg(a) {
			keys = append(keys, strings.TrimSuffix(path.Clean(a), "/"))
		}
		rel, inside := s.fromCwd(a)
		if inside {
			keys = append(keys, rel)
		}
		found := false
		for _, k := range keys {
			if dir, ok := byKey[k]; ok {
				sel[dir] = true
				found = true
				break
			}
		}
		if found {
			continue
		}
		if firstUnknown == "" {
			firstUnknown = a
		}
		switch {
		case !inside:
			unknown = append(unknown, a+" (outside the repository)")
		case rel != path.Clean(a):
			unknown = append(unknown, fmt.Sprintf("%s (%s from the repository root)", a, rel))
		default:
			unknown = append(unknown, a)
		}
	}
	if len(unknown) > 0 {
		return nil, &ExitError{Code: ExitUsage,
			Err:  fmt.Errorf("no such project: %s", strings.Join(unknown, ", ")),
			Hint: "give a project name, or its directory (relative to the repository root or to the current directory); `atoll projects` lists them" + suggest(g, firstUnknown)}
	}
	return sel, nil
}

// isPathArg reports whether a is written as a path, not a name.
func isPathArg(a string) bool {
	return a == "." || a == ".." || strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") || filepath.IsAbs(a)
}

// fromCwd turns a path given on the command line into a slash path
// relative to the repository root; inside is false when it leads out of
// the repository.
func (s *session) fromCwd(a string) (rel string, inside bool) {
	p := a
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.Cwd, p)
	}
	r, err := filepath.Rel(realPath(s.Repo.Root), realPath(filepath.Clean(p)))
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// realPath resolves symbolic links as far as the path exists, so that a
// current directory reached through a link (/tmp on some systems) and the
// repository root compare equal; a missing tail is kept as written.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, base := filepath.Split(p)
	if dir == "" || dir == p || filepath.Clean(dir) == p {
		return p
	}
	return filepath.Join(realPath(filepath.Clean(dir)), base)
}

func suggest(g *project.Graph, arg string) string {
	var near []string
	for _, p := range g.Projects {
		if strings.Contains(p.Dir, arg) || strings.Contains(p.Name, arg) {
			near = append(near, p.Name)
		}
	}
	if len(near) == 0 || len(near) > 5 {
		return ""
	}
	return " (did you mean " + strings.Join(near, ", ") + "?)"
}

// completeProjects completes project names and directories at HEAD.
func completeProjects(g *Globals) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		s, err := g.open(nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer s.Close()
		head, err := s.Repo.Head()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		gr, err := scan.Projects(s.Repo, s.Config, head.SHA, scan.Options{Cache: s.Cache})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		taken := map[string]bool{}
		for _, a := range args {
			taken[a] = true
		}
		var out []string
		for _, p := range gr.Projects {
			for _, k := range []string{p.Name, p.Dir} {
				if !taken[k] && strings.HasPrefix(k, toComplete) && !contains(out, k) {
					out = append(out, k)
				}
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
