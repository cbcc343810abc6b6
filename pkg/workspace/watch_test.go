package workspace

import (
	"context"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
)

// TestWatchGlobForms: a watch entry brings into the checkout the files it
// matches and the files in the directories it matches, in each of its
// forms: a literal file, a literal directory (with or without a trailing
// slash), a pattern, a pattern that matches directories, and names that
// match nothing (no error, nothing written).
func TestWatchGlobForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"conf/a/main.tf":         "a",
		"shared/one.yaml":        "1",
		"shared/one.yaml.bak":    "b",
		"shared/sub/two.yaml":    "2",
		"policies/x/deny.rego":   "x",
		"policies/x/n/more.rego": "m",
		"policies/y/deny.rego":   "y",
		"other/z.txt":            "z",
		"lit/dir/f.txt":          "f",
		"lit/dirx/g.txt":         "g",
	})
	head := f.head(t)
	projects := []project.Project{{Dir: "conf/a"}}
	for _, tt := range []struct {
		watch []string
		want  []string
	}{
		{[]string{"shared/one.yaml"}, []string{"shared/one.yaml"}},
		{[]string{"./shared//one.yaml"}, []string{"shared/one.yaml"}},
		{[]string{"lit/dir"}, []string{"lit/dir/f.txt"}},
		{[]string{"lit/dir/"}, []string{"lit/dir/f.txt"}},
		{[]string{"shared/*.yaml"}, []string{"shared/one.yaml"}},
		{[]string{"shared/**/*.yaml"}, []string{"shared/one.yaml", "shared/sub/two.yaml"}},
		{[]string{"policies/*"}, []string{"policies/x/deny.rego", "policies/x/n/more.rego", "policies/y/deny.rego"}},
		{[]string{"policies/{x,q}/*.rego"}, []string{"policies/x/deny.rego"}},
		{[]string{"nothing/here", "nothing/*.txt", "shared/one.yml"}, nil},
	} {
		// One checkout at a time: a second build of the commit waits
		// for the first to be closed.
		co, err := Materialize(context.Background(), f.workdir, f.repo, head, projects, tt.watch)
		if err != nil {
			t.Fatalf("watch %s: %v", strings.Join(tt.watch, ", "), err)
		}
		sameList(t, "watch "+strings.Join(tt.watch, ", "), listTree(t, co.Root), append([]string{"conf/a/main.tf"}, tt.want...))
		if err := co.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
