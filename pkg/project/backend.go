package project

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

var (
	terraformSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}}
	backendSchema   = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}, {Type: "cloud"}}}
	localSchema     = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "workspace_dir"}}}
)

// StateProblem checks, on disk, that a root module's state will outlive a
// scratch directory. atoll runs Terraform in throw-away checkouts, so a
// local backend with a relative (or the default) path would write the state
// where nobody will find it again. It returns an explanation, or "" when the
// state goes somewhere durable (a remote backend, or an absolute path).
func StateProblem(dir, workspace string) (string, error) {
	return StateProblemWith(dir, workspace, nil)
}

// literalAbsPath checks that the local backend's path attribute is an
// absolute literal.
func literalAbsPath(file string, attr *hcl.Attribute) string {
	v, d := attr.Expr.Value(nil)
	if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
		return fmt.Sprintf("%s:%d: the local backend's path is not a literal string", file, attr.Range.Start.Line)
	}
	if !filepath.IsAbs(v.AsString()) {
		return fmt.Sprintf("%s:%d: the local backend's path %q is relative, so the state would be written inside atoll's scratch checkout and lost; configure a remote backend, or an absolute path", file, attr.Range.Start.Line, v.AsString())
	}
	return ""
}

// StateProblemWith is StateProblem for an init given backendConfig, the
// values of its -backend-config arguments (key=value, or a file), which
// override or complete the backend block.
func StateProblemWith(dir, workspace string, backendConfig []string) (string, error) {
	override := map[string]string{}
	for _, c := range backendConfig {
		k, v, ok := strings.Cut(c, "=")
		if !ok {
			return "", nil // a file of settings: Terraform's to check
		}
		override[strings.TrimSpace(k)] = v
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && IsTerraformFile(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	found := false
	for _, name := range names {
		// Terraform follows a symlinked file too; a FIFO or device is refused.
		src, err := safefs.ReadFileFollow(filepath.Join(dir, name), safefs.MaxSourceFile)
		if err != nil {
			return "", err
		}
		var f *hcl.File
		var diags hcl.Diagnostics
		if strings.HasSuffix(name, ".json") {
			f, diags = hcljson.Parse(src, name)
		} else {
			f, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		}
		if err := firstError(diags); err != nil {
			return "", err
		}
		content, _, _ := f.Body.PartialContent(terraformSchema)
		for _, tb := range content.Blocks {
			bc, _, _ := tb.Body.PartialContent(backendSchema)
			for _, b := range bc.Blocks {
				found = true
				if b.Type == "cloud" || b.Labels[0] != "local" {
					continue
				}
				lc, _, _ := b.Body.PartialContent(localSchema)
				attr, ok := lc.Attributes["path"]
				if p, set := override["path"]; set {
					if !filepath.IsAbs(p) {
						return fmt.Sprintf("-backend-config=path=%s: the local backend's path is relative, so the state would be written inside atoll's scratch checkout and lost; use an absolute path", p), nil
					}
				} else if !ok {
					return fmt.Sprintf("%s:%d: the local backend has no path, so the state would be written to terraform.tfstate inside atoll's scratch checkout and lost; configure a remote backend, or an absolute path", name, b.DefRange.Start.Line), nil
				} else if problem := literalAbsPath(name, attr); problem != "" {
					return problem, nil
				}
				if workspace != "" && workspace != "default" {
					// Other workspaces live under workspace_dir, by default
					// terraform.tfstate.d in the working directory.
					wd, ok := lc.Attributes["workspace_dir"]
					ws := cty.NilVal
					if ok {
						ws, _ = wd.Expr.Value(nil)
					}
					if o, set := override["workspace_dir"]; set {
						ok, ws = true, cty.StringVal(o)
					}
					if !ok || ws.Type() != cty.String || ws.IsNull() || !filepath.IsAbs(ws.AsString()) {
						return fmt.Sprintf("%s:%d: workspace %q of the local backend would keep its state under workspace_dir (default terraform.tfstate.d) inside atoll's scratch checkout, where it is lost; set an absolute workspace_dir, or use a remote backend", name, b.DefRange.Start.Line, workspace), nil
					}
				}
			}
		}
	}
	if !found {
		return "no backend is configured, so Terraform would keep the state in terraform.tfstate inside atoll's scratch checkout, where it is lost; configure a remote backend (or a local one with an absolute path)", nil
	}
	return "", nil
}
