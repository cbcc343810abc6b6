package project

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unprintable names the first character of s that would break a line of
// output: a control character (newline, carriage return, tab, escape,
// DEL, C1 controls), a Unicode line or paragraph separator, or a byte that
// is not UTF-8 (JSON could not carry it exactly). ok is false when s has
// none.
func Unprintable(s string) (what string, ok bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return fmt.Sprintf("the byte 0x%02x, which is not UTF-8", s[i]), true
		case r == '\n':
			return "a newline", true
		case r == '\r':
			return "a carriage return", true
		case r == '\t':
			return "a tab", true
		case unicode.IsControl(r):
			return fmt.Sprintf("the control character U+%04X", r), true
		case r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("the line separator U+%04X", r), true
		}
	}
	return "", false
}

func validAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return !(r == utf8.RuneError && size <= 1)
}

// checkPath refuses a project or module directory whose name would split
// or corrupt atoll's output: the piped output of `atoll changed` is one
// directory per line, read by `while read` loops that cd into each.
func checkPath(kind, dir, fix string) error {
	what, bad := Unprintable(dir)
	if !bad {
		return nil
	}
	return &Error{
		Msg:  fmt.Sprintf("%s %q contains %s: atoll prints directories one per line (for shell loops) and in tables, which such a name would split or corrupt", kind, dir, what),
		Hint: fix,
	}
}

// warnOutsideRoots warns about directories outside default roots that
// hold Terraform files and that nothing found calls as a module: when a
// conf/ directory appears, the default roots shrink to it, and projects
// elsewhere would otherwise drop out without a word.
func (d *discovery) warnOutsideRoots(roots []string) {
	var outside []string
	for dir := range d.byDir {
		if !d.hasTerraform(dir) || underRoot(dir, roots) || d.targets[dir] || d.projectDirs[dir] {
			continue
		}
		outside = append(outside, dir)
	}
	if len(outside) == 0 {
		return
	}
	sort.Strings(outside)
	list := strings.Join(outside, ", ")
	if len(outside) > 5 {
		list = strings.Join(outside[:5], ", ") + fmt.Sprintf(" and %d more", len(outside)-5)
	}
	r := strings.Join(roots, ", ")
	d.warnings = append(d.warnings, fmt.Sprintf(
		"%s %s Terraform files but %s outside the roots (%s), so %s: with no roots: in %s, atoll looks only in conf/ once the repository has one. If %s, set roots: (e.g. roots: [%s, %s]) or declare %s under projects:; if not, set roots: [%s] to silence this",
		list, plural(len(outside), "holds", "hold"), plural(len(outside), "is", "are"), r, plural(len(outside), "not a project", "not projects"), cfgName(d.cfg),
		plural(len(outside), "it is a project", "they are projects"), r, topDirs(outside), plural(len(outside), "it", "them"), r))
}

// topDirs lists the top-level directories of sorted paths, once each.
func topDirs(paths []string) string {
	var out []string
	for _, p := range paths {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[:i]
		}
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
