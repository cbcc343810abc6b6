package ci

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Level is an annotation's severity.
type Level string

const (
	Error   Level = "error"
	Warning Level = "warning"
	Notice  Level = "notice"
)

// Annotation is a problem shown on the run's page and, with a file, on
// the file's line in the pull request.
type Annotation struct {
	Level Level
	// File is relative to the repository root; Line and Col start at 1
	// (0: not known).
	File      string
	Line, Col int
	Title     string
	Message   string
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeData escapes a workflow command's message: %, CR and LF.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a workflow command's property value: %, CR,
// LF, and the : and , that end a property.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }

// GitHub renders the annotation as a workflow command line.
func (a Annotation) GitHub() string {
	var props []string
	if a.File != "" {
		props = append(props, "file="+EscapeProperty(a.File))
		if a.Line > 0 {
			props = append(props, "line="+strconv.Itoa(a.Line))
			if a.Col > 0 {
				props = append(props, "col="+strconv.Itoa(a.Col))
			}
		}
	}
	if a.Title != "" {
		props = append(props, "title="+EscapeProperty(a.Title))
	}
	p := ""
	if len(props) > 0 {
		p = " " + strings.Join(props, ",")
	}
	return fmt.Sprintf("::%s%s::%s\n", a.Level, p, EscapeData(a.Message))
}

// Annotate writes annotations in the system's form. GitLab has none:
// its job log already shows the messages, so nothing is written.
func (e Env) Annotate(w io.Writer, as []Annotation) {
	if e.System != GitHub {
		return
	}
	for _, a := range as {
		fmt.Fprint(w, a.GitHub())
	}
}

// located is the "path:line: message" and "path: message" form atoll's
// warnings take.
var located = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^\s:][^:\n]*?)(?::([0-9]+))?(?::[0-9]+)?: (.+)$`) })

// Locate splits a "path:line: message" or "path: message" warning into
// an annotation of the given level. Whether the path is a real file is
// for the caller to check (exists).
func Locate(level Level, msg string, exists func(string) bool) Annotation {
	a := Annotation{Level: level, Message: msg}
	m := located().FindStringSubmatch(strings.SplitN(msg, "\n", 2)[0])
	if m == nil || !exists(m[1]) {
		return a
	}
	a.File = m[1]
	if m[2] != "" {
		a.Line, _ = strconv.Atoi(m[2])
	}
	return a
}

// section names GitLab accepts: letters, digits, _, . and -.
var sectionUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_.-]+`) })

// Group is a collapsible part of the job log.
type Group struct {
	e    Env
	w    io.Writer
	name string
	now  func() time.Time
}

// StartGroup opens a collapsible section titled title (GitHub
// ::group::, GitLab section_start, collapsed); outside CI it writes the
// title alone. now is the clock GitLab's sections are timed by.
func (e Env) StartGroup(w io.Writer, title string, now func() time.Time) *Group {
	g := &Group{e: e, w: w, now: now}
	switch e.System {
	case GitHub:
		fmt.Fprintf(w, "::group::%s\n", EscapeData(title))
	case GitLab:
		g.name = "atoll_" + strings.Trim(sectionUnsafe().ReplaceAllString(title, "_"), "_")
		fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", now().Unix(), g.name, oneLine(title))
	default:
		fmt.Fprintf(w, "%s\n", oneLine(title))
	}
	return g
}

// Verbatim writes text another party controls (Terraform's output, a
// branch's files) into the group: on GitHub with workflow commands
// switched off around it, so that no line of it acts as one.
func (g *Group) Verbatim(text string) {
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if g.e.System != GitHub {
		fmt.Fprint(g.w, text)
		return
	}
	token := NewDelimiter()
	fmt.Fprintf(g.w, "::stop-commands::%s\n%s::%s::\n", token, text, token)
}

// End closes the section.
func (g *Group) End() {
	switch g.e.System {
	case GitHub:
		fmt.Fprint(g.w, "::endgroup::\n")
	case GitLab:
		fmt.Fprintf(g.w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), g.name)
	}
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
