package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/docblocks"
	"github.com/atoll-tf/atoll/pkg/internal/hints"
)

const troubleshootingDoc = "../../docs/troubleshooting.md"

// squash collapses runs of white space, so that a hint may be wrapped or
// indented in the doc.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Every hint the binary can print (found in the source by where its text
// goes, so a new one is found with no list to update) has an entry in
// docs/troubleshooting.md that shows it: each of its constant fragments
// appears there.
func TestTroubleshootingCoversHints(t *testing.T) {
	t.Parallel()
	found, err := hints.Find("../..", "pkg", "cmd")
	if err != nil {
		t.Fatal(err)
	}
	// The extraction reaches every kind of place hints are written.
	for _, want := range []string{
		"fetch the missing history: git fetch --deepen=100",            // classify
		"a plan must be applied exactly as it was reviewed",            // runner's refusals
		"merge or rebase onto ",                                        // a guard check's hint
		"fix the .envrc; `cd ",                                         // .envrc failure
		"Terraform does not roll back. ",                               // noRollbackHint
		"wait until that branch is merged (its lock is then released)", // perProject's parameter
		"chmod go-w ", // safefs's Fix
	} {
		if !hasFragment(found, want) {
			t.Errorf("the hints found in the source lack %q: is the extraction broken?", want)
		}
	}
	if len(found) < 70 {
		t.Errorf("found only %d hints in the source: is the extraction broken?", len(found))
	}
	doc := squash(readDoc(t, troubleshootingDoc))
	for _, h := range found {
		for _, f := range h.Fragments {
			if !strings.Contains(doc, squash(f)) {
				t.Errorf("%s: the hint %q has no entry in docs/troubleshooting.md (missing: %q): add one with its cause and fix", h.Pos, h.Text(), squash(f))
				break
			}
		}
	}
}

func hasFragment(hs []hints.Hint, fragment string) bool {
	for _, h := range hs {
		for _, f := range h.Fragments {
			if strings.Contains(f, fragment) {
				return true
			}
		}
	}
	return false
}

// hintLine is a hint or a guard fix as atoll prints it.
var hintLine = regexp.MustCompile(`^\s*(?:hint|fix): (.*)$`)

// Every hint docs/troubleshooting.md shows is one the binary prints, with
// run-time values (paths, commits, projects) anywhere between its
// fragments: a hint reworded in the code is not left behind in the doc.
func TestTroubleshootingHintsAreReal(t *testing.T) {
	t.Parallel()
	found, err := hints.Find("../..", "pkg", "cmd")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for _, h := range found {
		patterns = append(patterns, h.Regexp())
	}
	blocks, err := docblocks.Read(troubleshootingDoc)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range blocks {
		if b.Lang != "text" {
			continue
		}
		for i, line := range strings.Split(b.Text, "\n") {
			m := hintLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			text := squash(m[1])
			matched := false
			for _, p := range patterns {
				if p.MatchString(text) {
					matched = true
					break
				}
			}
			if !matched {
				t.Errorf("docs/troubleshooting.md:%d: atoll prints no such hint: %q", b.Line+1+i, text)
			}
		}
	}
	if n < 50 {
		t.Errorf("found only %d hints in docs/troubleshooting.md: is the extraction broken?", n)
	}
}
