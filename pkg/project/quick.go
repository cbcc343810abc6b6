package project

import "strings"

// A quick reader for module calls in native-syntax files.
//
// Building a full HCL syntax tree costs about 0.3 ms for a small file; a
// monorepo with thousands of projects spends seconds on it, only to read
// one attribute of one block type. quickCalls reads just that: top-level
// `module "name" { ... }` blocks and their `source = "literal"` attribute,
// skipping everything else by tracking strings, comments, heredocs and
// bracket depth. Whenever it meets something it does not fully understand
// it says so (ok=false) and the caller falls back to the HCL parser, which
// then also produces the precise file:line:col diagnostic. A differential
// fuzz test holds the two readers to the same answers on every file HCL
// accepts. On a file HCL rejects, the quick reader may still answer when the
// damage is outside what it reads (say, a dangling operator in a resource):
// atoll is not a linter, and `terraform validate` reports those.

type quick struct {
	src  []byte
	pos  int
	line int
}

// quickCalls returns the module calls of src, or ok=false when unsure.
func quickCalls(src []byte) (calls []Call, ok bool) {
	q := &quick{src: src, line: 1}
	for {
		q.skipBlank(true)
		if q.pos >= len(q.src) {
			return calls, true
		}
		ident := q.ident()
		if ident == "" {
			return nil, false
		}
		q.skipBlank(false)
		if q.peek() == '=' && q.peekAt(1) != '=' {
			// A top-level attribute: skip its expression.
			q.pos++
			if !q.skipExpr() {
				return nil, false
			}
			continue
		}
		var labels []string
		for {
			q.skipBlank(false)
			c := q.peek()
			if c == '"' {
				s, lit := q.stringLit()
				if !lit {
					return nil, false
				}
				labels = append(labels, s)
				continue
			}
			if isIdentStart(c) {
				labels = append(labels, q.ident())
				continue
			}
			break
		}
		if q.peek() != '{' {
			return nil, false
		}
		q.pos++
		if ident == "module" {
			if len(labels) != 1 {
				return nil, false
			}
			c, found, sure := q.moduleBody(labels[0])
			if !sure || !found {
				// No source, or an expression: the HCL parser reports it.
				return nil, false
			}
			calls = append(calls, c)
			continue
		}
		if !q.skipUntilClose('}') {
			return nil, false
		}
	}
}

// moduleBody reads a module block's body up to its closing brace.
func (q *quick) moduleBody(name string) (c Call, found, sure bool) {
	c.Name = name
	for {
		q.skipBlank(true)
		if q.pos >= len(q.src) {
			return c, false, false
		}
		if q.peek() == '}' {
			q.pos++
			return c, found, true
		}
		line := q.line
		ident := q.ident()
		if ident == "" {
			return c, false, false
		}
		q.skipBlank(false)
		if q.peek() == '=' && q.peekAt(1) != '=' {
			q.pos++
			if ident != "source" {
				if !q.skipExpr() {
					return c, false, false
				}
				continue
			}
			if found {
				return c, false, false // a duplicate: let HCL say so
			}
			q.skipBlank(false)
			s, lit := q.stringLit()
			if !lit {
				return c, false, false
			}
			q.skipBlank(false)
			if n := q.peek(); n != '\n' && n != 0 && n != '}' {
				return c, false, false // more expression follows the literal
			}
			c.Source, c.Line, found = s, line, true
			continue
		}
		// A nested block (lifecycle, providers...): skip labels and body.
		for q.peek() == '"' || isIdentStart(q.peek()) {
			if q.peek() == '"' {
				if _, lit := q.stringLit(); !lit {
					return c, false, false
				}
			} else {
				q.ident()
			}
			q.skipBlank(false)
		}
		if q.peek() != '{' {
			return c, false, false
		}
		q.pos++
		if !q.skipUntilClose('}') {
			return c, false, false
		}
	}
}

func (q *quick) peek() byte { return q.peekAt(0) }

func (q *quick) peekAt(n int) byte {
	if q.pos+n < len(q.src) {
		return q.src[q.pos+n]
	}
	return 0
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c == '-' || c >= '0' && c <= '9' }

func (q *quick) ident() string {
	start := q.pos
	if !isIdentStart(q.peek()) {
		return ""
	}
	for q.pos < len(q.src) && isIdentChar(q.src[q.pos]) {
		q.pos++
	}
	return string(q.src[start:q.pos])
}

// skipBlank skips spaces and comments; newlines too when nl is true. A line
// comment's newline is left in place when nl is false.
func (q *quick) skipBlank(nl bool) {
	for q.pos < len(q.src) {
		c := q.src[q.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			q.pos++
		case c == '\n':
			if !nl {
				return
			}
			q.line++
			q.pos++
		case c == '#' || c == '/' && q.peekAt(1) == '/':
			for q.pos < len(q.src) && q.src[q.pos] != '\n' {
				q.pos++
			}
		case c == '/' && q.peekAt(1) == '*':
			q.pos += 2
			for q.pos < len(q.src) && !(q.src[q.pos] == '*' && q.peekAt(1) == '/') {
				if q.src[q.pos] == '\n' {
					q.line++
				}
				q.pos++
			}
			q.pos += 2
		default:
			return
		}
	}
}

