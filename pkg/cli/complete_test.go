package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ui"
)

func TestCompletionOfProjectsAndFlags(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{
		"conf/prod/vpc/main.tf":    "module \"n\" {\n  source = \"../../../modules/network\"\n}\n",
		"conf/staging/vpc/main.tf": "",
		"modules/network/main.tf":  "",
		"atoll.yaml":               "projects:\n  - dir: conf/staging/vpc\n    name: staging-vpc\n",
	})
	complete := func(args ...string) string {
		var out bytes.Buffer
		io := &ui.IO{Out: &out, Err: &bytes.Buffer{}}
		if code := Run(context.Background(), io, append([]string{"__complete", "-C", s.Work}, args...)); code != 0 {
			t.Fatalf("__complete %v: exit %d", args, code)
		}
		return out.String()
	}
	got := complete("changed", "")
	for _, want := range []string{"conf/prod/vpc\n", "staging-vpc\n", "conf/staging/vpc\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("changed completion lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "modules/network") {
		t.Errorf("a module was offered as a project:\n%s", got)
	}
	if got := complete("projects", "conf/p"); !strings.HasPrefix(got, "conf/prod/vpc\n") {
		t.Errorf("prefix completion:\n%s", got)
	}
	if got := complete("changed", "--output", ""); !strings.Contains(got, "github-matrix\n") || !strings.Contains(got, "markdown\n") {
		t.Errorf("--output completion:\n%s", got)
	}
	if got := complete("changed", "--base", ""); !strings.Contains(got, "origin/main\n") || !strings.Contains(got, "main\n") {
		t.Errorf("--base completion:\n%s", got)
	}
}
