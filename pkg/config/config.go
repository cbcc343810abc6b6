// Package config loads atoll's settings: command-line flags override ATOLL_*
// environment variables, which override atoll.yaml at the repository root,
// which overrides the defaults. Every invocation gets its own viper instance.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/atlantis"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/modsource"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/bmatcuk/doublestar/v4"
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// FileName is the configuration file atoll reads at the repository root.
const FileName = "atoll.yaml"

// Committed is the repository-relative name of the committed file the
// settings come from: atlantis.yaml when they were imported from it,
// else atoll.yaml.
func (c *Config) Committed() string {
	if c != nil && c.Imported != "" {
		return c.Imported
	}
	return FileName
}

// Config is the resolved configuration.
type Config struct {
	// Base is the ref to compare against; empty means "find the default".
	Base string `mapstructure:"base" json:"base,omitempty"`
	// Roots are the directories searched for projects; empty means "conf"
	// when the repository has one (geodesic layout), else the whole repository.
	Roots []string `mapstructure:"roots" json:"roots,omitempty"`
	// Exclude are globs of directories never scanned for projects.
	Exclude []string `mapstructure:"exclude" json:"exclude,omitempty"`
	// Watch are globs whose changes affect every project.
	Watch []string `mapstructure:"watch" json:"watch,omitempty"`
	// Projects declare or adjust single projects.
	Projects []Project `mapstructure:"projects" json:"projects,omitempty"`
	// Workdir is the root of atoll's scratch checkouts and plan records.
	Workdir string `mapstructure:"workdir" json:"-"`
	// TerraformBin is the Terraform (or OpenTofu) binary to run.
	TerraformBin string `mapstructure:"terraform_bin" json:"-"`
	// Guard configures atoll guard.
	Guard Guard `mapstructure:"guard" json:"-"`
	// Env configures the environment each project's Terraform gets.
	Env Env `mapstructure:"env" json:"-"`
	// LockOn says when atoll takes project locks: apply (the default),
	// plan, or never.
	LockOn string `mapstructure:"lock_on" json:"-"`
	// LedgerRemote is the git remote that holds locks and the apply
	// ledger (refs/atoll/*); empty means origin when it exists, else the
	// local repository.
	LedgerRemote string `mapstructure:"ledger_remote" json:"-"`

	// File is the configuration file that was read, empty when none exists.
	File string `mapstructure:"-" json:"-"`
	// Imported is atlantis.yaml when the projects were read from it (the
	// repository has no atoll.yaml); Notes then lists what was not used.
	Imported string   `mapstructure:"-" json:"-"`
	Notes    []string `mapstructure:"-" json:"-"`
}

// Guard configures atoll guard.
type Guard struct {
	// Mode of the up-to-date check: strict (any new commit on the base
	// fails) or targeted (only commits that affect this branch's projects).
	Mode string `mapstructure:"mode"`
	// Skip disables checks by name.
	Skip []string `mapstructure:"skip"`
}

// Env configures each project's environment.
type Env struct {
	// Pass names (or globs of) the caller's project-specific variables
	// (TF_CLI_ARGS*, TF_DATA_DIR, ...) to pass on to every project anyway.
	Pass []string `mapstructure:"pass"`
	// Envrc is how projects' .envrc files are evaluated: "direnv" (the
	// default: by the direnv on PATH, an error when there is none) or
	// "ignore" (not at all).
	Envrc string `mapstructure:"envrc"`
}

// EnvrcModes are the values of env.envrc.
var EnvrcModes = []string{"direnv", "ignore"}

// LockOnValues are the valid values of lock_on.
var LockOnValues = []string{"apply", "plan", "never"}

// EffectiveLockOn is lock_on with its default.
func (c *Config) EffectiveLockOn() string {
	if c.LockOn == "" {
		return "apply"
	}
	return c.LockOn
}

// GuardChecks are the names of atoll guard's checks.
var GuardChecks = []string{"up-to-date", "clean", "planned", "applied", "tracked", "locks"}

// Project is one entry under projects:.
type Project struct {
	Dir       string   `mapstructure:"dir" json:"dir"`
	Name      string   `mapstructure:"name" json:"name,omitempty"`
	Watch     []string `mapstructure:"watch" json:"watch,omitempty"`
	DependsOn []string `mapstructure:"depends_on" json:"depends_on,omitempty"`
	// Source, when set, is copied in with terraform init -from-module
	// before the project's own files are laid over it (geodesic style).
	Source string `mapstructure:"source" json:"source,omitempty"`
	// Workspace is the Terraform workspace plan and apply select (created
	// on first use); empty means "default".
	Workspace string `mapstructure:"workspace" json:"workspace,omitempty"`
}