// stringLit reads a quoted string with no template sequences; lit is false
// for anything else (including interpolation). A string without escapes
// (nearly every module source) is one copy of its bytes.
func (q *quick) stringLit() (string, bool) {
	if q.peek() != '"' {
		return "", false
	}
	q.pos++
	start := q.pos
	var out []byte // nil until the first escape
	for q.pos < len(q.src) {
		c := q.src[q.pos]
		switch {
		case c == '"':
			lit := q.src[start:q.pos]
			q.pos++
			if out == nil {
				return string(lit), true
			}
			return string(out), true
		case c == '\\':
			if out == nil {
				out = append(make([]byte, 0, q.pos-start+16), q.src[start:q.pos]...)
			}
			n := q.peekAt(1)
			switch n {
			case '"', '\\':
				out = append(out, n)
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			default:
				return "", false
			}
			q.pos += 2
		case c == '\n':
			return "", false
		case (c == '$' || c == '%') && q.peekAt(1) == '{':
			return "", false
		default:
			if out != nil {
				out = append(out, c)
			}
			q.pos++
		}
	}
	return "", false
}

// skipString skips a quoted template, interpolations included.
func (q *quick) skipString() bool {
	q.pos++ // opening quote
	for q.pos < len(q.src) {
		c := q.src[q.pos]
		switch {
		case c == '"':
			q.pos++
			return true
		case c == '\n':
			return false
		case c == '\\':
			q.pos += 2
		case (c == '$' || c == '%') && q.peekAt(1) == '{':
			if q.pos > 0 && q.src[q.pos-1] == c {
				q.pos += 2 // $${ and %%{ are escapes
				continue
			}
			q.pos += 2
			if !q.skipUntilClose('}') {
				return false
			}
		default:
			q.pos++
		}
	}
	return false
}

// skipHeredoc skips <<ID or <<-ID through its closing line.
func (q *quick) skipHeredoc() bool {
	q.pos += 2
	if q.peek() == '-' {
		q.pos++
	}
	id := q.ident()
	if id == "" {
		return false
	}
	for q.pos < len(q.src) && q.src[q.pos] != '\n' {
		q.pos++
	}
	for q.pos < len(q.src) {
		q.pos++ // the newline
		q.line++
		start := q.pos
		for q.pos < len(q.src) && q.src[q.pos] != '\n' {
			q.pos++
		}
		if trimSpace(string(q.src[start:q.pos])) == id {
			return true
		}
	}
	return false
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t' || s[j-1] == '\r') {
		j--
	}
	return s[i:j]
}

// skipExpr skips an attribute's expression up to the newline (or closing
// brace of a one-line block) that ends it at bracket depth zero.
func (q *quick) skipExpr() bool {
	depth := 0
	empty := true // an attribute with no value is HCL's error to report
	for q.pos < len(q.src) {
		q.skipBlank(depth > 0)
		if q.pos >= len(q.src) {
			break
		}
		c := q.src[q.pos]
		switch {
		case c == '\n' && depth == 0:
			return !empty
		case c == '}' && depth == 0:
			return !empty // end of a one-line block; the caller consumes it
		}
		empty = false
		if !q.skipToken(&depth) {
			return false
		}
	}
	return depth == 0 && !empty
}

// skipToken skips one string, heredoc, bracket or other character,
// tracking bracket depth; false when the input is not what it seems.
func (q *quick) skipToken(depth *int) bool {
	c := q.src[q.pos]
	switch {
	case c == '"':
		return q.skipString()
	case c == '<' && q.peekAt(1) == '<' && (isIdentStart(q.peekAt(2)) || q.peekAt(2) == '-'):
		return q.skipHeredoc()
	case c == '{' || c == '[' || c == '(':
		*depth++
	case c == '}' || c == ']' || c == ')':
		*depth--
	}
	q.pos++
	return true
}

// skipUntilClose skips to the bracket that closes an already opened one.
func (q *quick) skipUntilClose(close byte) bool {
	depth := 1
	for q.pos < len(q.src) {
		q.skipBlank(true)
		if q.pos >= len(q.src) {
			break
		}
		c := q.src[q.pos]
		if c == '=' && q.danglingAssignment() {
			return false
		}
		if !q.skipToken(&depth) {
			return false
		}
		if depth == 0 {
			return c == close
		}
	}
	return false
}

// danglingAssignment reports whether the '=' at pos is an assignment with
// no value on its line ("input =" then a newline), which HCL rejects.
func (q *quick) danglingAssignment() bool {
	if q.pos > 0 && strings.IndexByte("=!<>", q.src[q.pos-1]) >= 0 {
		return false
	}
	if n := q.peekAt(1); n == '=' || n == '>' {
		return false
	}
	save, line := q.pos, q.line
	q.pos++
	q.skipBlank(false)
	n := q.peek()
	q.pos, q.line = save, line
	return n == '\n' || n == 0 || n == '}'
}
