package hints

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Each way a hint reaches the user is found, with its run-time values as
// gaps; other strings are not.
func TestFind(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	src := map[string]string{
		"pkg/a/a.go": `package a

import "fmt"

const linkHint = "replace the link"

type E struct{ Hint, Fix, Msg string }
type refusal struct{ msg, hint string }

func classify(err error) (code int, hint string) {
	if err == nil {
		return 0, "from a named result"
	}
	return 1, linkHint
}

func perProject(problems []string, passDetail, hint string) {}

func noRollbackHint(n int) string {
	return fmt.Sprintf("%d changed", n) + " do not merge"
}

func f(dir string) error {
	perProject(nil, "not a hint", "from a parameter")
	e := &E{Msg: "not a hint", Hint: "from a key"}
	e.Fix = "chmod go-w " + dir + " now"
	var hint string
	hint = fmt.Sprintf("plan %s again, %q", dir, dir)
	_ = hint
	_ = &refusal{msg: "no", hint: b.LinkHelp}
	e.Hint = e.Msg // passed through: found where it is written
	return nil
}
`,
		"pkg/b/b.go":      "package b\n\nconst LinkHelp = \"from another package's constant\"\n",
		"pkg/a/a_test.go": "package a\n\nvar _ = &E{Hint: \"in a test\"}\n",
	}
	for name, text := range src {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, err := Find(root, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range found {
		got = append(got, h.Text())
	}
	want := []string{
		"from a named result", "replace the link", "from a parameter", " changed", " do not merge",
		"from a key", "chmod go-w … now", "plan … again, ", "from another package's constant",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("hint %q not found; found %q", w, got)
		}
	}
	for _, g := range got {
		if g == "not a hint" || g == "in a test" || g == "no" {
			t.Errorf("%q is not a hint", g)
		}
	}
	for _, h := range found {
		if h.Text() == "chmod go-w … now" {
			if re := h.Regexp(); !re.MatchString("chmod go-w /srv/atoll now") || re.MatchString("chmod go-w /srv/atoll now, or later") {
				t.Errorf("%s does not match the hint as printed, and only it", re)
			}
		}
	}
}