// Error is an invalid configuration: it names the file, the key and, when
// it can be found, the line.
type Error struct {
	File string
	Key  string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "configuration"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Load reads the configuration for the repository at root. file overrides
// the location of atoll.yaml; flags (may be nil) are bound by name: a flag
// named "base" overrides the key base.
func Load(root, file string, flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	v.SetEnvPrefix("ATOLL")
	// Only the variables bound here are read: viper's AutomaticEnv would
	// also let ATOLL_PROJECTS replace projects: (a key with no variable).
	for _, k := range []string{"base", "roots", "exclude", "watch", "workdir", "terraform_bin", "lock_on", "ledger_remote"} {
		_ = v.BindEnv(k)
	}
	// Nested keys need their variable named: ATOLL_GUARD_MODE, ATOLL_GUARD_SKIP.
	_ = v.BindEnv("guard.mode", "ATOLL_GUARD_MODE")
	_ = v.BindEnv("guard.skip", "ATOLL_GUARD_SKIP")
	_ = v.BindEnv("env.pass", "ATOLL_ENV_PASS")
	_ = v.BindEnv("env.envrc", "ATOLL_ENV_ENVRC")
	if flags != nil {
		for key, flag := range map[string]string{"base": "base", "workdir": "workdir", "terraform_bin": "terraform-bin"} {
			if f := flags.Lookup(flag); f != nil {
				_ = v.BindPFlag(key, f)
			}
		}
	}

	explicit := file != ""
	if !explicit {
		file = filepath.Join(root, FileName)
	}
	var raw []byte
	var imported *Config
	if !explicit {
		// No atoll.yaml but an atlantis.yaml: its projects, translated.
		alt := filepath.Join(root, atlantis.FileName)
		if _, err := os.Lstat(file); errors.Is(err, os.ErrNotExist) {
			if b, err := safefs.ReadFileFollow(alt, 4<<20); err == nil {
				if imported, err = fromAtlantis(alt, b); err != nil {
					return nil, err
				}
				raw = b
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, &Error{File: alt, Msg: fmt.Sprintf("cannot read: %v", err)}
			}
		}
	} else if isAtlantis(file) {
		b, err := safefs.ReadFileFollow(file, 4<<20)
		if err != nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("cannot read: %v", err)}
		}
		if imported, err = fromAtlantis(file, b); err != nil {
			return nil, err
		}
		raw = b
	}
	if imported != nil {
		// Settings other than projects come from the environment and flags.
	} else if b, err := safefs.ReadFileFollow(file, 4<<20); err == nil {
		raw = b
		if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
			return nil, yamlError(file, b, err)
		}
		if err := checkShape(file, b); err != nil {
			return nil, err
		}
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		return nil, &Error{File: file, Msg: fmt.Sprintf("cannot read: %v", err)}
	} else {
		file = ""
	}

	var c Config
	if err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.ErrorUnset = false
	}); err != nil {
		return nil, decodeError(file, raw, err)
	}
	c.File = file
	if imported != nil {
		c.File, c.Imported, c.Notes, c.Projects = imported.File, imported.Imported, imported.Notes, imported.Projects
	}
	c.normalize()
	if err := c.Validate(raw); err != nil {
		return nil, envError(err)
	}
	return &c, nil
}

// normalize trims the spaces a comma-separated environment list leaves and
// the trailing slash of a directory glob ("policies/" means "policies").
func (c *Config) normalize() {
	for _, list := range []*[]string{&c.Roots, &c.Exclude, &c.Watch, &c.Env.Pass} {
		for i, v := range *list {
			v = strings.TrimSpace(v)
			if len(v) > 1 {
				v = strings.TrimSuffix(v, "/")
			}
			(*list)[i] = v
		}
	}
	for i := range c.Projects {
		for j, g := range c.Projects[i].Watch {
			c.Projects[i].Watch[j] = strings.TrimSuffix(strings.TrimSpace(g), "/")
		}
	}
}

// envError blames an ATOLL_* variable, not the file, for a bad value that
// came from the environment.
func envError(err error) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Key == "" {
		return err
	}
	top := strings.SplitN(strings.SplitN(ce.Key, "[", 2)[0], ".", 2)[0]
	name := "ATOLL_" + strings.ToUpper(top)
	if os.Getenv(name) != "" {
		return &Error{File: "environment variable " + name, Key: ce.Key, Msg: ce.Msg}
	}
	return err
}

