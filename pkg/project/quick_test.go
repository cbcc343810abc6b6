package project

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// hclCalls reads module calls with the full HCL parser only.
func hclCalls(src []byte) ([]Call, bool) {
	f, diags := hclsyntax.ParseConfig(src, "x.tf", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, false
	}
	content, _, diags := f.Body.PartialContent(fileSchema)
	if diags.HasErrors() {
		return nil, false
	}
	var calls []Call
	for _, b := range content.Blocks {
		mc, _, diags := b.Body.PartialContent(moduleSchema)
		if diags.HasErrors() {
			return nil, false
		}
		attr, ok := mc.Attributes["source"]
		if !ok {
			return nil, false
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
			return nil, false
		}
		calls = append(calls, Call{Name: b.Labels[0], Source: v.AsString(), Line: attr.Range.Start.Line})
	}
	return calls, true
}

var quickSeeds = []string{
	"",
	"module \"a\" {\n  source = \"../a\"\n}\n",
	"module \"a\" { source = \"./x\" }\n",
	"# comment\n// other\n/* block\n comment */\nmodule \"a\" {\n  # source = \"wrong\"\n  source  = \"../../modules/a\" # trailing\n  version = \"1.0\"\n  providers = {\n    aws = aws.east\n  }\n}\n",
	"locals {\n  s = \"}\"\n  t = \"${var.x} {\"\n  h = <<-EOT\n    module \"fake\" {\n      source = \"../nope\"\n    }\n  EOT\n}\nmodule \"real\" {\n  source = \"./real\"\n}\n",
	"module \"m\" {\n  source = \"git::https://example.com/x.git?ref=v1\"\n  count  = 2\n  for_each = { for k, v in var.m : k => v if v != \"}\" }\n}\n",
	"resource \"terraform_data\" \"x\" {\n  input = [1, 2, { a = \"b\" }]\n  lifecycle {\n    ignore_changes = [input]\n  }\n}\n",
	"module \"a\" {\n  source = \"../a\"\n  depends_on = [module.b]\n}\nmodule \"b\" {\n  source = \"../b\"\n}\n",
	"module \"esc\" {\n  source = \"./with \\\"quote\\\"\"\n}\n",
	"module \"i\" {\n  source = \"./${var.x}\"\n}\n",
	"module \"e\" {\n  source = var.x\n}\n",
	"module \"n\" {\n}\n",
	"module \"u\" {\n  source = \"./x\"\n",
	"terraform {\n  backend \"local\" {\n    path = \"/tmp/x.tfstate\"\n  }\n}\n",
	"variable \"x\" {\n  default = \"$${literal} %%{literal}\"\n}\nmodule \"a\" {\n  source = \"./a\"\n}\n",
	"module \"c\" {\n  source = \"./c\"\n  x = <<EOF\n}\nEOF\n}\n",
	"module \"unicode\" {\n  source = \"./ré seau\"\n}\n",
	"module \"twice\" {\n  source = \"./a\"\n  source = \"./b\"\n}\n",
	"a = 1\nmodule \"m\" {\n  source = \"./m\" \n}\n",
	"resource \"terraform_data\" \"a\" {\n  input =\n}\n",
	"module \"m\" {\n  source = \"./m\"\n  count =\n}\n",
	"module \"bs\" {\n  source = \"..\\\\..\\\\modules\\\\net\"\n}\n",
	"module \"ds\" {\n  source = \"../../modules//net\"\n}\n",
	"module \"abs\" {\n  source = \"/etc\"\n}\n",
}

// TestQuickReaderAgreesWithHCL: whenever the quick reader answers, its
// answer is the HCL parser's.
func TestQuickReaderAgreesWithHCL(t *testing.T) {
	answered := 0
	for _, s := range quickSeeds {
		q, ok := quickCalls([]byte(s))
		if !ok {
			continue
		}
		answered++
		h, hok := hclCalls([]byte(s))
		if !hok {
			t.Errorf("quick reader answered %v for input HCL rejects:\n%s", q, s)
			continue
		}
		if !reflect.DeepEqual(q, h) {
			t.Errorf("quick %v != hcl %v for:\n%s", q, h, s)
		}
	}
	if answered < len(quickSeeds)/2 {
		t.Errorf("the quick reader answered only %d of %d inputs: it should handle ordinary files", answered, len(quickSeeds))
	}
}

// TestParseCallsFallsBack: where the quick reader is unsure, ParseCalls
// still answers (or reports the syntax error) through HCL.
func TestParseCallsFallsBack(t *testing.T) {
	for _, s := range quickSeeds {
		calls, err := ParseCalls("x.tf", []byte(s))
		h, hok := hclCalls([]byte(s))
		if hok && (err != nil || !reflect.DeepEqual(calls, h)) {
			t.Errorf("ParseCalls = %v, %v; HCL says %v for:\n%s", calls, err, h, s)
		}
		if !hok && err == nil {
			t.Errorf("ParseCalls accepted input HCL rejects:\n%s", s)
		}
	}
}

func FuzzQuickReaderAgreesWithHCL(f *testing.F) {
	for _, s := range quickSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, ok := quickCalls([]byte(s))
		if !ok {
			return
		}
		h, hok := hclCalls([]byte(s))
		if hok && !reflect.DeepEqual(q, h) {
			t.Errorf("quick %v != hcl %v for %q", q, h, s)
		}
	})
}
