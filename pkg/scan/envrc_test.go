package scan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestExportMovedIntoTerraformEnvrc: a real geodesic commit moved the
// TF_CLI_INIT_FROM_MODULE export from .envrc into terraform.envrc, which
// .envrc sources with `use envrc`. The project is the same project,
// modified, never deleted.
func TestExportMovedIntoTerraformEnvrc(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/dns/.envrc":           "source_up\nexport TF_CLI_INIT_FROM_MODULE=\"git::https://example.com/dns.git?ref=v1\"\n",
		"conf/dns/terraform.tfvars": "zone = \"example.com\"\n",
		"conf/vpc/main.tf":          "",
	})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("move the export", map[string]string{
		"conf/dns/.envrc":          "source_up\nuse envrc\n",
		"conf/dns/terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=\"git::https://example.com/dns.git?ref=v2\"\n",
	})
	res := run(t, s.Work, Options{})
	if got, want := statuses(res), map[string]affected.Status{"conf/dns": affected.Modified}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// TestUnrecognisedIsNotDeleted: a project whose directory still holds
// files but that HEAD no longer recognises as one (here its export went
// into a file its .envrc does not source) is not deleted: a warning says
// why. Removing the directory is what deletes it.
func TestUnrecognisedIsNotDeleted(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/dns/.envrc":           "export TF_CLI_INIT_FROM_MODULE=git::https://example.com/dns.git\n",
		"conf/dns/terraform.tfvars": "zone = \"example.com\"\n",
		"conf/app/main.tf":          "",
	})
	s.Git("checkout", "-q", "-b", "feature")
	s.Commit("export in a file nothing sources", map[string]string{
		"conf/dns/.envrc":          "source_up\n",
		"conf/dns/terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=git::https://example.com/dns.git\n",
	})
	res := run(t, s.Work, Options{})
	if got := statuses(res); len(got) != 0 {
		t.Errorf("statuses = %v, want none (conf/dns is no project at HEAD, and not deleted)", got)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "conf/dns: a project at the merge-base, but not at HEAD, where its directory still holds files") || !strings.Contains(res.Warnings[0], "not reported as deleted") {
		t.Errorf("warnings = %q", res.Warnings)
	}

	s.Git("rm", "-q", "-r", "conf/dns")
	s.Git("commit", "-q", "-m", "really delete dns")
	res = run(t, s.Work, Options{})
	if got, want := statuses(res), map[string]affected.Status{"conf/dns": affected.Deleted}; !reflect.DeepEqual(got, want) {
		t.Errorf("after removing the directory: statuses = %v, want %v", got, want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q", res.Warnings)
	}

	// The same for a project that loses its last .tf file but keeps others.
	s.Git("checkout", "-q", "-b", "tf", "main")
	s.Git("rm", "-q", "conf/app/main.tf")
	s.Commit("app keeps only its tfvars", map[string]string{"conf/app/terraform.tfvars": "x = 1\n"})
	res = run(t, s.Work, Options{})
	if got := statuses(res); len(got) != 0 {
		t.Errorf("statuses = %v, want none", got)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "conf/app: a project at the merge-base, but not at HEAD") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}