// Validate checks values; raw (may be nil) is the file's bytes, used to
// point at the offending line.
func (c *Config) Validate(raw []byte) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: c.File, Key: key, Line: lineOf(raw, key), Msg: fmt.Sprintf(format, args...)}
	}
	if c.Base != "" {
		if err := git.CheckRevision(c.Base); err != nil {
			var re *git.RevisionError
			if errors.As(err, &re) {
				return bad("base", "%s; %s", re.Error(), git.RevisionHelp)
			}
			return bad("base", "%v", err)
		}
	}
	for i, r := range c.Roots {
		if msg := checkRelDir(r); msg != "" {
			return bad(fmt.Sprintf("roots[%d]", i), "%s", msg)
		}
	}
	globs := map[string][]string{"exclude": c.Exclude, "watch": c.Watch}
	for _, k := range []string{"exclude", "watch"} {
		for i, g := range globs[k] {
			if msg := checkGlob(g); msg != "" {
				return bad(fmt.Sprintf("%s[%d]", k, i), "%s", msg)
			}
		}
	}
	switch c.Guard.Mode {
	case "", "strict", "targeted":
	default:
		return bad("guard.mode", "%q is not strict or targeted", c.Guard.Mode)
	}
	if c.LockOn != "" && !slices.Contains(LockOnValues, c.LockOn) {
		return bad("lock_on", "%q is not one of %s", c.LockOn, strings.Join(LockOnValues, ", "))
	}
	if strings.ContainsAny(c.LedgerRemote, " \t\n:/") {
		return bad("ledger_remote", "%q is not a remote name (git remote -v lists them)", c.LedgerRemote)
	}
	for i, name := range c.Guard.Skip {
		known := false
		for _, k := range GuardChecks {
			known = known || k == name
		}
		if !known {
			return bad(fmt.Sprintf("guard.skip[%d]", i), "%q is not a check (%s)", name, strings.Join(GuardChecks, ", "))
		}
	}
	switch c.Env.Envrc {
	case "", "direnv", "ignore":
	default:
		return bad("env.envrc", "%q is not direnv or ignore", c.Env.Envrc)
	}
	for i, g := range c.Env.Pass {
		if _, err := path.Match(g, ""); err != nil || strings.TrimSpace(g) == "" {
			return bad(fmt.Sprintf("env.pass[%d]", i), "%q is not a variable name or glob", g)
		}
	}
	dirs, names := map[string]int{}, map[string]int{}
	for i, p := range c.Projects {
		key := fmt.Sprintf("projects[%d]", i)
		if p.Dir == "" {
			return bad(key+".dir", "every project needs a dir (the project directory relative to the repository root)")
		}
		if msg := checkRelDir(p.Dir); msg != "" {
			return bad(key+".dir", "%s", msg)
		}
		c.Projects[i].Dir = path.Clean(p.Dir)
		if j, dup := dirs[c.Projects[i].Dir]; dup {
			return bad(key+".dir", "%q is already declared by projects[%d]", p.Dir, j)
		}
		dirs[c.Projects[i].Dir] = i
		if p.Name != "" {
			if strings.ContainsAny(p.Name, " \t\n") {
				return bad(key+".name", "%q: a name may not contain white space", p.Name)
			}
			if j, dup := names[p.Name]; dup {
				return bad(key+".name", "%q is already used by projects[%d]", p.Name, j)
			}
			names[p.Name] = i
		}
		for j, g := range p.Watch {
			if msg := checkGlob(g); msg != "" {
				return bad(fmt.Sprintf("%s.watch[%d]", key, j), "%s", msg)
			}
		}
		for j, d := range p.DependsOn {
			if d == "" {
				return bad(fmt.Sprintf("%s.depends_on[%d]", key, j), "empty project reference")
			}
		}
		if msg := checkSource(c.Projects[i].Dir, p.Source); msg != "" {
			return bad(key+".source", "%s", msg)
		}
	}
	return nil
}

func checkRelDir(d string) string {
	switch {
	case d == "":
		return "empty path"
	case path.IsAbs(d) || filepath.IsAbs(d):
		return fmt.Sprintf("%q is absolute: write it relative to the repository root", d)
	case d == ".." || strings.HasPrefix(path.Clean(d), "../"):
		return fmt.Sprintf("%q leaves the repository", d)
	}
	return ""
}

// checkSource refuses a -from-module source that names the file system
// outside the repository: changes there could never be seen, and what is
// planned would depend on the machine that runs Terraform. Remote sources
// (registry, git::, s3::, ...) are pinned by their address.
func checkSource(dir, src string) string {
	const fix = "vendor the module into the repository and name it relative to the project directory (../../modules/x), or give it a remote source pinned to a version"
	if modsource.IsAbsolute(src) {
		return fmt.Sprintf("%q is an absolute path, outside the repository, which atoll cannot track: %s", src, fix)
	}
	if !modsource.IsLocal(src) {
		return ""
	}
	if target, inside := modsource.Join(dir, src); !inside {
		return fmt.Sprintf("%q resolves (from %s) to %s, outside the repository, which atoll cannot track: %s", src, dir, target, fix)
	}
	return ""
}

