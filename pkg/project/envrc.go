package project

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// The -from-module source of a geodesic project is set in its direnv files.
// A project's .envrc may say `use envrc`, geodesic's helper that sources
// every *.envrc file of the directory there (in name order; a bash glob, so
// not .envrc itself), and the export often sits in terraform.envrc. Two
// variables name the source: TF_CLI_INIT_FROM_MODULE, which Terraform reads
// when exported, and TF_FROM_MODULE, which geodesic's `use terraform' maps
// onto it (a shell variable: it need not be exported).
//
// Change detection does not run direnv: it reads the assignments of those files the
// way the shell would for the plain forms (export NAME=value, NAME=value,
// quoted values, $NAME and ${NAME} of variables assigned earlier in the
// files, comments, indentation). A value it cannot know without running
// the shell (a command substitution, a variable from the environment, a
// parameter expansion) still makes the directory a -from-module project,
// with an unknown source.

const (
	envFromModule   = "TF_CLI_INIT_FROM_MODULE"
	envGeodesicFrom = "TF_FROM_MODULE"
)

// EnvrcSource is what a directory's direnv files say about its
// -from-module source.
type EnvrcSource struct {
	// Source is the value; empty when Known is false.
	Source string
	// Known is false when the value needs the shell to be evaluated.
	Known bool
	// Var is the variable that set it; File and Line where it was set.
	Var  string
	File string
	Line int
	// Value is the assignment's value as written.
	Value string
}

// Where is "file:line" of the assignment.
func (s EnvrcSource) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// envVar is a shell variable as far as the files tell.
type envVar struct {
	value    string
	known    bool
	exported bool
	file     string
	line     int
	raw      string
}

// envrcEval interprets the assignments of direnv files.
type envrcEval struct {
	vars map[string]*envVar
	// read returns the bytes of a file of the directory, one of siblings.
	read     func(name string) ([]byte, error)
	dir      string
	siblings []string
	used     bool
}

// ReadEnvrc evaluates the .envrc of a directory (envrcPath, a repository
// path) and the files of the same directory it sources: with `use envrc`
// (every *.envrc) or `source_env FILE`. read returns a file's bytes by
// repository path; siblings lists the directory's regular files, sorted.
// ok is false when no file sets a source.
func ReadEnvrc(envrcPath string, read func(string) ([]byte, error), siblings []string) (src EnvrcSource, ok bool, err error) {
	e := &envrcEval{vars: map[string]*envVar{}, read: read, dir: path.Dir(envrcPath), siblings: siblings}
	if err := e.file(envrcPath, 0); err != nil {
		return EnvrcSource{}, false, err
	}
	for _, name := range []string{envFromModule, envGeodesicFrom} {
		v := e.vars[name]
		if v == nil || (name == envFromModule && !v.exported) || (v.known && v.value == "") {
			continue
		}
		src := EnvrcSource{Known: v.known, Var: name, File: v.file, Line: v.line, Value: v.raw}
		if v.known {
			src.Source = v.value
		}
		return src, true, nil
	}
	return EnvrcSource{}, false, nil
}

// IsEnvrcInclude reports whether name (a file of the directory) is one
// `use envrc` sources: *.envrc, which as a bash glob skips dot files.
func IsEnvrcInclude(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(base, ".envrc") && !strings.HasPrefix(base, ".")
}

func (e *envrcEval) file(name string, depth int) error {
	b, err := e.read(name)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := lines[i]
		// A continued line joins the next (the value is then not plain).
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + lines[i]
		}
		e.line(name, n, line, depth)
	}
	return nil
}

// line interprets one command; anything that is not an assignment, an
// export, an unset or `use envrc` sets nothing atoll reads.
func (e *envrcEval) line(file string, n int, line string, depth int) {
	words := shellWords(line)
	if len(words) == 0 {
		return
	}
	switch words[0] {
	case "use":
		if len(words) > 1 && words[1] == "envrc" && depth == 0 && !e.used {
			// geodesic's helper sources the *.envrc files once.
			e.used = true
			for _, f := range e.siblings {
				if IsEnvrcInclude(f) {
					_ = e.file(f, depth+1)
				}
			}
		}
		return
	case "source_env", "source_env_if_exists":
		// direnv's helpers; only files of the directory are followed.
		if len(words) == 2 && depth < 4 {
			if name, known := e.expand(words[1]); known {
				p := path.Join(e.dir, name)
				if slices.Contains(e.siblings, p) {
					_ = e.file(p, depth+1)
				}
			}
		}
		return
	case "unset":
		for _, w := range words[1:] {
			delete(e.vars, w)
		}
		return
	case "export", "declare", "typeset", "local", "readonly":
		exported := words[0] == "export"
		for _, w := range words[1:] {
			if strings.HasPrefix(w, "-") {
				exported = exported || strings.Contains(w, "x")
				continue
			}
			e.assign(file, n, line, w, exported)
		}
		return
	}
	// NAME=value [NAME=value ...] alone is an assignment; before a command
	// it only sets that command's environment.
	for _, w := range words {
		if !isAssignment(w) {
			return
		}
	}
	for _, w := range words {
		e.assign(file, n, line, w, false)
	}
}

