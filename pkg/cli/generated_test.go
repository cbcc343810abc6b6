package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/reference, completions) and golden files")

// generated renders every file generated from the cobra tree, keyed by its
// path relative to the repository root.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	root := NewRootCmd(&ui.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	root.DisableAutoGenTag = true
	root.InitDefaultCompletionCmd()
	out := map[string][]byte{}

	tmp := t.TempDir()
	if err := doc.GenMarkdownTreeCustom(root, tmp, func(string) string { return "" }, func(s string) string { return s }); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tmp, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out["docs/reference/"+e.Name()] = b
	}

	var bash, zsh, fish bytes.Buffer
	if err := root.GenBashCompletionV2(&bash, true); err != nil {
		t.Fatal(err)
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		t.Fatal(err)
	}
	if err := root.GenFishCompletion(&fish, true); err != nil {
		t.Fatal(err)
	}
	out["completions/atoll.bash"] = bash.Bytes()
	out["completions/_atoll"] = zsh.Bytes()
	out["completions/atoll.fish"] = fish.Bytes()
	return out
}

// TestGeneratedFilesUpToDate fails when the command reference or the shell
// completions no longer match the cobra tree. Regenerate with:
//
//	go test ./pkg/cli -run TestGeneratedFilesUpToDate -update
func TestGeneratedFilesUpToDate(t *testing.T) {
	repoRoot, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	want := generated(t)
	if *update {
		_ = os.RemoveAll(filepath.Join(repoRoot, "docs", "reference"))
		for p, b := range want {
			full := filepath.Join(repoRoot, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for p, b := range want {
		got, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is stale or missing: regenerate with `go test ./pkg/cli -run TestGeneratedFilesUpToDate -update`", p)
		}
	}
	// A reference page for a command that no longer exists is stale too.
	existing, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "reference", "*.md"))
	for _, f := range existing {
		if _, ok := want["docs/reference/"+filepath.Base(f)]; !ok {
			t.Errorf("docs/reference/%s documents no current command: regenerate with -update", filepath.Base(f))
		}
	}
}

// TestEveryCommandHasHelpAndExamples keeps help useful as commands are added.
func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	root := NewRootCmd(&ui.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || strings.HasPrefix(sub.Name(), "__") {
				continue
			}
			if sub.Short == "" || (sub.Runnable() && sub.Example == "") {
				t.Errorf("%s: every command needs a short description and examples", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}
