package affected

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
)

// TestRemainingDirectoryIsNotDeleted: deleted means the directory is gone.
// A merge-base project that HEAD does not recognise while its directory
// still holds files gets a warning, not a destroy; one whose directory is
// now called as a module stays deleted (its own state still exists).
func TestRemainingDirectoryIsNotDeleted(t *testing.T) {
	base := &project.Graph{Projects: []project.Project{
		{Name: "conf/dns", Dir: "conf/dns", Fingerprint: "dns"},
		{Name: "conf/gone", Dir: "conf/gone", Fingerprint: "gone"},
		{Name: "conf/lib", Dir: "conf/lib", Fingerprint: "lib"},
	}}
	head := &project.Graph{Projects: []project.Project{
		{Name: "conf/app", Dir: "conf/app", Fingerprint: "app", Modules: []project.ModuleUse{{Dir: "conf/lib", Chain: []string{"conf/app", "conf/lib"}}}},
	}}
	in := Input{
		Changes:   []Change{{Path: "conf/dns/.envrc", Action: "modified"}, {Path: "conf/gone/main.tf", Action: "deleted"}, {Path: "conf/app/main.tf", Action: "added"}},
		Head:      head,
		Base:      base,
		Remaining: map[string]bool{"conf/dns": true, "conf/lib": true},
	}
	got := map[string]Status{}
	for _, p := range Compute(in) {
		got[p.Dir] = p.Status
	}
	want := map[string]Status{"conf/app": Added, "conf/gone": Deleted, "conf/lib": Deleted}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	w := Unrecognised(in)
	if len(w) != 1 || !strings.HasPrefix(w[0], "conf/dns: a project at the merge-base, but not at HEAD") {
		t.Errorf("warnings = %q", w)
	}
	in.Remaining = nil
	if w := Unrecognised(in); len(w) != 0 {
		t.Errorf("without remaining directories: warnings = %q", w)
	}
}
