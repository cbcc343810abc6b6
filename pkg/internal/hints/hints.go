// Package hints finds, in atoll's Go source, every hint a user can be
// shown with an error: the "hint:" line under an error, the "fix:" line of
// a guard check, the Hint of a refused or failed project. Tests use it to
// hold docs/troubleshooting.md to the code: a new hint with no entry there
// fails the build.
//
// A hint is found by where its text goes, not by where it is written, so
// a new hint is found without anyone registering it. The text is a hint
// when it is
//   - the value of a field or key named Hint, hint or Fix in a composite
//     literal (&ExitError{Hint: ...}, &refusal{hint: ...});
//   - assigned to such a field or to a variable named hint or fix
//     (res.Hint = ..., c.Result, c.Hint = Fail, ...);
//   - passed as a parameter named hint or fix (perProject(..., hint));
//   - returned as a result named hint or fix (classify, EnvHint);
//   - written inside a function whose name ends in Hint (noRollbackHint).
//
// Package-level string constants (linkHint, git.RevisionHelp) are
// resolved. Text computed at run time (a project's directory, a commit)
// leaves a gap: a hint is the list of its constant fragments.
package hints

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Hint is one hint in the source.
type Hint struct {
	// Pos is file:line, relative to the scanned root.
	Pos string
	// Fragments are its constant parts, in order; run-time values fall
	// between them.
	Fragments []string
	// parts are the fragments with gap between them, at either end too
	// when the hint starts or ends with a run-time value.
	parts []string
}

// Regexp matches the hint as printed: the fragments in order, anything
// in the gaps, nothing else (white space collapsed, as by strings.Fields).
func (h Hint) Regexp() *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, p := range h.parts {
		if p == gap {
			b.WriteString(".*")
			continue
		}
		b.WriteString(regexp.QuoteMeta(strings.Join(strings.Fields(p), " ")))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Text is the hint with "…" for each run-time value.
func (h Hint) Text() string { return strings.Join(h.Fragments, "…") }

// sinkName reports whether a field, key, variable, parameter or result of
// that name carries a hint.
func sinkName(name string) bool {
	switch name {
	case "Hint", "hint", "Fix", "fix":
		return true
	}
	return false
}

// Find returns the hints of the non-test Go files below each of dirs
// (relative to root), sorted by position.
func Find(root string, dirs ...string) ([]Hint, error) {
	fset := token.NewFileSet()
	type pkgFiles struct {
		name  string
		files []*ast.File
	}
	pkgs := map[string]*pkgFiles{} // by directory
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			dir := filepath.Dir(p)
			if pkgs[dir] == nil {
				pkgs[dir] = &pkgFiles{name: f.Name.Name}
			}
			pkgs[dir].files = append(pkgs[dir].files, f)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Package-level string constants, by "pkg.Name" (package name, as
	// other packages qualify them), and the parameters named hint or fix of
	// every function, by function name.
	consts := map[string][]string{}
	params := map[string][]int{}
	for _, pk := range pkgs {
		for _, f := range pk.files {
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.GenDecl:
					if d.Tok != token.CONST {
						continue
					}
					for _, spec := range d.Specs {
						vs := spec.(*ast.ValueSpec)
						for i, n := range vs.Names {
							if i < len(vs.Values) {
								if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
									s, _ := strconv.Unquote(lit.Value)
									consts[pk.name+"."+n.Name] = []string{s}
								}
							}
						}
					}
				case *ast.FuncDecl:
					i := 0
					for _, field := range d.Type.Params.List {
						names := field.Names
						if len(names) == 0 {
							i++
							continue
						}
						for _, n := range names {
							if sinkName(n.Name) {
								params[d.Name.Name] = append(params[d.Name.Name], i)
							}
							i++
						}
					}
				}
			}
		}
	}

	var out []Hint
	for _, pk := range pkgs {
		fr := fragmenter{pkg: pk.name, consts: consts}
		for _, f := range pk.files {
			add := func(n ast.Node, e ast.Expr) {
				parts := fr.of(e)
				frags := fragments(parts)
				if len(frags) == 0 {
					return
				}
				pos := fset.Position(n.Pos())
				rel, err := filepath.Rel(root, pos.Filename)
				if err != nil {
					rel = pos.Filename
				}
				out = append(out, Hint{Pos: filepath.ToSlash(rel) + ":" + strconv.Itoa(pos.Line), Fragments: frags, parts: parts})
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && sinkName(k.Name) {
						add(n, n.Value)
					}
				case *ast.AssignStmt:
					if len(n.Lhs) != len(n.Rhs) {
						return true
					}
					for i, l := range n.Lhs {
						var name string
						switch l := l.(type) {
						case *ast.Ident:
							name = l.Name
						case *ast.SelectorExpr:
							name = l.Sel.Name
						}
						if sinkName(name) {
							add(n, n.Rhs[i])
						}
					}
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if sinkName(name.Name) && i < len(n.Values) {
							add(n, n.Values[i])
						}
					}
				case *ast.CallExpr:
					var name string
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						name = fn.Name
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					}
					for _, i := range params[name] {
						if i < len(n.Args) {
							add(n, n.Args[i])
						}
					}
				case *ast.FuncDecl:
					if n.Body == nil {
						return true
					}
					if strings.HasSuffix(n.Name.Name, "Hint") {
						// Every string written in it is part of a hint.
						ast.Inspect(n.Body, func(m ast.Node) bool {
							if lit, ok := m.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								// It may be a format (fmt.Fprintf(&b, ...)),
								// and it is one part of the hint built.
								add(lit, &ast.BinaryExpr{Op: token.ADD, X: ast.NewIdent(gapIdent), Y: &ast.BinaryExpr{Op: token.ADD,
									X: &ast.CallExpr{Fun: fmtSprintf, Args: []ast.Expr{lit}}, Y: ast.NewIdent(gapIdent)}})
							}
							return true
						})
					}
					if idx := namedResults(n); len(idx) > 0 {
						ast.Inspect(n.Body, func(m ast.Node) bool {
							if _, ok := m.(*ast.FuncLit); ok {
								return false
							}
							if r, ok := m.(*ast.ReturnStmt); ok {
								for _, i := range idx {
									if i < len(r.Results) {
										add(r, r.Results[i])
									}
								}
							}
							return true
						})
					}
				}
				return true
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return posLess(out[i].Pos, out[j].Pos) })
	return out, nil
}

