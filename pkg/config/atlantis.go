package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/atlantis"
)

// fromAtlantis is the configuration of a repository that has an
// atlantis.yaml and no atoll.yaml: its projects, translated, with the
// defaults for everything else. Notes says what was not carried over.
func fromAtlantis(file string, raw []byte) (*Config, error) {
	res, err := atlantis.Parse(file, raw)
	if err != nil {
		return nil, err
	}
	c := &Config{File: file, Imported: atlantis.FileName}
	for _, p := range res.Projects {
		c.Projects = append(c.Projects, Project{Dir: p.Dir, Name: p.Name, Workspace: p.Workspace, Watch: p.Watch, DependsOn: p.DependsOn})
	}
	for _, n := range res.Notes {
		c.Notes = append(c.Notes, n.String())
	}
	return c, nil
}

// isAtlantis reports whether file is named like Atlantis' configuration.
func isAtlantis(file string) bool {
	return filepath.Base(file) == atlantis.FileName
}

// ImportSummary is the one line atoll prints when it read atlantis.yaml
// in place of atoll.yaml.
func (c *Config) ImportSummary() string {
	if c.Imported == "" {
		return ""
	}
	s := fmt.Sprintf("no %s: read %d project(s) from %s", FileName, len(c.Projects), c.Imported)
	if len(c.Notes) > 0 {
		s += fmt.Sprintf(" (%d setting(s) with no atoll meaning: `atoll config import-atlantis` lists them)", len(c.Notes))
	}
	return s + "; `atoll config import-atlantis` writes the equivalent " + FileName
}

// ImportAtlantis translates an atlantis.yaml into the text of the
// equivalent atoll.yaml, and returns what was not carried over. The text
// says where it came from, and each note is a comment next to the project
// it concerns (or at the top).
func ImportAtlantis(file string, raw []byte) ([]byte, []atlantis.Note, error) {
	res, err := atlantis.Parse(file, raw)
	if err != nil {
		return nil, nil, err
	}
	byProject := map[int][]atlantis.Note{}
	var general []atlantis.Note
	for _, n := range res.Notes {
		if i := n.Project(); i >= 0 {
			byProject[i] = append(byProject[i], n)
		} else {
			general = append(general, n)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `atoll config import-atlantis` from %s.\n", filepath.Base(file))
	b.WriteString("# docs/configuration.md describes every key.\n")
	for _, n := range general {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	if len(res.Projects) == 0 {
		b.WriteString("projects: []\n")
		return []byte(b.String()), res.Notes, nil
	}
	b.WriteString("projects:\n")
	next := 0 // the first Atlantis entry whose notes are not written yet
	for _, p := range res.Projects {
		for ; next <= p.Index; next++ {
			for _, n := range byProject[next] {
				fmt.Fprintf(&b, "  # %s\n", n)
			}
		}
		fmt.Fprintf(&b, "  - dir: %s\n", yamlScalar(p.Dir))
		if p.Name != "" {
			fmt.Fprintf(&b, "    name: %s\n", yamlScalar(p.Name))
		}
		if p.Workspace != "" {
			fmt.Fprintf(&b, "    workspace: %s\n", yamlScalar(p.Workspace))
		}
		writeList(&b, "watch", p.Watch)
		writeList(&b, "depends_on", p.DependsOn)
	}
	var rest []int
	for i := range byProject {
		if i >= next {
			rest = append(rest, i)
		}
	}
	sort.Ints(rest)
	for _, i := range rest {
		for _, n := range byProject[i] {
			fmt.Fprintf(&b, "  # %s\n", n)
		}
	}
	return []byte(b.String()), res.Notes, nil
}

func writeList(b *strings.Builder, key string, list []string) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", key)
	for _, e := range list {
		fmt.Fprintf(b, "      - %s\n", yamlScalar(e))
	}
}

// yamlScalar quotes s for YAML: always double-quoted, escaped as JSON
// strings are (a subset of YAML's double-quoted style), so globs such as
// "**/*.tf" and names such as "on" stay strings.
func yamlScalar(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
