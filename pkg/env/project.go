package env

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Project is the environment one project's Terraform runs with.
type Project struct {
	// Vars is Terraform's whole environment (nothing else is inherited):
	// the caller's base with the .envrc's changes, less TF_CLI_ARGS*,
	// which are in Args.
	Vars map[string]string
	// Args are each command's arguments from the environment (see Args).
	Args map[string][]Arg
	// Envrc names the variables the project's .envrc set, changed or unset.
	Envrc []string
	// Passed names the caller's project-specific variables kept by env.pass.
	Passed []string

	// bound are the variables the plan is bound to, with their values.
	bound map[string]string
}

// ForProject is the environment of a project: the caller's base with the
// changes its .envrc made (nil: unset; direnv's own DIRENV_* are left out).
func ForProject(c *Caller, changes map[string]*string) (*Project, error) {
	vars := maps.Clone(c.Base)
	p := &Project{Args: map[string][]Arg{}, Passed: c.Passed, bound: map[string]string{}}
	for k, v := range changes {
		if direnvOwn(k) {
			continue
		}
		p.Envrc = append(p.Envrc, k)
		if v == nil {
			delete(vars, k)
			p.bound[k] = "\x00unset"
			continue
		}
		vars[k] = *v
	}
	sort.Strings(p.Envrc)
	for _, cmd := range Commands {
		args, err := Args(vars, cmd)
		if err != nil {
			return nil, err
		}
		p.Args[cmd] = args
	}
	// The plan is bound to what configures Terraform: what the .envrc
	// gives, Terraform's own variables, and what env.pass lets through.
	// The rest of the caller's environment (PATH, HOME, a CI job's ids)
	// differs from one shell to the next without changing the plan.
	copies := tfenvCopies(vars)
	for k, v := range vars {
		bind := strings.HasPrefix(k, "TF_") || slices.Contains(p.Envrc, k) || slices.Contains(p.Passed, k)
		if src, ok := copies[k]; ok && !slices.Contains(p.Envrc, src) && !slices.Contains(p.Passed, src) {
			// tfenv's copy of a variable of the shell (TF_VAR_path of
			// PATH) is bound only where that variable is.
			bind = false
		}
		if bind {
			p.bound[k] = v
		}
		if k == "TF_CLI_ARGS" || strings.HasPrefix(k, "TF_CLI_ARGS_") {
			delete(vars, k)
		}
	}
	p.Vars = vars
	return p, nil
}

// tfenvCopies maps each TF_VAR_* that holds the same value as a variable
// tfenv would have made it from (TF_VAR_aws_region from AWS_REGION) to that
// variable.
func tfenvCopies(vars map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		if strings.HasPrefix(k, "TF_") {
			continue
		}
		n := strings.Trim(underscores().ReplaceAllString(strings.ToLower(k), "_"), "_")
		if c, ok := vars["TF_VAR_"+n]; ok && c == v && n != "" {
			out["TF_VAR_"+n] = k
		}
	}
	return out
}

// Digests are a salted hash of each variable the plan is bound to, for
// the plan record: values are never written, and the salt keeps equal
// values in two records from looking equal.
func (p *Project) Digests(salt string) map[string]string {
	out := make(map[string]string, len(p.bound))
	for k, v := range p.bound {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%s", salt, k, v)
		out[k] = hex.EncodeToString(h.Sum(nil))[:32]
	}
	return out
}

// Hash combines digests into one value.
func Hash(digests map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(digests)) {
		fmt.Fprintf(h, "%s=%s\x00", k, digests[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Changed names the variables whose digests differ between two records
// of the same salt: changed, added or removed.
func Changed(was, now map[string]string) []string {
	var out []string
	for k, v := range was {
		if now[k] != v {
			out = append(out, k)
		}
	}
	for k := range now {
		if _, ok := was[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// secretName matches names whose values are secrets by convention.
var secretName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(secret|passw(or)?d|passphrase|token|credential|private|access_key|api_?key|(^|_)key_id|(^|_)auth($|_)|session|cookie|signature)`)
})

// Secret reports whether a variable's (or backend setting's) value looks
// like a secret by its name.
func Secret(name string) bool { return secretName().MatchString(name) }

// Masked is the value to show for name: secrets as "***".
func Masked(name, value string) string {
	if Secret(name) && value != "" {
		return "***"
	}
	return value
}

// MaskedArg is an argument as shown to people: the value of a secret
// setting (a key=value such as -backend-config=access_key=...) or of an
// argument from a secret-named variable is masked.
func MaskedArg(a Arg) string {
	if a.Value == "" {
		return a.String()
	}
	if k, _, ok := strings.Cut(a.Value, "="); ok && Secret(k) {
		a.Value = k + "=***"
	} else if !ok && Secret(a.From) {
		a.Value = "***"
	}
	return a.String()
}
