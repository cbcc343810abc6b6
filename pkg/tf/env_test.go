package tf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/env"
)

// TestProjectEnvironment gives Terraform a project's environment and
// arguments: init gets the backend from -backend-config, plan sees the
// TF_VAR_* with the environment's precedence (below terraform.tfvars) and
// nothing of atoll's own environment, apply gets -parallelism.
func TestProjectEnvironment(t *testing.T) {
	// atoll's own environment must not reach Terraform (no t.Parallel:
	// Setenv).
	t.Setenv("TF_VAR_leak", "leaked")
	r := newRunner(t)
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "acm.tfstate")
	writeFile(t, filepath.Join(dir, "main.tf"), `terraform {
  backend "local" {}
}
variable "stage" { type = string }
variable "name" { type = string }
variable "leak" {
  type    = string
  default = "none"
}
resource "terraform_data" "x" { input = "${var.stage}-${var.name}-${var.leak}" }
output "x" { value = terraform_data.x.output }
`)
	writeFile(t, filepath.Join(dir, "terraform.tfvars"), "name = \"from-tfvars\"\n")
	r.Environ = map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.DevNull,
		"TF_VAR_stage": "prod", "TF_VAR_name": "from-env", "TF_LOG": "",
	}
	r.Args = map[string][]env.Arg{
		"init":  {{Flag: "-backend-config", Value: "path=" + state, HasValue: true, From: "TF_CLI_INIT_BACKEND_CONFIG_PATH"}},
		"plan":  {{Flag: "-parallelism", Value: "2", HasValue: true, From: "TF_CLI_PLAN_PARALLELISM"}},
		"apply": {{Flag: "-parallelism", Value: "3", HasValue: true, From: "TF_CLI_APPLY_PARALLELISM"}},
	}
	ctx := context.Background()
	if err := r.Init(ctx, dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	pr, err := r.Plan(ctx, dir, "p.tfplan", PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx, dir, pr.PlanFile); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("the backend did not get -backend-config: %v", err)
	}
	if !strings.Contains(string(b), `"prod-from-tfvars-none"`) {
		t.Errorf("state does not hold prod-from-tfvars-none:\n%s", b)
	}
}

func TestArgsRefusedNotDropped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd  string
		arg  env.Arg
		want string
	}{
		{"plan", env.Arg{Flag: "-out", Value: "x", HasValue: true, From: "TF_CLI_PLAN_OUT"}, "TF_CLI_PLAN_OUT gives terraform plan an argument \"-out=x\""},
		{"plan", env.Arg{Value: "/cache", From: "TF_CLI_PLAN"}, "TF_CLI_PLAN gives terraform plan a positional argument"},
		{"plan", env.Arg{Flag: "-frobnicate", From: "TF_CLI_ARGS_plan"}, "no such plan flag"},
		{"init", env.Arg{Flag: "-migrate-state", From: "TF_CLI_ARGS_init"}, "no such init flag"},
		{"apply", env.Arg{Flag: "-target", Value: "a.b", HasValue: true, From: "TF_CLI_ARGS_apply"}, "saved plan"},
		{"init", env.Arg{Flag: "-input", Value: "true", HasValue: true, From: "TF_CLI_ARGS"}, "prompt"},
	} {
		var err error
		switch tc.cmd {
		case "init":
			_, err = initArgs([]env.Arg{tc.arg})
		case "plan":
			_, err = planArgs([]env.Arg{tc.arg})
		case "apply":
			_, err = applyArgs([]env.Arg{tc.arg})
		}
		var ae *ArgError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want an ArgError saying %q", tc.cmd, tc.arg, err, tc.want)
		}
	}
	got, err := planArgs([]env.Arg{{Flag: "-var", Value: "a=b c", HasValue: true}, {Flag: "-refresh", Value: "false", HasValue: true}, {Flag: "-no-color"}})
	if err != nil || strings.Join(got, "|") != "-var=a=b c|-refresh=false" {
		t.Errorf("plan args %q, %v", got, err)
	}
	// apply's: what a saved plan still takes, as flags; -auto-approve is
	// atoll's anyway.
	got, err = applyArgs([]env.Arg{{Flag: "-parallelism", Value: "3", HasValue: true}, {Flag: "-auto-approve"}, {Flag: "-lock", Value: "false", HasValue: true}, {Flag: "-lock-timeout", Value: "5s", HasValue: true}})
	if err != nil || strings.Join(got, "|") != "-parallelism=3|-lock=false|-lock-timeout=5s" {
		t.Errorf("apply args %q, %v", got, err)
	}
	for _, bad := range []env.Arg{{Flag: "-parallelism", Value: "0", HasValue: true}, {Flag: "-lock", Value: "maybe", HasValue: true}, {Flag: "-lock-timeout"}} {
		if _, err := applyArgs([]env.Arg{bad}); err == nil {
			t.Errorf("apply arg %v accepted", bad)
		}
	}
	// init's are passed as given, but for -from-module (the caller's) and
	// what atoll always gives.
	got, err = initArgs([]env.Arg{{Flag: "-backend-config", Value: "key=a b", HasValue: true}, {Flag: "-upgrade"}, {Flag: "-from-module", Value: "../m", HasValue: true}, {Flag: "-input", Value: "false", HasValue: true}, {Flag: "-lock", Value: "false", HasValue: true}})
	if err != nil || strings.Join(got, "|") != "-backend-config=key=a b|-upgrade|-lock=false" {
		t.Errorf("init args %q, %v", got, err)
	}
	for _, bad := range []env.Arg{{Flag: "-backend-config"}, {Flag: "-upgrade", Value: "maybe", HasValue: true}} {
		if _, err := initArgs([]env.Arg{bad}); err == nil {
			t.Errorf("init arg %v accepted", bad)
		}
	}
}