// assign handles NAME=value (or a bare NAME to export).
func (e *envrcEval) assign(file string, n int, line, word string, exported bool) {
	name, raw, isAssign := strings.Cut(word, "=")
	if !isName(name) {
		return
	}
	v := e.vars[name]
	if !isAssign {
		if exported {
			if v == nil {
				v = &envVar{known: false, file: file, line: n}
				e.vars[name] = v
			}
			v.exported = true
		}
		return
	}
	value, known := e.expand(raw)
	nv := &envVar{value: value, known: known, exported: exported || (v != nil && v.exported), file: file, line: n, raw: raw}
	e.vars[name] = nv
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	return ok && isName(name)
}

// shellWords splits a command line into words, keeping each word's quotes
// (expand reads them), and stops at an unquoted comment or command
// separator.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in := false
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == '#' && !in:
			return words
		case c == ';' || c == '&' || c == '|':
			flush()
			return words
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(c)
			cur.WriteByte(line[i+1])
			i++
			in = true
		case c == '\'' || c == '"':
			end := i + 1
			for end < len(line) && line[end] != c {
				if c == '"' && line[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(line) {
				end = len(line) - 1
			}
			cur.WriteString(line[i : end+1])
			i = end
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return words
}

// expand evaluates a word's quotes and variable references; known is false
// when the shell would need to run something atoll does not.
func (e *envrcEval) expand(w string) (string, bool) {
	var out strings.Builder
	known := true
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch c {
		case '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			out.WriteString(w[i+1 : i+1+end])
			i += end + 1
		case '"':
			j := i + 1
			for ; j < len(w) && w[j] != '"'; j++ {
				switch {
				case w[j] == '\\' && j+1 < len(w) && strings.ContainsRune("$`\"\\", rune(w[j+1])):
					out.WriteByte(w[j+1])
					j++
				case w[j] == '$':
					s, k, adv := e.ref(w[j:])
					out.WriteString(s)
					known = known && k
					j += adv - 1
				case w[j] == '`':
					known = false
				default:
					out.WriteByte(w[j])
				}
			}
			if j >= len(w) {
				return "", false
			}
			i = j
		case '\\':
			if i+1 < len(w) {
				out.WriteByte(w[i+1])
				i++
			}
		case '$':
			s, k, adv := e.ref(w[i:])
			out.WriteString(s)
			known = known && k
			i += adv - 1
		case '`':
			known = false
		case '~':
			// Tilde expansion; assignments are not globbed or split.
			known = known && i > 0
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), known
}

// ref evaluates the reference at the start of s ($NAME, ${NAME}, or
// anything else after a $, which atoll cannot evaluate) and says how many
// bytes it took.
func (e *envrcEval) ref(s string) (value string, known bool, n int) {
	if len(s) < 2 {
		return "$", true, 1
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", false, len(s)
		}
		name := s[2:end]
		if !isName(name) {
			return "", false, end + 1 // ${X:-y}, ${X##*/}, ...
		}
		v := e.vars[name]
		return e.value(v), v != nil && v.known, end + 1
	}
	j := 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > 1 && s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j == 1 {
		if strings.ContainsRune("(0123456789@*#?$!-", rune(s[1])) {
			return "", false, 2 // $(...), positional and special parameters
		}
		return "$", true, 1
	}
	v := e.vars[s[1:j]]
	return e.value(v), v != nil && v.known, j
}

func (e *envrcEval) value(v *envVar) string {
	if v == nil {
		return ""
	}
	return v.value
}

// regularFiles lists the regular files directly in a directory, in the
// order a bash glob gives them: the files direnv files may source.
func regularFiles(files []File) []string {
	var out []string
	for _, f := range files {
		if !f.Symlink && !f.Gitlink {
			out = append(out, f.Path)
		}
	}
	sort.Strings(out)
	return out
}