// namedResults are the indexes of a function's results named hint or fix.
func namedResults(fn *ast.FuncDecl) []int {
	if fn.Type.Results == nil {
		return nil
	}
	var idx []int
	i := 0
	for _, field := range fn.Type.Results.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if sinkName(n.Name) {
				idx = append(idx, i)
			}
			i++
		}
	}
	return idx
}

func posLess(a, b string) bool {
	fa, la, _ := strings.Cut(a, ":")
	fb, lb, _ := strings.Cut(b, ":")
	if fa != fb {
		return fa < fb
	}
	na, _ := strconv.Atoi(la)
	nb, _ := strconv.Atoi(lb)
	return na < nb
}

type fragmenter struct {
	pkg    string
	consts map[string][]string
}

// fmtSprintf stands for fmt.Sprintf, to read a literal as a format.
var fmtSprintf = &ast.SelectorExpr{X: ast.NewIdent("fmt"), Sel: ast.NewIdent("Sprintf")}

// gap stands for a run-time value between fragments.
const gap = "\x00"

var verb = regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z%]`)

// gapIdent names no constant: it stands for the rest of a hint built
// piece by piece.
const gapIdent = "_"

// fragments returns the constant fragments of a hint's parts: nil when
// none is known at compile time (a value passed through from elsewhere,
// whose source is found where it is written).
func fragments(parts []string) []string {
	var out []string
	for _, f := range parts {
		// Joints such as ", " between run-time values say nothing.
		if f != gap && strings.IndexFunc(f, unicode.IsLetter) >= 0 {
			out = append(out, f)
		}
	}
	return out
}

// of returns the parts of a string expression: known text, and gap for
// each value known only at run time.
func (fr fragmenter) of(e ast.Expr) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return []string{gap}
		}
		s, err := strconv.Unquote(e.Value)
		if err != nil {
			return []string{gap}
		}
		return []string{s}
	case *ast.ParenExpr:
		return fr.of(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return []string{gap}
		}
		return join(fr.of(e.X), fr.of(e.Y))
	case *ast.Ident:
		if c, ok := fr.consts[fr.pkg+"."+e.Name]; ok {
			return c
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if c, ok := fr.consts[x.Name+"."+e.Sel.Name]; ok {
				return c
			}
		}
	case *ast.CallExpr:
		sel, ok := e.Fun.(*ast.SelectorExpr)
		if !ok || len(e.Args) == 0 {
			break
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "fmt" || (sel.Sel.Name != "Sprintf" && sel.Sel.Name != "Errorf") {
			break
		}
		format := fr.of(e.Args[0])
		if len(format) != 1 || format[0] == gap {
			break
		}
		var out []string
		for i, part := range verb.Split(format[0], -1) {
			if i > 0 {
				out = append(out, gap)
			}
			out = append(out, part)
		}
		return out
	}
	return []string{gap}
}

// join concatenates two part lists: known text on both sides of the seam
// is one piece.
func join(a, b []string) []string {
	if len(a) == 0 || len(b) == 0 {
		return append(append([]string{}, a...), b...)
	}
	out := append([]string{}, a[:len(a)-1]...)
	last, first := a[len(a)-1], b[0]
	if last != gap && first != gap {
		out = append(out, last+first)
	} else {
		out = append(out, last, first)
	}
	return append(out, b[1:]...)
}
