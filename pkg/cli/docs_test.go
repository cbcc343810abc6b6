package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/ci"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/internal/docblocks"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
)

// userDocs are the Markdown files a user reads (docs/reference is
// generated from the cobra tree and checked by TestGeneratedFilesUpToDate).
func userDocs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every atoll command line in a shell or console block of the docs names
// commands and flags the binary has, with arguments it accepts.
func TestDocsCommandLinesParse(t *testing.T) {
	t.Parallel()
	n := 0
	for _, file := range userDocs(t) {
		blocks, err := docblocks.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if !b.Shell() {
				continue
			}
			for _, c := range b.Commands() {
				invocations, err := docblocks.AtollInvocations(c.Text)
				if err != nil {
					t.Errorf("%s:%d: %v", file, c.Line, err)
					continue
				}
				for _, args := range invocations {
					n++
					if err := parseLikeAtoll(args); err != nil {
						t.Errorf("%s:%d: atoll %s: %v", strings.TrimPrefix(file, "../../"), c.Line, strings.Join(args, " "), err)
					}
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("found only %d atoll command lines in the docs: is the extraction broken?", n)
	}

	// The CI examples' scripts: run: steps, script: lines, RUN lines.
	n = 0
	for _, file := range exampleFiles(t) {
		cmds, err := docblocks.Scripts(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			invocations, err := docblocks.AtollInvocations(c.Text)
			if err != nil {
				t.Errorf("%s:%d: %v", file, c.Line, err)
				continue
			}
			for _, args := range invocations {
				n++
				if err := parseLikeAtoll(args); err != nil {
					t.Errorf("%s:%d: atoll %s: %v", strings.TrimPrefix(file, "../../"), c.Line, strings.Join(args, " "), err)
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("found only %d atoll command lines in docs/examples: is the extraction broken?", n)
	}
}

// exampleFiles are the CI examples under docs/examples: workflows, GitLab
// pipelines, Dockerfiles.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../../docs/examples", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); ext == ".yml" || ext == ".yaml" || strings.HasPrefix(d.Name(), "Dockerfile") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in docs/examples")
	}
	return files
}

// parseLikeAtoll resolves args with the real cobra tree as Execute would,
// without running anything.
func parseLikeAtoll(args []string) error {
	root := NewRootCmd(&ui.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if help, _ := cmd.Flags().GetBool("help"); help {
		return nil
	}
	if !cmd.Runnable() {
		return fmt.Errorf("%s is not a command that runs", cmd.CommandPath())
	}
	return cmd.ValidateArgs(cmd.Flags().Args())
}

// The docs' command-line check catches what it must.
func TestParseLikeAtollRefuses(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"atoll chnaged", "atoll changed --no-such-flag", "atoll clean --older-than", "X=1 atoll plan --frobnicate | cat"} {
		inv, err := docblocks.AtollInvocations(line)
		if err != nil || len(inv) != 1 {
			t.Fatalf("%q: %v %v", line, inv, err)
		}
		if err := parseLikeAtoll(inv[0]); err == nil {
			t.Errorf("%q was accepted", line)
		}
	}
	for line, want := range map[string][][]string{
		`source <(atoll completion bash) && go run ./cmd/atoll demo > out 2>&1`: {{"completion", "bash"}, {"demo"}},
		// GitHub Actions outputs: a command substitution inside quotes.
		`echo "matrix=$(atoll changed --output github-matrix)" >> "$GITHUB_OUTPUT"`: {{"changed", "--output", "github-matrix"}},
	} {
		if inv, _ := docblocks.AtollInvocations(line); fmt.Sprint(inv) != fmt.Sprint(want) {
			t.Errorf("%s: invocations = %q, want %q", line, inv, want)
		}
	}
}

// planDirFileName matches the names of files in a plan directory, as the
// docs write them.
var planDirFileName = regexp.MustCompile("(?:^|[\\s`/(|])(record\\.json|plan[\\w.-]*\\.(?:log|txt|tfplan|json|apply))\\b(?:\\.\\w+)?")

// The files the docs say a plan directory holds are those atoll writes.
func TestDocsPlanDirFiles(t *testing.T) {
	t.Parallel()
	for _, file := range userDocs(t) {
		for i, line := range strings.Split(readDoc(t, file), "\n") {
			for _, m := range planDirFileName.FindAllStringSubmatch(line, -1) {
				name := strings.TrimSpace(m[0])
				name = strings.TrimLeft(name, "`/(|")
				if !slices.Contains(record.PlanDirFiles, name) {
					t.Errorf("%s:%d: %q is not a file atoll writes in a plan directory (%s)", file, i+1, name, strings.Join(record.PlanDirFiles, ", "))
				}
			}
		}
	}
	// The table of plan-and-apply.md lists them all.
	doc := readDoc(t, "../../docs/plan-and-apply.md")
	_, table, ok := strings.Cut(doc, "| File | What it is |")
	if !ok {
		t.Fatal("docs/plan-and-apply.md has no table of plan directory files")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(table, -1) {
		listed = append(listed, m[1])
	}
	if want := slices.Sorted(slices.Values(record.PlanDirFiles)); !slices.Equal(slices.Sorted(slices.Values(listed)), want) {
		t.Errorf("docs/plan-and-apply.md lists plan directory files %v, atoll writes %v", listed, want)
	}
}

// The exit-code tables of the README and of every command's help list
// exactly the codes the binary uses.
func TestDocsExitCodes(t *testing.T) {
	t.Parallel()
	want := []int{ExitOK, ExitFailure, ExitChanges, ExitCheckFailed, ExitUsage, ExitInput, ExitRepository, ExitInterrupted}
	slices.Sort(want)
	readme := readDoc(t, "../../README.md")
	_, table, ok := strings.Cut(readme, "## Exit codes")
	if !ok {
		t.Fatal("README.md has no exit code table")
	}
	_, table, _ = strings.Cut(table, "| code |")
	table, _, _ = strings.Cut(table, "\n\n")
	codes := func(re, text string) []int {
		var out []int
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	if got := codes(`(?m)^\| *(\d+) \|`, table); !slices.Equal(got, want) {
		t.Errorf("README.md's exit code table lists %v, the binary uses %v", got, want)
	}
	if got := codes(`(?m)^  (\d+) `, ExitCodesHelp); !slices.Equal(got, want) {
		t.Errorf("the help's exit code table lists %v, the binary uses %v", got, want)
	}
}

// configuration.md describes every key the binary accepts, and the
// unknown-key message it shows is the one the binary prints.
func TestDocsConfigKeys(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "../../docs/configuration.md")
	for _, k := range config.Keys() {
		leaf := k
		if parent, child, ok := strings.Cut(k, "."); ok && !strings.Contains(parent, "[]") {
			// guard.mode is described in the table of `guard`.
			if !strings.Contains(doc, "### `"+parent+"`") || !strings.Contains(doc, "`"+child+"`") {
				t.Errorf("docs/configuration.md does not describe %s", k)
			}
			continue
		}
		if !regexp.MustCompile("(?m)^#+ `" + regexp.QuoteMeta(leaf) + "`$").MatchString(doc) {
			t.Errorf("docs/configuration.md has no section for the key %s", k)
		}
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "atoll.yaml"), []byte("projects:\n  - dir: conf/a\n    nmae: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(dir, "", nil)
	if err == nil {
		t.Fatal("an unknown key was accepted")
	}
	_, msg, _ := strings.Cut(err.Error(), `key "projects[0].nmae"`)
	m := regexp.MustCompile(`(?m)^error: \S+:\d+: key "projects\[0\]\.nmae"(.*)$`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatal(`docs/configuration.md shows no unknown-key message for "projects[0].nmae"`)
	}
	if m[1] != msg {
		t.Errorf("docs/configuration.md shows the unknown-key message\n%s\nthe binary prints\n%s", m[1], msg)
	}
}

// The shell loop of `atoll changed --help` is the README's, which
// docs-changed-loop.txtar runs.
func TestDocsHelpLoopIsTested(t *testing.T) {
	t.Parallel()
	blocks, err := docblocks.Read("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var loop string
	for _, b := range blocks {
		if b.Name == "changed-loop" {
			loop = strings.TrimSpace(b.Text)
		}
	}
	if loop == "" {
		t.Fatal("README.md has no block marked <!-- test: changed-loop -->")
	}
	cmd, _, err := NewRootCmd(&ui.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}).Find([]string{"changed"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmd.Example, "  "+loop+"\n") {
		t.Errorf("atoll changed --help shows a shell loop other than README.md's tested one:\n%s", loop)
	}
}

// The output the docs show for a command has the shape the binary prints:
// its table's columns, and in them only statuses and counts it can write;
// guard checklists name only the guard's checks.
func TestDocsOutputShape(t *testing.T) {
	t.Parallel()
	columns := map[string][]string{"changed": ui.ChangedColumns, "plan": ui.RunColumns, "apply": ui.RunColumns, "projects": ui.ProjectsColumns, "drift": ui.DriftColumns}
	runStatuses := []string{string(runner.StatusPlanned), string(runner.StatusNoChanges), string(runner.StatusApplied), string(runner.StatusFailed),
		string(runner.StatusRefused), string(runner.StatusSkipped), string(runner.StatusNeedsDestroy)}
	changedStatuses := []string{string(affected.Modified), string(affected.Added), string(affected.Deleted), string(affected.Renamed), ""}
	checks := config.GuardChecks
	counts := regexp.MustCompile(`^(-|\+\d+ ~\d+ ±\d+ -\d+( ↓\d+)?)$`)
	checkLine := regexp.MustCompile(`^[✓✗–!] (\S+) `)
	tables := 0
	for _, file := range userDocs(t) {
		blocks, err := docblocks.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.Lang != "console" {
				continue
			}
			sub, header := "", []string(nil)
			for i, line := range strings.Split(b.Text, "\n") {
				where := fmt.Sprintf("%s:%d", strings.TrimPrefix(file, "../../"), b.Line+1+i)
				if cmdline, ok := strings.CutPrefix(line, "$ "); ok {
					sub, header = "", nil
					if inv, err := docblocks.AtollInvocations(cmdline); err == nil && len(inv) == 1 && len(inv[0]) > 0 {
						sub = inv[0][0]
					}
					continue
				}
				if m := checkLine.FindStringSubmatch(line); m != nil && sub == "guard" && !slices.Contains(checks, m[1]) {
					t.Errorf("%s: %q is not a check of atoll guard", where, m[1])
				}
				if !strings.HasPrefix(line, "│") {
					continue
				}
				var cells []string
				for _, c := range strings.Split(strings.Trim(line, "│"), "│") {
					cells = append(cells, strings.TrimSpace(c))
				}
				if header == nil {
					header = cells
					tables++
					if want, ok := columns[sub]; ok && !slices.Equal(cells, want) {
						t.Errorf("%s: atoll %s prints the columns %v, the docs show %v", where, sub, want, cells)
					}
					continue
				}
				switch {
				case slices.Equal(header, ui.RunColumns) && len(cells) == 4:
					if !slices.Contains(runStatuses, cells[1]) {
						t.Errorf("%s: %q is not a result atoll %s prints", where, cells[1], sub)
					}
					if !counts.MatchString(cells[2]) {
						t.Errorf("%s: %q is not how atoll shows counts", where, cells[2])
					}
				case slices.Equal(header, ui.ChangedColumns) && len(cells) == 3:
					if !slices.Contains(changedStatuses, cells[1]) {
						t.Errorf("%s: %q is not a status atoll changed prints", where, cells[1])
					}
				}
			}
		}
	}
	if tables < 10 {
		t.Errorf("found only %d tables in the docs: is the extraction broken?", tables)
	}
}

// docs/ci-integration.md lists every variable the CI integration reads,
// and the flags and files it writes.
func TestDocsListCIVariables(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "../../docs/ci-integration.md")
	for _, v := range append(append([]string{}, ci.Variables...), "ATOLL_CI", "ATOLL_DOTENV", "ATOLL_BRANCH",
		"ATOLL_CHANGED_PROJECTS", "ATOLL_CHANGED_MATRIX", "ATOLL_CHANGED_COUNT", "--dotenv", "--fetch", "--ci") {
		if !strings.Contains(doc, "`"+v+"`") && !strings.Contains(doc, v+"=") {
			t.Errorf("docs/ci-integration.md does not name %s", v)
		}
	}
}
