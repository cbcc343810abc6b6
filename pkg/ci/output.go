package ci

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
)

// Output is one named value a job hands to later steps or jobs.
type Output struct{ Name, Value string }

// NewDelimiter is a heredoc delimiter no value can guess.
func NewDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// GitHubOutputs renders outputs for $GITHUB_OUTPUT: name=value, or, for a
// value with a line break, the heredoc form name<<DELIM ... DELIM. delim
// makes delimiters; one that occurs in a value is replaced by another.
func GitHubOutputs(outs []Output, delim func() string) (string, error) {
	var b strings.Builder
	for _, o := range outs {
		if strings.ContainsAny(o.Name, "=<\r\n") || o.Name == "" {
			return "", fmt.Errorf("output name %q cannot be written to $GITHUB_OUTPUT", o.Name)
		}
		if !strings.ContainsAny(o.Value, "\r\n") {
			fmt.Fprintf(&b, "%s=%s\n", o.Name, o.Value)
			continue
		}
		d := delim()
		for tries := 0; strings.Contains(o.Value, d); tries++ {
			if tries > 10 {
				return "", fmt.Errorf("output %s: no delimiter found that the value does not contain", o.Name)
			}
			d = delim()
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, d, o.Value, d)
	}
	return b.String(), nil
}

// DotenvLimit is the largest dotenv report GitLab accepts.
const DotenvLimit = 5 * 1024

var dotenvName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_]+$`) })

// Dotenv renders outputs as a GitLab dotenv report: KEY=VALUE lines.
// GitLab takes values as they are (no quoting, no escapes) and refuses
// line breaks, empty lines and reports over 5 KiB: such values are an
// error here rather than a report the pipeline throws away.
func Dotenv(outs []Output) (string, error) {
	var b strings.Builder
	for _, o := range outs {
		if !dotenvName().MatchString(o.Name) {
			return "", fmt.Errorf("dotenv variable name %q: GitLab accepts only letters, digits and _", o.Name)
		}
		if strings.ContainsAny(o.Value, "\r\n") {
			return "", fmt.Errorf("dotenv variable %s: GitLab's dotenv reports cannot hold a line break", o.Name)
		}
		fmt.Fprintf(&b, "%s=%s\n", o.Name, o.Value)
	}
	if b.Len() > DotenvLimit {
		return "", fmt.Errorf("the dotenv report is %d bytes; GitLab refuses reports over %d bytes", b.Len(), DotenvLimit)
	}
	return b.String(), nil
}

// AppendFile appends content to a file the CI gave (GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY), creating it when missing.
func AppendFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
