package affected

import (
	"reflect"
	"testing"
)

// TestChangeAtTheModuleDirectory: a submodule bump is a change at the
// module directory's own path; it affects every project using the module.
func TestChangeAtTheModuleDirectory(t *testing.T) {
	got := Compute(Input{Changes: []Change{{Path: "modules/subnets", Action: "modified"}}, Head: head, Base: head})
	want := []Project{{Name: "conf/prod/vpc", Dir: "conf/prod/vpc", Status: Modified, Reasons: []Reason{
		{Kind: KindModule, Path: "modules/subnets", Via: []string{"conf/prod/vpc", "modules/network", "modules/subnets"}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := Compute(Input{Changes: []Change{{Path: "modules/subnets-old", Action: "modified"}}, Head: head, Base: head}); len(got) != 0 {
		t.Errorf("a sibling path with the module's name as prefix: %+v", got)
	}
}
