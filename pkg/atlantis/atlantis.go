// Package atlantis reads an Atlantis repo-level configuration
// (atlantis.yaml, version 3) and translates what has an atoll meaning into
// atoll's project settings: dir, name, workspace, autoplan.when_modified,
// depends_on and execution_order_group. Every other key is reported with
// what to do instead, so nothing is dropped silently.
//
// The package is pure: it reads bytes and returns values.
package atlantis

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/modsource"
	"go.yaml.in/yaml/v3"
)

// FileName is the file Atlantis reads at the repository root.
const FileName = "atlantis.yaml"

// Project is one Atlantis project translated to atoll's terms.
type Project struct {
	// Dir is the project directory relative to the repository root.
	Dir string
	// Name is the Atlantis name, empty when it has none.
	Name string
	// Workspace is the Terraform workspace; empty for "default".
	Workspace string
	// Watch are autoplan.when_modified globs made relative to the
	// repository root (Atlantis writes them relative to the project).
	Watch []string
	// DependsOn are project names: Atlantis' depends_on, plus the
	// projects of the preceding execution_order_group.
	DependsOn []string
	// Index is the entry's position in Atlantis' projects list; Line is
	// where it starts in the file.
	Index int
	Line  int
}

// Note is something the translation could not carry over, or did in a way
// worth saying: a key with no atoll meaning and what to do instead.
type Note struct {
	// Key is the dotted key, e.g. projects[2].apply_requirements.
	Key  string
	Line int
	// Msg says what atoll does with it; Fix what to do instead.
	Msg string
	Fix string
}

func (n Note) String() string {
	s := n.Key
	if n.Line > 0 {
		s = fmt.Sprintf("line %d: %s", n.Line, n.Key)
	}
	s += ": " + n.Msg
	if n.Fix != "" {
		s += "; " + n.Fix
	}
	return s
}

// Project is the index of the Atlantis project the note is about, -1 for
// a top-level key.
func (n Note) Project() int {
	i := -1
	if _, err := fmt.Sscanf(n.Key, "projects[%d]", &i); err != nil {
		return -1
	}
	return i
}

// Result is a translated atlantis.yaml.
type Result struct {
	Projects []Project
	Notes    []Note
}

// Error is an atlantis.yaml atoll cannot translate: it names the file, the
// line and the key.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// What atoll does instead of the keys it has no use for. Keys Atlantis
// knows that are missing here are reported as unknown.
var (
	topLevel = map[string][2]string{
		"version":                       {"", ""},
		"projects":                      {"", ""},
		"automerge":                     {"atoll never merges", "merge when `atoll guard` passes (make it a required status check)"},
		"autodiscover":                  {"atoll always discovers projects under its roots", "use exclude: in atoll.yaml for directories that are not projects"},
		"delete_source_branch_on_merge": {"atoll does not merge or delete branches", "set it in the git host's repository settings"},
		"parallel_plan":                 {"atoll plans in parallel already", "use -j N on atoll plan"},
		"parallel_apply":                {"atoll applies in dependency order, in parallel where it can", "use -j N on atoll apply"},
		"abort_on_execution_order_fail": {"atoll apply always skips the projects that depend on a failed one", ""},
		"allowed_regexp_prefixes":       {"atoll has no comment commands", "run atoll from the CI job"},
		"workflows":                     {"atoll runs init, plan and apply itself, in a scratch checkout", "put per-project settings in the project's .envrc (direnv, tfenv's TF_CLI_* variables), and other steps in the CI job before atoll"},
	}
	projectLevel = map[string][2]string{
		"name":                          {"", ""},
		"dir":                           {"", ""},
		"workspace":                     {"", ""},
		"autoplan":                      {"", ""},
		"depends_on":                    {"", ""},
		"execution_order_group":         {"", ""},
		"branch":                        {"atoll plans whatever branch it is run on", "compare against another base with --base or base: in atoll.yaml"},
		"workflow":                      {"atoll runs init, plan and apply itself, in a scratch checkout", "put per-project settings in the project's .envrc (direnv, tfenv's TF_CLI_* variables), and other steps in the CI job before atoll"},
		"terraform_version":             {"atoll runs one Terraform binary", "set terraform_bin: in atoll.yaml, or pin the version per project with tfenv in its .envrc"},
		"terraform_distribution":        {"atoll runs one Terraform binary", "set terraform_bin: to terraform or tofu"},
		"apply_requirements":            {"atoll has no approval step of its own", "protect the apply job with a CI environment approval and make `atoll guard` a required status check (its up-to-date check is Atlantis' undiverged)"},
		"plan_requirements":             {"atoll has no approval step of its own", "gate the plan job in CI"},
		"import_requirements":           {"atoll does not run terraform import", "import from the project's shell"},
		"delete_source_branch_on_merge": {"atoll does not merge or delete branches", "set it in the git host's repository settings"},
		"repo_locking":                  {"atoll locks projects in the git remote, not the repository", "lock_on: apply (default), plan or never in atoll.yaml"},
		"repo_locks":                    {"atoll locks projects in the git remote, not the repository", "lock_on: apply (default), plan or never in atoll.yaml"},
		"custom_policy_check":           {"atoll runs no policy checks", "run conftest (or similar) on the plan JSON in the CI job"},
		"policy_check":                  {"atoll runs no policy checks", "run conftest (or similar) on the plan JSON in the CI job"},
		"silence_pr_comments":           {"atoll writes no pull-request comments itself", "post `atoll plan --output markdown` from the CI job if you want one"},
	}
	autoplanLevel = map[string][2]string{
		"when_modified": {"", ""},
		"enabled":       {"", ""},
	}
)

