package cli

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/spf13/cobra"
)

// selectProjects resolves arguments (project names or directories) to
// directories; an unknown one is a usage error that lists what exists.
func selectProjects(g *project.Graph, args []string) (map[string]bool, error) {
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
	for _, a := range args {
		key := strings.TrimSuffix(path.Clean(strings.TrimPrefix(a, "./")), "/")
		if dir, ok := byKey[key]; ok {
			sel[dir] = true
			continue
		}
		unknown = append(unknown, a)
	}
	if len(unknown) > 0 {
		return nil, &ExitError{Code: ExitUsage,
			Err:  fmt.Errorf("no such project: %s", strings.Join(unknown, ", ")),
			Hint: "give a project name or directory; `atoll projects` lists them" + suggest(g, unknown[0])}
	}
	return sel, nil
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
