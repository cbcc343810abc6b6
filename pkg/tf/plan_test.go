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

	tfjson "github.com/hashicorp/terraform-json"
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
		want.PlanFile = planFile
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("step %d (%s): Plan() =\n%+v\nwant\n%+v", i, step.name, *got, want)
		}
		if _, err := os.Stat(planFile + ".json"); !os.IsNotExist(err) {
			t.Fatalf("step %d (%s): Plan() wrote %s.json (%v): only ShowPlanJSON should", i, step.name, planFile, err)
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
	// Terraform's source lines, as its text output shows them.
	if !strings.Contains(e.Diagnostics, "  on main.tf line 7, in resource \"terraform_data\" \"x\":\n   7: resource") {
		t.Errorf("Diagnostics lack the source line:\n%s", e.Diagnostics)
	}
	if !strings.HasPrefix(err.Error(), "terraform plan in "+p.Dir+" failed:\n") {
		t.Errorf("Error() = %q", err.Error())
	}
}

// TestPlanCountsAgreeWithShowJSON: the counts read from plan's -json
// stream are those of the saved plan's `terraform show -json` (what atoll
// read before), for every kind of change in one plan: create, update,
// both kinds of replacement, destroy, move, import, forget and outputs.
func TestPlanCountsAgreeWithShowJSON(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	p := newProject(t, `
resource "terraform_data" "keep" { input = "v1" }
resource "terraform_data" "swap" { triggers_replace = ["v1"] }
resource "terraform_data" "cbd" {
  triggers_replace = ["v1"]
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "gone" {}
resource "terraform_data" "old" { input = "m" }
resource "terraform_data" "forgetme" {}
output "keep" { value = terraform_data.keep.output }
`)
	mustInit(t, r, p.Dir)
	mustApply(t, r, p.Dir, mustPlan(t, r, p.Dir, "first.tfplan", PlanOptions{}).PlanFile)

	// An import of an id terraform_data accepts: any string.
	p.write(t, `
resource "terraform_data" "keep" { input = "v2" }
resource "terraform_data" "swap" { triggers_replace = ["v2"] }
resource "terraform_data" "cbd" {
  triggers_replace = ["v2"]
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "new" {}
resource "terraform_data" "moved" { input = "m" }
moved {
  from = terraform_data.old
  to   = terraform_data.moved
}
removed {
  from = terraform_data.forgetme
  lifecycle { destroy = false }
}
resource "terraform_data" "imp" {}
import {
  to = terraform_data.imp
  id = "imported-id"
}
output "keep" { value = terraform_data.keep.output }
output "added" { value = "x" }
`)
	got := mustPlan(t, r, p.Dir, "second.tfplan", PlanOptions{})
	jsonFile := filepath.Join(t.TempDir(), "second.json")
	if err := r.ShowPlanJSON(context.Background(), p.Dir, got.PlanFile, jsonFile); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatal(err)
	}
	want := countShowJSON(&plan)
	want.HasChanges, want.PlanFile = true, got.PlanFile
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Plan() =\n%+v\nterraform show -json says\n%+v", *got, want)
	}
	if got.Add != 1 || got.Change != 1 || got.Replace != 2 || got.Destroy != 1 || got.Forget != 1 || got.Import != 1 || got.Move != 1 || got.OutputChanges != 2 {
		t.Errorf("Plan() = %+v: the fixture lost a kind of change", *got)
	}
	if fi, err := os.Stat(jsonFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ShowPlanJSON wrote %v (%v), want an owner-only file", fi.Mode(), err)
	}
}

// countShowJSON counts a plan's JSON as atoll did before it read plan's
// stream: the oracle of TestPlanCountsAgreeWithShowJSON.
func countShowJSON(plan *tfjson.Plan) PlanResult {
	res := PlanResult{Changes: []ResourceChange{}}
	for _, rc := range plan.ResourceChanges {
		ch := ResourceChange{Address: rc.Address, Importing: rc.Change.Importing != nil}
		if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
			ch.PreviousAddress = rc.PreviousAddress
		}
		switch acts := rc.Change.Actions; {
		case acts.Create():
			ch.Action, res.Add = ActionCreate, res.Add+1
		case acts.Update():
			ch.Action, res.Change = ActionUpdate, res.Change+1
		case acts.Replace():
			ch.Action, res.Replace = ActionReplace, res.Replace+1
		case acts.Delete():
			ch.Action, res.Destroy = ActionDelete, res.Destroy+1
		case acts.Forget():
			ch.Action, res.Forget = ActionForget, res.Forget+1
		case acts.NoOp() && (ch.Importing || ch.PreviousAddress != ""):
			ch.Action = ActionNoOp
		default:
			continue
		}
		if ch.Importing {
			res.Import++
		}
		if ch.PreviousAddress != "" {
			res.Move++
		}
		res.Changes = append(res.Changes, ch)
	}
	for _, oc := range plan.OutputChanges {
		if !oc.Actions.NoOp() {
			res.OutputChanges++
		}
	}
	return res
}
