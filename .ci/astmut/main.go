// Command astmut applies one gremlins mutant, the way gremlins does: the
// operator of the expression at LINE:COL replaced in the syntax tree (so
// "a && b && c" with its first && mutated is "(a || b) && c"), and the
// file printed again. Used by .ci/mutation-survivors:
//
//	go run .ci/astmut/main.go FILE LINE COL TYPE
//
// It exits 3 when no operator of TYPE is at LINE:COL.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strconv"
)

func main() {
	file, typ := os.Args[1], os.Args[4]
	line, _ := strconv.Atoi(os.Args[2])
	col, _ := strconv.Atoi(os.Args[3])
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, file, nil, parser.ParseComments)
	if err != nil {
		panic(err)
	}
	done := false
	at := func(p token.Pos) bool { q := fs.Position(p); return q.Line == line && q.Column == col }
	ast.Inspect(f, func(n ast.Node) bool {
		if done {
			return false
		}
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if !at(x.OpPos) {
				return true
			}
			m := map[string]map[token.Token]token.Token{
				"CONDITIONALS_BOUNDARY": {token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR},
				"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR},
				"INVERT_LOGICAL":        {token.LAND: token.LOR, token.LOR: token.LAND},
				"ARITHMETIC_BASE":       {token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL},
			}[typ]
			if nt, ok := m[x.Op]; ok {
				x.Op, done = nt, true
			}
		case *ast.UnaryExpr:
			if at(x.OpPos) && typ == "INVERT_NEGATIVES" && x.Op == token.SUB {
				x.Op, done = token.ADD, true
			}
		case *ast.IncDecStmt:
			if at(x.TokPos) && typ == "INCREMENT_DECREMENT" {
				if x.Tok == token.INC {
					x.Tok = token.DEC
				} else {
					x.Tok = token.INC
				}
				done = true
			}
		}
		return true
	})
	if !done {
		fmt.Fprintln(os.Stderr, "no mutation point")
		os.Exit(3)
	}
	out, _ := os.Create(file)
	defer out.Close()
	printer.Fprint(out, fs, f)
}
