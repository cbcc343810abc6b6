package runner_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/runner"
)

// direnvEnviron is a caller's environment for tests that evaluate .envrc
// files: the real direnv on PATH, and a HOME with no direnv helpers.
func direnvEnviron(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("direnv"); err != nil {
		t.Fatalf("direnv is not on PATH: install it (Debian: apt-get install direnv) to run these tests")
	}
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TF_CLI_CONFIG_FILE=" + os.DevNull, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
}

// components is a root module given to conf/acm as a path: it calls a
// module of its own with ./sub, which Terraform reads where it is.
func components(prefix string) map[string]string {
	return map[string]string{
		"components/acm/main.tf": `variable "name" {
  type = string
}

module "sub" {
  source = "./sub"
}

resource "terraform_data" "cert" {
  input = "${module.sub.prefix}${var.name}"
}

output "cert" {
  value = terraform_data.cert.output
}

output "text" {
  value = "${module.sub.prefix}${var.name}"
}
`,
		"components/acm/sub/main.tf": "output \"prefix\" {\n  value = \"" + prefix + "\"\n}\n",
	}
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestPathFromModuleSource: a -from-module source that is a path
// (TF_CLI_INIT_FROM_MODULE=../../components/acm, resolved from the project
// directory as Terraform does) is brought into the scratch checkout with
// what it calls: a change to the module's ./sub affects the project, the
// plan holds the commit's module (never the work tree's), and it applies.
func TestPathFromModuleSource(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	for _, tt := range []struct{ name, envrc, yaml string }{
		{name: "terraform.envrc", envrc: "export TF_CLI_INIT_FROM_MODULE=../../components/acm\n"},
		{name: "atoll.yaml", yaml: "projects:\n  - dir: conf/acm\n    source: ../../components//acm\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			project := map[string]string{
				"conf/acm/backend.tf":       backend(filepath.Join(stateDir, tt.name), "acm"),
				"conf/acm/terraform.tfvars": "name = \"acm.example.com\"\n",
			}
			if tt.envrc != "" {
				project["conf/acm/.envrc"] = tt.envrc
			}
			if tt.yaml != "" {
				project["atoll.yaml"] = tt.yaml
			}
			f := newFixture(t, merged(project, components("v1:")), components("v2:"))
			if len(f.targets) != 1 || f.targets[0].Project.Dir != "conf/acm" {
				t.Fatalf("targets = %+v: editing the module's ./sub must affect conf/acm", f.targets)
			}
			f.opts.Environ = direnvEnviron(t)
			// The work tree's copy is not what was committed: the plan
			// must not read it.
			if err := os.WriteFile(filepath.Join(f.sb.Work, "components/acm/sub/main.tf"), []byte("output \"prefix\" {\n  value = \"worktree:\"\n}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// The planned values are in the plan's JSON, kept when asked.
			f.opts.PlanJSON = true
			rep := f.plan(t)
			var plan struct {
				PlannedValues struct {
					Outputs map[string]struct{ Value any } `json:"outputs"`
				} `json:"planned_values"`
			}
			b, err := os.ReadFile(rep.Projects[0].PlanFile + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &plan); err != nil {
				t.Fatal(err)
			}
			if got := plan.PlannedValues.Outputs["text"].Value; got != "v2:acm.example.com" {
				t.Fatalf("planned text = %v, want v2:acm.example.com (the commit's module)", got)
			}
			arep, err := runner.Apply(context.Background(), f.opts, f.targets)
			if err != nil {
				t.Fatal(err)
			}
			if p := arep.Projects[0]; p.Status != runner.StatusApplied {
				t.Fatalf("apply: %s: %s", p.Status, p.Error)
			}
			st, err := os.ReadFile(filepath.Join(stateDir, tt.name, "acm.tfstate"))
			if err != nil || !strings.Contains(string(st), "v2:acm.example.com") {
				t.Errorf("state = %s, %v; want the applied cert", st, err)
			}
		})
	}
}

// TestPathFromModuleSourceUnknownToChangeDetection: a path source that only
// the shell can compute is refused before Terraform runs: change detection
// did not see it, so the checkout does not hold it. An absolute one is
// refused too (issue 7: outside the repository).
func TestPathFromModuleSourceUnknownToChangeDetection(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	for _, tt := range []struct{ name, envrc, want string }{
		{"computed", "export TF_CLI_INIT_FROM_MODULE=$(echo ../../components/acm)\n", "change detection did not read"},
		{"absolute", "export TF_CLI_INIT_FROM_MODULE=$PWD/../../components/acm\n", "is an absolute path, outside the repository"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			project := map[string]string{
				"conf/acm/backend.tf":       backend(filepath.Join(stateDir, tt.name), "acm"),
				"conf/acm/terraform.tfvars": "name = \"acm.example.com\"\n",
				"conf/acm/.envrc":           tt.envrc,
			}
			f := newFixture(t, merged(project, components("v1:")), map[string]string{"conf/acm/terraform.tfvars": "name = \"x\"\n"})
			f.opts.Environ = direnvEnviron(t)
			rep, err := runner.Plan(context.Background(), f.opts, f.targets)
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Projects[0]
			if p.Status != runner.StatusRefused || !strings.Contains(p.Error, tt.want) {
				t.Fatalf("plan = %s: %s; want refused: %s", p.Status, p.Error, tt.want)
			}
			if log, _ := os.ReadFile(p.LogFile); strings.Contains(string(log), "Copying configuration") {
				t.Errorf("Terraform ran: %s", log)
			}
		})
	}
}
