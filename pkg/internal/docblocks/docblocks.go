// Package docblocks reads the command blocks of the Markdown docs, so that
// tests can check every command a user would paste: that atoll knows its
// subcommands and flags, and that the blocks marked runnable run.
//
// A block is marked runnable by an HTML comment on the line before its
// fence, which Markdown renderers hide:
//
//	<!-- test: changed-loop -->
//	```bash
//	atoll changed | while ...
//	```
package docblocks

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Block is a fenced code block.
type Block struct {
	File string
	Line int // of the opening fence
	Lang string
	// Name is the block's test marker, if any.
	Name string
	Text string
}

// Shell reports whether the block holds commands a user would paste.
func (b Block) Shell() bool {
	switch b.Lang {
	case "console", "sh", "bash", "shell":
		return true
	}
	return false
}

// Command is one command line of a block (continuation lines joined).
type Command struct {
	Line int
	Text string
}

// Read returns the fenced blocks of a Markdown file.
func Read(path string) ([]Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out     []Block
		cur     *Block
		fence   string
		body    []string
		marker  string
		lineNum int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lineNum++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur != nil {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`~") == "" {
				cur.Text = strings.Join(body, "\n")
				out = append(out, *cur)
				cur, body = nil, nil
				continue
			}
			body = append(body, strings.TrimPrefix(line, indentOf(line, cur)))
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			n := len(trimmed) - len(strings.TrimLeft(trimmed, "`~"))
			fence = trimmed[:n]
			cur = &Block{File: path, Line: lineNum, Lang: strings.TrimSpace(trimmed[n:]), Name: marker}
			cur.Text = line[:len(line)-len(strings.TrimLeft(line, " "))] // indentation, for list items
			marker = ""
			continue
		}
		if name, ok := markerOf(trimmed); ok {
			marker = name
		} else if trimmed != "" {
			marker = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: code block never closed", path, cur.Line)
	}
	return out, nil
}

// indentOf is the indentation of the block's fence (kept in Text until
// the block ends), which its lines share inside a list item.
func indentOf(line string, b *Block) string {
	if strings.HasPrefix(line, b.Text) {
		return b.Text
	}
	return ""
}

func markerOf(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "<!-- test:")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "-->")
	return strings.TrimSpace(name), ok
}

// Commands returns the commands of a shell block: in a console block the
// lines after "$ ", in a script every line that is not a comment.
func (b Block) Commands() []Command {
	var out []Command
	var cur *Command
	for i, line := range strings.Split(b.Text, "\n") {
		n := b.Line + 1 + i
		if cur != nil {
			cur.Text += " " + strings.TrimSpace(line)
		} else {
			text := strings.TrimSpace(line)
			if b.Lang == "console" {
				var ok bool
				if text, ok = strings.CutPrefix(line, "$ "); !ok {
					continue
				}
			}
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			cur = &Command{Line: n, Text: text}
		}
		if strings.HasSuffix(cur.Text, "\\") {
			cur.Text = strings.TrimSuffix(cur.Text, "\\")
			continue
		}
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// AtollInvocations returns the arguments of every atoll invocation in a
// command line: `atoll ARGS`, `go run ./cmd/atoll ARGS`, also inside
// pipelines, lists, subshells and command substitutions, without
// redirections and leading variable assignments.
func AtollInvocations(cmdline string) ([][]string, error) {
	segs, err := segments(cmdline)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, seg := range segs {
		for len(seg) > 0 && isAssignment(seg[0]) {
			seg = seg[1:]
		}
		switch {
		case len(seg) > 0 && seg[0] == "atoll":
			out = append(out, seg[1:])
		case len(seg) > 2 && seg[0] == "go" && seg[1] == "run" && seg[2] == "./cmd/atoll":
			out = append(out, seg[3:])
		}
	}
	return out, nil
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// segments splits a command line into simple commands (words, quotes
// removed), cutting at | || && ; & ( ) $( <( and dropping redirections with
// their targets. Shell keywords that start a command (do, then, ...) are
// dropped too.
func segments(s string) ([][]string, error) {
	var (
		out   [][]string
		seg   []string
		word  strings.Builder
		inW   bool
		redir bool
	)
	endWord := func() {
		if !inW {
			return
		}
		w := word.String()
		word.Reset()
		inW = false
		if redir {
			redir = false
			return
		}
		if len(seg) == 0 && keywords[w] {
			return
		}
		seg = append(seg, w)
	}
	endSeg := func() {
		endWord()
		if len(seg) > 0 {
			out = append(out, seg)
		}
		seg = nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#' && !inW:
			// A comment runs to the end of the line, as in the shell: a
			// # that starts a word.
			endSeg()
			return out, nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			word.WriteString(s[i+1 : i+1+j])
			inW = true
			i += j + 1
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					continue
				}
				// A command substitution inside the quotes runs too:
				// "matrix=$(atoll changed ...)".
				if s[j] == '$' && j+1 < len(s) && s[j+1] == '(' {
					end := closingParen(s, j+1)
					if end < 0 {
						return nil, fmt.Errorf("unterminated $( in %q", s)
					}
					inner, err := segments(s[j+2 : end])
					if err != nil {
						return nil, err
					}
					out = append(out, inner...)
					j = end
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			word.WriteString(s[i+1 : j])
			inW = true
			i = j
		case c == '\\' && i+1 < len(s):
			word.WriteByte(s[i+1])
			inW = true
			i++
		case c == ' ' || c == '\t':
			endWord()
		case c == '|' || c == ';' || c == '&' || c == '(' || c == ')':
			endSeg()
		case c == '$' && i+1 < len(s) && s[i+1] == '(' || c == '<' && i+1 < len(s) && s[i+1] == '(':
			endSeg()
			i++
		case c == '>' || c == '<':
			// A redirection: "2>" was read as a word "2".
			if inW && (word.String() == "2" || word.String() == "1") {
				word.Reset()
				inW = false
			}
			endWord()
			for i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '&') {
				i++
			}
			redir = true
		default:
			word.WriteByte(c)
			inW = true
		}
	}
	endSeg()
	return out, nil
}

// closingParen is the index of the ) that closes the ( at open, skipping
// quoted text; -1 when there is none.
func closingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return -1
			}
			i += j + 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

var keywords = map[string]bool{"do": true, "then": true, "else": true, "if": true, "while": true, "until": true, "time": true, "exec": true, "!": true}