func checkGlob(g string) string {
	if g == "" {
		return "empty glob"
	}
	if strings.HasPrefix(g, "/") || strings.HasPrefix(g, "../") {
		return fmt.Sprintf("%q: globs are relative to the repository root", g)
	}
	if !doublestar.ValidatePattern(g) {
		return fmt.Sprintf("%q is not a valid glob (doublestar syntax: *, **, ?, [abc], {a,b})", g)
	}
	return ""
}

// Hash identifies the settings that decide which projects exist and what
// affects them; caches are keyed by it.
func (c *Config) Hash() string {
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// ProjectByDir returns the entry for dir, if declared.
func (c *Config) ProjectByDir(dir string) (Project, bool) {
	for _, p := range c.Projects {
		if p.Dir == dir {
			return p, true
		}
	}
	return Project{}, false
}

func yamlError(file string, raw []byte, err error) error {
	msg := err.Error()
	line := 0
	var te *yaml.TypeError
	var n yaml.Node
	if yerr := yaml.Unmarshal(raw, &n); yerr != nil {
		msg = yerr.Error()
		_, _ = fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line)
	} else if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decodeError turns mapstructure's messages ("'projects[0]' has invalid
// keys: nmae", "'roots[0]' expected type 'string', got ...") into errors
// that name the key and its line.
func decodeError(file string, raw []byte, err error) error {
	msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):"))
	msg = strings.TrimSpace(strings.SplitN(msg, "\n", 2)[0])
	prefix, rest := "", msg
	if strings.HasPrefix(msg, "'") {
		if i := strings.Index(msg[1:], "'"); i >= 0 {
			prefix, rest = msg[1:1+i], strings.TrimSpace(msg[2+i:])
		}
	}
	if keys, ok := strings.CutPrefix(rest, "has invalid keys: "); ok {
		key := strings.TrimSpace(strings.Split(keys, ",")[0])
		if prefix != "" {
			key = prefix + "." + key
		}
		return &Error{File: file, Key: key, Line: lineOf(raw, key), Msg: "unknown key; valid keys are " + strings.Join(Keys(), ", ")}
	}
	return &Error{File: file, Key: prefix, Line: lineOf(raw, prefix), Msg: "invalid value: " + rest}
}

// lineOf finds the line of a dotted key such as projects[1].watch in raw YAML.
func lineOf(raw []byte, key string) int {
	if len(raw) == 0 || key == "" {
		return 0
	}
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n := doc.Content[0]
	line := 0
	for _, part := range strings.Split(key, ".") {
		name, idx := part, -1
		if i := strings.Index(part, "["); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			_, _ = fmt.Sscanf(part[i:], "[%d]", &idx)
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// Parse reads a committed atoll.yaml (no flags, no environment): what a
// commit says, for comparing two commits' settings. A name ending in
// atlantis.yaml is read as Atlantis' configuration.
func Parse(name string, raw []byte) (*Config, error) {
	if isAtlantis(name) {
		c, err := fromAtlantis(name, raw)
		if err != nil {
			return nil, err
		}
		c.normalize()
		if err := c.Validate(raw); err != nil {
			return nil, err
		}
		return c, nil
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(raw)); err != nil {
		return nil, yamlError(name, raw, err)
	}
	if err := checkShape(name, raw); err != nil {
		return nil, err
	}
	var c Config
	if err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true }); err != nil {
		return nil, decodeError(name, raw, err)
	}
	c.File = name
	c.normalize()
	if err := c.Validate(raw); err != nil {
		return nil, err
	}
	return &c, nil
}

// Changes compares two commits' settings: the projects whose entries
// differ (by directory), and whether a setting that concerns every project
// (roots, exclude, global watch) changed.
func Changes(old, cur *Config) (projects []string, global bool) {
	if old == nil {
		old = &Config{}
	}
	if cur == nil {
		cur = &Config{}
	}
	global = !slices.Equal(old.Roots, cur.Roots) || !slices.Equal(old.Exclude, cur.Exclude) || !slices.Equal(old.Watch, cur.Watch)
	entries := func(c *Config) map[string]string {
		m := map[string]string{}
		for _, p := range c.Projects {
			b, _ := json.Marshal(p)
			m[p.Dir] = string(b)
		}
		return m
	}
	o, n := entries(old), entries(cur)
	for dir, e := range n {
		if o[dir] != e {
			projects = append(projects, dir)
		}
	}
	for dir := range o {
		if _, ok := n[dir]; !ok {
			projects = append(projects, dir)
		}
	}
	sort.Strings(projects)
	return projects, global
}
