package project

import (
	"fmt"
	"strings"

	"github.com/atoll-tf/atoll/pkg/modsource"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// Call is a module block: its name, its source and where it is written.
type Call struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Line   int    `json:"line"`
}

// IsLocal reports whether a source is a local path, the only kind whose
// files live in this repository (Terraform's rule: it starts with ./ or
// ../, or .\ or ..\).
func IsLocal(source string) bool { return modsource.IsLocal(source) }

// IsTerraformFile reports whether name is a Terraform or OpenTofu
// configuration file.
func IsTerraformFile(name string) bool {
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// SyntaxError is a configuration file Terraform could not parse either.
type SyntaxError struct {
	File    string
	Line    int
	Column  int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

var (
	fileSchema   = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}}}
	moduleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}}
)

// ParseCalls returns the module blocks of one configuration file. name is
// the repository-relative path, used in messages and to pick the syntax.
func ParseCalls(name string, src []byte) ([]Call, error) {
	var (
		f     *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(name, ".json") {
		f, diags = hcljson.Parse(src, name)
	} else {
		if calls, ok := quickCalls(src); ok {
			return calls, nil
		}
		f, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	}
	if err := firstError(diags); err != nil {
		return nil, err
	}
	content, _, diags := f.Body.PartialContent(fileSchema)
	if err := firstError(diags); err != nil {
		return nil, err
	}
	var calls []Call
	for _, b := range content.Blocks {
		mc, _, diags := b.Body.PartialContent(moduleSchema)
		if err := firstError(diags); err != nil {
			return nil, err
		}
		attr, ok := mc.Attributes["source"]
		if !ok {
			return nil, &SyntaxError{File: name, Line: b.DefRange.Start.Line, Column: b.DefRange.Start.Column,
				Message: fmt.Sprintf("module %q has no source argument", b.Labels[0])}
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
			r := attr.Expr.Range()
			return nil, &SyntaxError{File: name, Line: r.Start.Line, Column: r.Start.Column,
				Message: fmt.Sprintf("module %q: source must be a literal string (Terraform does not allow expressions here)", b.Labels[0])}
		}
		calls = append(calls, Call{Name: b.Labels[0], Source: v.AsString(), Line: attr.Range.Start.Line})
	}
	return calls, nil
}

func firstError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		e := &SyntaxError{Message: d.Summary}
		if d.Detail != "" {
			e.Message += ": " + d.Detail
		}
		if d.Subject != nil {
			e.File, e.Line, e.Column = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
		}
		return e
	}
	return nil
}
