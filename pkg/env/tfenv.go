package env

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Arg is one Terraform command-line argument and the variable it came from.
type Arg struct {
	// Flag is the flag's name with its dash ("-backend-config"); empty for
	// a positional argument.
	Flag string `json:"flag,omitempty"`
	// Value follows "=" in the argument; HasValue says whether there is one.
	Value    string `json:"value,omitempty"`
	HasValue bool   `json:"has_value,omitempty"`
	// From names the variable that gave the argument.
	From string `json:"from"`
}

// String is the argument as Terraform sees it.
func (a Arg) String() string {
	switch {
	case a.Flag == "":
		return a.Value
	case a.HasValue:
		return a.Flag + "=" + a.Value
	}
	return a.Flag
}

// Commands are the Terraform commands atoll runs with a project's arguments.
var Commands = []string{"init", "plan", "apply"}

var (
	tfenvBackend    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^TF_CLI_INIT_BACKEND_CONFIG_(.+)$`) })
	tfenvOption     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^TF_CLI_(INIT|PLAN|APPLY|DESTROY)_(.+)$`) })
	tfenvPositional = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^TF_CLI_(INIT|PLAN|APPLY|DESTROY)$`) })
	tfenvDefault    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^TF_CLI_DEFAULT_(.+)$`) })
	underscores     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`_+`) })
)

// tfenvArg maps one of tfenv's TF_CLI_* variables to the command it is for
// ("" for every command) and the argument it means, as cloudposse/tfenv
// does: TF_CLI_INIT_BACKEND_CONFIG_KEY=x is init's -backend-config=key=x,
// TF_CLI_PLAN_PARALLELISM=2 is plan's -parallelism=2 (a value of "true" or
// "" makes a bare flag), TF_CLI_PLAN=x is a positional argument, and
// TF_CLI_DEFAULT_NO_COLOR=true is -no-color for every command.
func tfenvArg(name, value string) (command string, a Arg, ok bool) {
	flag := func(s string) string { return "-" + strings.ToLower(underscores().ReplaceAllString(s, "-")) }
	withValue := value != "" && value != "true"
	if m := tfenvBackend().FindStringSubmatch(name); m != nil {
		a := Arg{Flag: "-backend-config", Value: strings.ToLower(m[1]), HasValue: true, From: name}
		if value != "" {
			a.Value += "=" + value
		}
		return "init", a, true
	}
	if m := tfenvOption().FindStringSubmatch(name); m != nil {
		return strings.ToLower(m[1]), Arg{Flag: flag(m[2]), Value: valueIf(withValue, value), HasValue: withValue, From: name}, true
	}
	if m := tfenvPositional().FindStringSubmatch(name); m != nil {
		if value == "" {
			return "", Arg{}, false
		}
		return strings.ToLower(m[1]), Arg{Value: value, From: name}, true
	}
	if m := tfenvDefault().FindStringSubmatch(name); m != nil {
		return "", Arg{Flag: flag(m[1]), Value: valueIf(withValue, value), HasValue: withValue, From: name}, true
	}
	return "", Arg{}, false
}

func valueIf(ok bool, v string) string {
	if ok {
		return v
	}
	return ""
}

// Args returns the arguments Terraform's command (init, plan or apply)
// gets in an environment, in the order Terraform would see them: those of
// TF_CLI_ARGS, then TF_CLI_ARGS_<command>, then tfenv's TF_CLI_* inputs
// that `use tfenv` did not already turn into those two (where it ran, its
// TF_CLI_ARGS_<command> holds them; where it did not, atoll maps them the
// way tfenv does).
func Args(vars map[string]string, command string) ([]Arg, error) {
	var out []Arg
	seen := map[string]bool{}
	for _, name := range []string{"TF_CLI_ARGS", "TF_CLI_ARGS_" + command} {
		v, ok := vars[name]
		if !ok {
			continue
		}
		words, err := SplitArgs(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i := 0; i < len(words); i++ {
			a := parseArg(words[i], name)
			// `-var name=x` is `-var=name=x`: these flags take the next word.
			if valueFlags[a.Flag] && !a.HasValue && i+1 < len(words) {
				i++
				a.Value, a.HasValue = words[i], true
			}
			seen[a.String()] = true
			out = append(out, a)
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		if strings.HasPrefix(k, "TF_CLI_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var positional []Arg
	for _, k := range names {
		cmd, a, ok := tfenvArg(k, vars[k])
		if !ok || (cmd != "" && cmd != command) || seen[a.String()] {
			continue
		}
		if a.Flag == "" {
			positional = append(positional, a)
			continue
		}
		out = append(out, a)
	}
	return append(out, positional...), nil
}

// valueFlags are Terraform's flags that take a value, which may be the
// next word.
var valueFlags = map[string]bool{
	"-var": true, "-var-file": true, "-target": true, "-replace": true, "-backend-config": true,
	"-from-module": true, "-lock-timeout": true, "-parallelism": true, "-out": true, "-state": true,
	"-state-out": true, "-backup": true, "-plugin-dir": true, "-chdir": true, "-generate-config-out": true,
	"-lockfile": true, "-exclude": true,
}

// parseArg splits a word of TF_CLI_ARGS* into flag and value.
func parseArg(w, from string) Arg {
	if !strings.HasPrefix(w, "-") {
		return Arg{Value: w, From: from}
	}
	flag, value, has := strings.Cut(w, "=")
	// Terraform accepts --flag as -flag.
	if strings.HasPrefix(flag, "--") {
		flag = flag[1:]
	}
	return Arg{Flag: flag, Value: value, HasValue: has, From: from}
}

// SplitArgs splits a TF_CLI_ARGS value into words as Terraform does: at
// white space, with single and double quotes and backslash escapes.
func SplitArgs(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if escaped {
		return nil, fmt.Errorf("trailing backslash in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// FromModule returns the -from-module source among args, "" if none.
func FromModule(args []Arg) string {
	src := ""
	for _, a := range args {
		if a.Flag == "-from-module" {
			src = a.Value
		}
	}
	return src
}
