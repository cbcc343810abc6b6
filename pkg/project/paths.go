package project

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// unsafeRune names the first character of s that would break a line of
// output: a control character (newline, carriage return, tab, escape,
// DEL, C1 controls), a Unicode line or paragraph separator, or a byte that
// is not UTF-8 (JSON could not carry it exactly). ok is false when s has
// none.
func unsafeRune(s string) (what string, ok bool) {
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
	what, bad := unsafeRune(dir)
	if !bad {
		return nil
	}
	return &Error{
		Msg:  fmt.Sprintf("%s %q contains %s: atoll prints directories one per line (for shell loops) and in tables, which such a name would split or corrupt", kind, dir, what),
		Hint: fix,
	}
}
