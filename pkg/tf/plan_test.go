package tf

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.Env = nil // the usual case: inherit the environment unchanged
	v, err := r.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Errorf("Version() = %q, want a version number", v)
	}
}

// TestPlanCounts walks one project through create, update + replace +
// destroy, no-op and a destroy plan, applying each plan in turn.
func TestPlanCounts(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, "")
	mustInit(t, r, p.Dir)

	steps := []struct {
		name        string
		config      string
		destroy     bool
		wantPlan    PlanResult // counts and Changes only
		wantApplied []ResourceChange
	}{
		{
			name: "create",
			config: `
resource "terraform_data" "keep" { input = "v1" }
resource "terraform_data" "swap" { triggers_replace = ["v1"] }
resource "terraform_data" "gone" {}
output "keep" { value = terraform_data.keep.output }
`,
			wantPlan: PlanResult{Add: 3, OutputChanges: 1, Changes: []ResourceChange{
				{Address: "terraform_data.gone", Action: ActionCreate},
				{Address: "terraform_data.keep", Action: ActionCreate},
				{Address: "terraform_data.swap", Action: ActionCreate},
			}},
		},
		{
			name: "update, replace and destroy",
			config: `
resource "terraform_data" "keep" { input = "v2" }
resource "terraform_data" "swap" { triggers_replace = ["v2"] }
output "keep" { value = terraform_data.keep.output }
`,
			wantPlan: PlanResult{Change: 1, Replace: 1, Destroy: 1, OutputChanges: 1, Changes: []ResourceChange{
				{Address: "terraform_data.gone", Action: ActionDelete},
				{Address: "terraform_data.keep", Action: ActionUpdate},
				{Address: "terraform_data.swap", Action: ActionReplace},
			}},
		},
		{
			name: "no-op",
			config: `
resource "terraform_data" "keep" { input = "v2" }
resource "terraform_data" "swap" { triggers_replace = ["v2"] }
output "keep" { value = terraform_data.keep.output }
`,
			wantPlan: PlanResult{Changes: []ResourceChange{}},
		},
		{
			name: "destroy plan",
			config: `
resource "terraform_data" "keep" { input = "v2" }
resource "terraform_data" "swap" { triggers_replace = ["v2"] }
output "keep" { value = terraform_data.keep.output }
`,
			destroy: true,
			wantPlan: PlanResult{Destroy: 2, OutputChanges: 1, Changes: []ResourceChange{
				{Address: "terraform_data.keep", Action: ActionDelete},
				{Address: "terraform_data.swap", Action: ActionDelete},
			}},
		},
	}
	for i, step := range steps {
		p.write(t, step.config)
		planFile := filepath.Join(t.TempDir(), "plan.tfplan")
		got := mustPlan(t, r, p.Dir, planFile, PlanOptions{Destroy: step.destroy})

		want := step.wantPlan
		want.HasChanges = len(want.Changes) > 0 || want.OutputChanges > 0
		want.PlanFile, want.PlanJSON = planFile, planFile+".json"
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("step %d (%s): Plan() =\n%+v\nwant\n%+v", i, step.name, *got, want)
		}
		var planJSON struct {
			FormatVersion string `json:"format_version"`
		}
		if data, err := os.ReadFile(got.PlanJSON); err != nil || json.Unmarshal(data, &planJSON) != nil || planJSON.FormatVersion == "" {
			t.Fatalf("step %d (%s): %s is not a JSON plan (%v)", i, step.name, got.PlanJSON, err)
		}

		applied := mustApply(t, r, p.Dir, planFile)
		if len(applied.Failed) != 0 || !sameChanges(applied.Changed, got.Changes) {
			t.Fatalf("step %d (%s): Apply() = %+v, want the planned changes %+v", i, step.name, applied, got.Changes)
		}
	}
	if addrs := stateAddresses(t, p.State); len(addrs) != 0 {
		t.Errorf("state after the destroy plan holds %v", addrs)
	}
}

