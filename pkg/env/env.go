// Package env decides the environment each project's Terraform runs with:
// what is dropped from the caller's environment, what the project's .envrc
// adds, and how tfenv's TF_CLI_* variables map onto Terraform arguments.
// Everything here is a pure function of its inputs; running direnv is the
// thin adapter in direnv.go.
package env

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Caller is the caller's environment with everything project-specific
// taken out: the base every project's environment starts from.
type Caller struct {
	// Base is what every project starts from.
	Base map[string]string
	// Undone names the variables direnv had set or changed for the
	// caller's directory (DIRENV_DIFF), restored to the shell's own.
	Undone []string
	// Dropped names the caller's project-specific variables left out.
	Dropped []string
	// Passed names the project-specific variables kept by env.pass.
	Passed []string
}

// projectSpecific matches the variables that configure one project's
// Terraform: the arguments Terraform reads from the environment, tfenv's
// inputs, where Terraform keeps its data, the workspace, and geodesic's
// `use terraform` backend settings. TF_CLI_CONFIG_FILE, TF_PLUGIN_CACHE_DIR
// and TF_VAR_* are not: they are the user's or the run's, not a project's.
var projectSpecific = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(` + strings.Join([]string{
		`TF_CLI_ARGS(_.*)?`,
		`TF_CLI_(INIT|PLAN|APPLY|DESTROY|DEFAULT)(_.*)?`,
		`TF_DATA_DIR`, `TF_WORKSPACE`, `TF_FROM_MODULE`, `TF_MODULE_CACHE`,
		`TF_BUCKET(_.*)?`, `TF_STATE_FILE`, `TF_FILE`, `TF_DYNAMODB_TABLE`,
	}, "|") + `)$`)
})

// ProjectSpecific reports whether a variable configures one project's
// Terraform, so that a caller's value must not reach other projects.
func ProjectSpecific(name string) bool { return projectSpecific().MatchString(name) }

// direnvOwn are direnv's bookkeeping variables: they describe the caller's
// loaded directory and would make direnv unload it in a project. Its
// settings (DIRENV_CONFIG, DIRENV_LOG_FORMAT, ...) are the user's and stay.
func direnvOwn(name string) bool {
	switch name {
	case "DIRENV_DIR", "DIRENV_FILE", "DIRENV_DIFF", "DIRENV_WATCHES", "DIRENV_IN_ENVRC", "DIRENV_DUMP_FILE_PATH":
		return true
	}
	return false
}

// FromCaller takes the caller's environment (os.Environ) apart: direnv's
// changes for the caller's directory are undone, DIRENV_* removed, and
// project-specific variables dropped unless a pattern of pass (names or
// path.Match globs, from env.pass) keeps them.
func FromCaller(environ []string, pass []string) (*Caller, error) {
	vars := Map(environ)
	c := &Caller{Base: vars}
	if diff, ok := vars["DIRENV_DIFF"]; ok && diff != "" {
		d, err := DecodeDiff(diff)
		if err != nil {
			return nil, fmt.Errorf("DIRENV_DIFF (direnv's record of what it loaded for your directory) cannot be read: %w", err)
		}
		c.Undone = d.Undo(vars)
	}
	for k := range vars {
		switch {
		case Matches(pass, k):
			if ProjectSpecific(k) || direnvOwn(k) {
				c.Passed = append(c.Passed, k)
			}
		case direnvOwn(k):
			delete(vars, k)
		case ProjectSpecific(k):
			c.Dropped = append(c.Dropped, k)
			delete(vars, k)
		}
	}
	sort.Strings(c.Dropped)
	sort.Strings(c.Passed)
	return c, nil
}

// Matches reports whether name matches one of the patterns (names or
// path.Match globs).
func Matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok || p == name {
			return true
		}
	}
	return false
}

// Map turns KEY=VALUE entries into a map; later entries win.
func Map(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// List turns a map into sorted KEY=VALUE entries.
func List(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Diff is direnv's record of what it changed (DIRENV_DIFF): the values
// before ("p") and after ("n") of every variable it set, changed or unset.
type Diff struct {
	Prev map[string]string `json:"p"`
	Next map[string]string `json:"n"`
}

// DecodeDiff reads a DIRENV_DIFF value: base64url of zlib of JSON.
func DecodeDiff(s string) (*Diff, error) {
	raw, err := base64.URLEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64url: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not zlib: %w", err)
	}
	defer zr.Close()
	// A diff is the size of an environment; more is not one.
	b, err := io.ReadAll(io.LimitReader(zr, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("not zlib: %w", err)
	}
	var d Diff
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("not direnv's JSON: %w", err)
	}
	return &d, nil
}

// EncodeDiff writes d as DIRENV_DIFF does (tests use it to stand in for a
// shell with direnv loaded).
func EncodeDiff(d *Diff) string {
	b, _ := json.Marshal(d)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write(b)
	_ = w.Close()
	return base64.URLEncoding.EncodeToString(z.Bytes())
}

// Undo restores in vars the values from before direnv's changes: what
// direnv set is removed, what it changed or unset gets its old value back.
// It returns the names it touched.
func (d *Diff) Undo(vars map[string]string) []string {
	touched := map[string]bool{}
	for k := range d.Next {
		delete(vars, k)
		touched[k] = true
	}
	for k, v := range d.Prev {
		vars[k] = v
		touched[k] = true
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range touched {
			if !yield(k) {
				return
			}
		}
	})
}