// Parse translates the atlantis.yaml in raw; name is used in messages.
func Parse(name string, raw []byte) (*Result, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		line := 0
		_, _ = fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &line)
		return nil, &Error{File: name, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	res := &Result{}
	if len(doc.Content) == 0 {
		return res, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: top.Line, Msg: "the file must be a mapping (version: 3, projects: [...])"}
	}
	p := &parser{file: name, res: res}
	var projects *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "version":
			if v.Value != "3" {
				return nil, &Error{File: name, Line: v.Line, Key: "version", Msg: fmt.Sprintf("version %q: atoll reads Atlantis' repo configuration version 3", v.Value)}
			}
		case "projects":
			projects = v
		default:
			p.other(topLevel, k.Value, k)
		}
	}
	if projects != nil {
		if err := p.projects(projects); err != nil {
			return nil, err
		}
	}
	return res, nil
}

type parser struct {
	file string
	res  *Result
}

// other notes a key with no translation: what atoll does, what to do.
func (p *parser) other(known map[string][2]string, key string, k *yaml.Node, prefix ...string) {
	full := strings.Join(append(prefix, key), ".")
	if m, ok := known[key]; ok {
		p.res.Notes = append(p.res.Notes, Note{Key: full, Line: k.Line, Msg: "not used: " + m[0], Fix: m[1]})
		return
	}
	p.res.Notes = append(p.res.Notes, Note{Key: full, Line: k.Line, Msg: "not an Atlantis key atoll knows; ignored"})
}

func (p *parser) errf(n *yaml.Node, key, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) projects(list *yaml.Node) error {
	if list.Kind != yaml.SequenceNode {
		return p.errf(list, "projects", "must be a list of projects")
	}
	groups := map[int][]string{} // execution_order_group -> project refs
	groupOf := map[int]int{}     // index in res.Projects -> group
	seen := map[string]int{}     // dir -> index, for same-dir workspaces
	names := map[string]bool{}
	for i, n := range list.Content {
		key := fmt.Sprintf("projects[%d]", i)
		if n.Kind != yaml.MappingNode {
			return p.errf(n, key, "must be a mapping with at least dir:")
		}
		pr := Project{Index: i, Line: n.Line}
		group, hasGroup := 0, false
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			switch k.Value {
			case "dir":
				pr.Dir = v.Value
			case "name":
				pr.Name = v.Value
			case "workspace":
				if v.Value != "default" {
					pr.Workspace = v.Value
				}
			case "depends_on":
				deps, err := p.strings(v, key+".depends_on")
				if err != nil {
					return err
				}
				pr.DependsOn = append(pr.DependsOn, deps...)
			case "execution_order_group":
				if _, err := fmt.Sscanf(v.Value, "%d", &group); err != nil || v.Kind != yaml.ScalarNode {
					return p.errf(v, key+".execution_order_group", "%q is not a whole number", v.Value)
				}
				hasGroup = true
			case "autoplan":
				if err := p.autoplan(v, key, &pr); err != nil {
					return err
				}
			default:
				p.other(projectLevel, k.Value, k, key)
			}
		}
		if pr.Dir == "" {
			return p.errf(n, key+".dir", "every Atlantis project needs a dir")
		}
		dir, err := p.dir(n, key, pr.Dir)
		if err != nil {
			return err
		}
		pr.Dir = dir
		var watch []string
		for j, g := range pr.Watch {
			if strings.HasPrefix(g, "!") {
				p.res.Notes = append(p.res.Notes, Note{Key: fmt.Sprintf("%s.autoplan.when_modified[%d]", key, j), Line: n.Line,
					Msg: fmt.Sprintf("%q excludes files: atoll's watch globs only add them, so it is not used", g), Fix: "a project's own files and modules always affect it; exclude: drops whole directories"})
				continue
			}
			w, ok := joinGlob(dir, g)
			if !ok {
				p.res.Notes = append(p.res.Notes, Note{Key: fmt.Sprintf("%s.autoplan.when_modified[%d]", key, j), Line: n.Line,
					Msg: fmt.Sprintf("%q leaves the repository (from %s): not used", g, dir), Fix: "name the files inside the repository"})
				continue
			}
			watch = append(watch, w)
		}
		pr.Watch = compact(watch, dir)
		if prev, dup := seen[dir]; dup {
			other := p.res.Projects[prev]
			p.res.Notes = append(p.res.Notes, Note{Key: key, Line: n.Line,
				Msg: fmt.Sprintf("%s is already a project (workspace %s): atoll plans one workspace per directory, so this entry (workspace %s) is not used", dir, orDefault(other.Workspace), orDefault(pr.Workspace)),
				Fix: "give each workspace its own directory (a small root module calling a shared module)"})
			if pr.Name != "" {
				names[pr.Name] = false // a reference to it is dropped below
			}
			continue
		}
		if pr.Name != "" {
			names[pr.Name] = true
		}
		seen[dir] = len(p.res.Projects)
		if hasGroup {
			ref := pr.Name
			if ref == "" {
				ref = dir
			}
			groups[group] = append(groups[group], ref)
			groupOf[len(p.res.Projects)] = group
		}
		p.res.Projects = append(p.res.Projects, pr)
	}
	// execution_order_group: a project runs after every project of the
	// nearest lower group, which runs after the one below it.
	var order []int
	for g := range groups {
		order = append(order, g)
	}
	sort.Ints(order)
	for i := range p.res.Projects {
		g, ok := groupOf[i]
		if !ok {
			continue
		}
		idx := sort.SearchInts(order, g)
		if idx == 0 {
			continue
		}
		p.res.Projects[i].DependsOn = append(p.res.Projects[i].DependsOn, groups[order[idx-1]]...)
	}
	for i := range p.res.Projects {
		deps := p.res.Projects[i].DependsOn[:0]
		for _, d := range p.res.Projects[i].DependsOn {
			if ok, known := names[d]; known && !ok {
				continue // names a dropped same-directory entry
			}
			if !contains(deps, d) {
				deps = append(deps, d)
			}
		}
		p.res.Projects[i].DependsOn = deps
	}
	return nil
}

