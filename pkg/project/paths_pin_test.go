package project

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/hashicorp/hcl/v2"
)

// U+FFFD written as UTF-8 is a character like any other; only a byte that
// is not UTF-8 is reported.
func TestUnprintableReplacementCharacter(t *testing.T) {
	t.Parallel()
	if what, bad := Unprintable("conf/a\uFFFDb"); bad {
		t.Errorf("U+FFFD: %s", what)
	}
	if what, bad := Unprintable("conf/a\xffb"); !bad || what != "the byte 0xff, which is not UTF-8" {
		t.Errorf("0xff: %q %v", what, bad)
	}
}

// The warning about Terraform directories outside the roots names five
// and counts the rest.
func TestOutsideRootsWarningNamesFive(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{
		5: "d1, d2, d3, d4, d5 hold Terraform files",
		6: "d1, d2, d3, d4, d5 and 1 more hold Terraform files",
		8: "d1, d2, d3, d4, d5 and 3 more hold Terraform files",
	} {
		tree := mapTree{"conf/a/main.tf": ""}
		for i := 1; i <= n; i++ {
			tree[fmt.Sprintf("d%d/main.tf", i)] = ""
		}
		g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{DefaultRoots: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Warnings) != 1 || !strings.HasPrefix(g.Warnings[0], want) {
			t.Errorf("%d outside: %q, want it to start %q", n, g.Warnings, want)
		}
	}
}

// A module source must be a string: a number is refused with the file's
// line, never read as one.
func TestSourceMustBeAString(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"5", "null", "true", "[\"./a\"]"} {
		_, err := ParseCalls("conf/a/main.tf", []byte("module \"a\" {\n  source = "+src+"\n}\n"))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 2 || !strings.Contains(se.Message, `module "a": source must be a literal string`) {
			t.Errorf("source = %s: %v", src, err)
		}
	}
}

func TestFirstErrorJoinsSummaryAndDetail(t *testing.T) {
	t.Parallel()
	err := firstError(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "warn"}, {Severity: hcl.DiagError, Summary: "Bad", Detail: "why"}})
	if se, ok := err.(*SyntaxError); !ok || se.Message != "Bad: why" {
		t.Errorf("with a detail: %v", err)
	}
	err = firstError(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad"}})
	if se, ok := err.(*SyntaxError); !ok || se.Message != "Bad" {
		t.Errorf("without: %v", err)
	}
}

// A -from-module source the .envrc sets in a way only the shell can
// evaluate is no module call: the project is from a module, source unknown.
func TestUnknownFromModuleSourceIsNoCall(t *testing.T) {
	t.Parallel()
	g, err := Discover(mapTree{"conf/a/.envrc": "export TF_CLI_INIT_FROM_MODULE=$(pick)\n", "conf/a/terraform.tfvars": "", "modules/m/main.tf": ""},
		&config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Projects) != 1 || !g.Projects[0].FromModule || g.Projects[0].Source != "" || len(g.Projects[0].Modules) != 0 || g.Projects[0].SourceFrom != "conf/a/.envrc:1" {
		t.Errorf("projects %+v, warnings %q", g.Projects, g.Warnings)
	}
}