// sameChanges compares changes regardless of order: Terraform applies
// independent resources concurrently.
func sameChanges(a, b []ResourceChange) bool {
	if len(a) != len(b) {
		return false
	}
	byAddr := map[string]ResourceChange{}
	for _, c := range a {
		byAddr[c.Address] = c
	}
	for _, c := range b {
		if byAddr[c.Address] != c {
			return false
		}
	}
	return true
}

func TestPlanLocalModuleAndVarFile(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `
variable "names" { type = list(string) }
module "m" {
  source = "../modules/m"
  names  = var.names
}
`)
	modules := filepath.Join(filepath.Dir(p.Dir), "modules", "m")
	writeFile(t, filepath.Join(modules, "main.tf"), `
variable "names" { type = list(string) }
resource "terraform_data" "x" {
  for_each = toset(var.names)
  input    = each.key
}
`)
	writeFile(t, filepath.Join(p.Dir, "dev.tfvars"), `names = ["a", "b"]`)
	mustInit(t, r, p.Dir)

	got := mustPlan(t, r, p.Dir, "relative.tfplan", PlanOptions{VarFiles: []string{"dev.tfvars"}})
	want := []ResourceChange{
		{Address: `module.m.terraform_data.x["a"]`, Action: ActionCreate},
		{Address: `module.m.terraform_data.x["b"]`, Action: ActionCreate},
	}
	if !got.HasChanges || got.Add != 2 || !reflect.DeepEqual(got.Changes, want) {
		t.Errorf("Plan() = %+v, want 2 module instances to add", got)
	}
	if got.PlanFile != filepath.Join(p.Dir, "relative.tfplan") {
		t.Errorf("PlanFile = %q, want it made absolute under the project", got.PlanFile)
	}
	if _, err := os.Stat(got.PlanFile); err != nil {
		t.Error(err)
	}
	text, err := r.ShowPlanText(context.Background(), p.Dir, got.PlanFile)
	if err != nil || !strings.Contains(text, `module.m.terraform_data.x["a"] will be created`) || strings.Contains(text, "\x1b[") {
		t.Errorf("ShowPlanText = %q, %v; want the plain-text plan", text, err)
	}
}

func TestInitFromModule(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := t.TempDir()
	source := filepath.Join(root, "source")
	state := filepath.Join(root, "state", "terraform.tfstate")
	writeFile(t, filepath.Join(source, "main.tf"), backendBlock(state)+`resource "terraform_data" "x" {}`)
	scratch := filepath.Join(root, "scratch")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(root, "plugin-cache")

	err := r.Init(context.Background(), scratch, InitOptions{FromModule: source, PluginCacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(scratch, "main.tf")); err != nil {
		t.Errorf("module not copied: %v", err)
	}
	if info, err := os.Stat(cache); err != nil || !info.IsDir() {
		t.Errorf("plugin cache directory not created: %v", err)
	}
	got := mustPlan(t, r, scratch, "p.tfplan", PlanOptions{})
	if got.Add != 1 {
		t.Errorf("Plan() of the copied module = %+v, want 1 to add", got)
	}
}

func TestPlanError(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `resource "terraform_data" "x" { input = terraform_data.missing.id }`)
	mustInit(t, r, p.Dir)

	_, err := r.Plan(context.Background(), p.Dir, "p.tfplan", PlanOptions{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Plan() error = %v, want *Error", err)
	}
	if e.Op != "plan" || e.Dir != p.Dir || !strings.Contains(e.Diagnostics, "Reference to undeclared resource") {
		t.Errorf("Plan() error = %#v, want op plan in %s with Terraform's diagnostic", e, p.Dir)
	}
	if !strings.HasPrefix(err.Error(), "terraform plan in "+p.Dir+" failed:\n") {
		t.Errorf("Error() = %q", err.Error())
	}
}