func (p *parser) autoplan(v *yaml.Node, key string, pr *Project) error {
	if v.Kind != yaml.MappingNode {
		return p.errf(v, key+".autoplan", "must be a mapping (enabled:, when_modified:)")
	}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		switch k.Value {
		case "when_modified":
			globs, err := p.strings(val, key+".autoplan.when_modified")
			if err != nil {
				return err
			}
			pr.Watch = globs
		case "enabled":
			if val.Value == "false" {
				p.res.Notes = append(p.res.Notes, Note{Key: key + ".autoplan.enabled", Line: k.Line,
					Msg: "atoll has no autoplan to turn off: a project is planned when a command names it or it is affected",
					Fix: "exclude: it in atoll.yaml if it should never be planned"})
			}
		default:
			p.other(autoplanLevel, k.Value, k, key+".autoplan")
		}
	}
	return nil
}

func (p *parser) strings(v *yaml.Node, key string) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, key, "must be a list")
	}
	var out []string
	for i, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Value == "" {
			return nil, p.errf(e, fmt.Sprintf("%s[%d]", key, i), "must be a non-empty string")
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// dir checks and cleans a project directory: relative, inside the
// repository, no control characters.
func (p *parser) dir(n *yaml.Node, key, d string) (string, error) {
	if strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", p.errf(n, key+".dir", "%q holds a control character", d)
	}
	if modsource.IsAbsolute(d) || strings.HasPrefix(d, "/") {
		return "", p.errf(n, key+".dir", "%q is absolute: Atlantis dirs are relative to the repository root", d)
	}
	c := path.Clean(strings.TrimPrefix(d, "./"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", p.errf(n, key+".dir", "%q leaves the repository", d)
	}
	return c, nil
}

// joinGlob makes a project-relative when_modified glob relative to the
// repository root; false when it climbs out of the repository.
func joinGlob(dir, g string) (string, bool) {
	if strings.HasPrefix(g, "/") {
		return "", false
	}
	j := path.Join(dir, g)
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", false
	}
	return j, true
}

// compact drops globs atoll covers anyway (files directly in the project
// directory, which it always tracks) and duplicates, keeping the order.
func compact(globs []string, dir string) []string {
	own := map[string]bool{}
	for _, g := range []string{"*.tf", "*.tf*", "*.tf.json", "*.tfvars", "*.tfvars.json", ".terraform.lock.hcl"} {
		own[path.Join(dir, g)] = true
	}
	var out []string
	for _, g := range globs {
		if g == "" || own[g] || contains(out, g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func orDefault(ws string) string {
	if ws == "" {
		return "default"
	}
	return ws
}
