package docblocks

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scripts returns the shell commands of a CI example: the `run:` steps of
// a GitHub Actions workflow, the `script:`, `before_script:` and
// `after_script:` lines of a GitLab CI file (any YAML file), or the RUN
// instructions of a Dockerfile. Lines are those of the file. GitHub
// expressions (${{ ... }}) become one word, EXPR, as the runner replaces
// them with a value before the shell sees the line.
func Scripts(path string) ([]Command, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cmds []Command
	if strings.HasPrefix(filepath.Base(path), "Dockerfile") {
		cmds = dockerRuns(b)
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		walkScripts(&doc, &cmds)
	}
	for i := range cmds {
		cmds[i].Text = expression.ReplaceAllString(cmds[i].Text, "EXPR")
	}
	return cmds, nil
}

var expression = regexp.MustCompile(`\$\{\{.*?\}\}`)

// scriptKeys hold shell: GitHub's run, GitLab's script lists.
var scriptKeys = map[string]bool{"run": true, "script": true, "before_script": true, "after_script": true}

func walkScripts(n *yaml.Node, out *[]Command) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkScripts(c, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if scriptKeys[k.Value] {
				scriptOf(v, out)
				continue
			}
			walkScripts(v, out)
		}
	}
}

// scriptOf adds the commands of a script value: one string (a block
// scalar starts on the line after its key) or a list of them.
func scriptOf(v *yaml.Node, out *[]Command) {
	switch v.Kind {
	case yaml.ScalarNode:
		first := v.Line
		if v.Style == yaml.LiteralStyle || v.Style == yaml.FoldedStyle {
			first++
		}
		b := Block{Line: first - 1, Lang: "sh", Text: v.Value}
		*out = append(*out, b.Commands()...)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			scriptOf(c, out)
		}
	}
}

// dockerRuns returns the commands of a Dockerfile's RUN instructions
// (continuation lines joined), split at && and ; by AtollInvocations.
func dockerRuns(b []byte) []Command {
	var out []Command
	var cur *Command
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur == nil {
			rest, ok := strings.CutPrefix(line, "RUN ")
			if !ok {
				continue
			}
			cur = &Command{Line: n, Text: rest}
		} else if !strings.HasPrefix(line, "#") {
			cur.Text += " " + line
		}
		if strings.HasSuffix(cur.Text, "\\") {
			cur.Text = strings.TrimSuffix(cur.Text, "\\")
			continue
		}
		out = append(out, *cur)
		cur = nil
	}
	return out
}
