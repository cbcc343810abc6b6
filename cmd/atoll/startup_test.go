package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/cli"
)

// TestMain makes the test binary atoll itself when runAsAtoll is set, so
// that the tests can start the real program, with every package the
// release binary has (and the test's own), and no other test files.
func TestMain(m *testing.M) {
	if os.Getenv(runAsAtoll) == "1" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

const runAsAtoll = "ATOLL_TEST_RUN_AS_ATOLL"

// atoll returns a command that runs this test binary as atoll with args.
func atoll(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), runAsAtoll+"=1")
	return cmd
}

// Start-up pays for every package-level variable of every package in the
// binary, whatever the command (docs/performance.md, "Start-up"). A regexp
// compiled there cost every run about as much as atoll's whole command
// tree; these tests keep atoll's own share of process start small.

// atollModule is the import path prefix of atoll's packages.
const atollModule = "github.com/atoll-tf/atoll/"

// TestNoRegexpCompiledAtPackageInit fails for a package-level variable of
// a package in the atoll binary that compiles a regular expression when the
// package is initialised, and for an init function that does: wrap it in
// sync.OnceValue so that only the commands that use it pay for it.
func TestNoRegexpCompiledAtPackageInit(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \",\"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || !strings.HasPrefix(f[0], atollModule) || f[2] == "" {
			continue
		}
		for _, name := range strings.Split(f[2], ",") {
			path := filepath.Join(f[1], name)
			for _, pos := range regexpsCompiledAtInit(t, path) {
				t.Errorf("%s: regexp compiled when %s is initialised, on every run of atoll: make it lazy (sync.OnceValue)", pos, strings.TrimPrefix(f[0], atollModule))
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no atoll source files found in go list -deps ./cmd/atoll")
	}
}

// regexpsCompiledAtInit returns the positions of regexp compilations that
// run at package initialisation in one file: in a package-level variable's
// value outside any function literal, or anywhere in an init function.
func regexpsCompiledAtInit(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	regexpName := ""
	for _, imp := range file.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "regexp" {
			regexpName = "regexp"
			if imp.Name != nil {
				regexpName = imp.Name.Name
			}
		}
	}
	if regexpName == "" {
		return nil
	}
	var found []string
	// visit walks code that runs at init: a function literal's body does
	// not, unless the literal is called right there.
	var visit func(n ast.Node)
	visit = func(root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.CallExpr:
				if lit, ok := n.Fun.(*ast.FuncLit); ok {
					visit(lit.Body)
				}
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == regexpName && strings.Contains(sel.Sel.Name, "Compile") {
						found = append(found, fset.Position(n.Pos()).String())
					}
				}
			}
			return true
		})
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			if d.Tok == token.VAR {
				visit(d)
			}
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "init" {
				visit(d.Body)
			}
		}
	}
	return found
}

// initBudget is what atoll's own packages may allocate, together, while
// they are initialised: a few small maps and slices. One compiled regexp
// costs 1-100 KB.
const initBudget = 16 << 10

// TestPackageInitAllocatesLittle runs `atoll version` with the runtime's
// init trace and fails when atoll's packages allocate more than
// initBudget while they are initialised: work done there is paid by every
// command, `atoll version` and shell completion included.
func TestPackageInitAllocatesLittle(t *testing.T) {
	t.Parallel()
	cmd := atoll(t, "version")
	cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("atoll version: %v\n%s", err, stderr.Bytes())
	}
	total, pkgs := 0, 0
	var detail []string
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || !strings.HasPrefix(f[1], atollModule) {
			continue
		}
		b, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("unexpected init trace line %q", sc.Text())
		}
		total += b
		pkgs++
		detail = append(detail, fmt.Sprintf("%s: %d bytes, %s allocs", strings.TrimPrefix(f[1], atollModule), b, f[9]))
	}
	if pkgs == 0 {
		t.Fatalf("no init trace of atoll's packages in:\n%s", stderr.Bytes())
	}
	if total > initBudget {
		t.Errorf("atoll's packages allocate %d bytes at init (budget %d): move the work into the functions that need it (sync.OnceValue)\n%s",
			total, initBudget, strings.Join(detail, "\n"))
	}
}
