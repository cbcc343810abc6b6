package affected

import (
	"reflect"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
)

// These tests pin behaviours that a plausible one-line change would break
// without any other test noticing (issue 12).

func modified(paths ...string) []Change {
	var ch []Change
	for _, p := range paths {
		ch = append(ch, Change{Path: p, Action: "modified"})
	}
	return ch
}

func TestRootEnvrcAffectsEveryProject(t *testing.T) {
	got := names(Compute(Input{Changes: modified(".envrc"), Head: head, Base: head}))
	if len(got) != len(head.Projects) {
		t.Fatalf("a root .envrc affects %d projects, want all %d: %+v", len(got), len(head.Projects), got)
	}
	for _, p := range head.Projects {
		want := []Reason{{Kind: KindEnvrc, Path: ".envrc"}}
		if !reflect.DeepEqual(got[p.Dir].Reasons, want) {
			t.Errorf("%s reasons = %+v, want %+v", p.Dir, got[p.Dir].Reasons, want)
		}
	}
}

func TestEnvrcInASiblingDirectoryAffectsNothing(t *testing.T) {
	// conf/prodx is not a parent of conf/prod/...: prefix matching on the
	// bare string would say it is.
	got := Compute(Input{Changes: modified("conf/pro/.envrc", "conf/prod/vpc2/.envrc"), Head: head, Base: head})
	if len(got) != 0 {
		t.Errorf("affected = %+v, want none", got)
	}
}

func TestSymlinkToASingleFile(t *testing.T) {
	g := &project.Graph{Projects: []project.Project{
		{Name: "a", Dir: "conf/a", Fingerprint: "a", Links: []string{"shared/versions.tf"}},
		{Name: "b", Dir: "conf/b", Fingerprint: "b", Links: []string{"shared/dir"}},
	}}
	got := names(Compute(Input{Changes: modified("shared/versions.tf", "shared/versions.tf.bak", "shared/dir/x.tf", "shared/dirx/y.tf"), Head: g, Base: g}))
	want := map[string][]Reason{
		"conf/a": {{Kind: KindSymlink, Path: "shared/versions.tf", Via: []string{"shared/versions.tf"}}},
		"conf/b": {{Kind: KindSymlink, Path: "shared/dir/x.tf", Via: []string{"shared/dir"}}},
	}
	if len(got) != len(want) {
		t.Fatalf("affected = %+v, want %v", got, want)
	}
	for dir, r := range want {
		if !reflect.DeepEqual(got[dir].Reasons, r) {
			t.Errorf("%s reasons = %+v, want %+v", dir, got[dir].Reasons, r)
		}
	}
}

func TestNowAModuleComesFromHeadsGraph(t *testing.T) {
	// At the merge-base conf/shared is a project nobody calls; at HEAD it
	// is gone as a project and conf/app calls it as a module.
	base := &project.Graph{Projects: []project.Project{
		{Name: "app", Dir: "conf/app", Fingerprint: "app"},
		{Name: "shared", Dir: "conf/shared", Fingerprint: "shared"},
	}}
	head := &project.Graph{Projects: []project.Project{
		{Name: "app", Dir: "conf/app", Fingerprint: "app2", Modules: []project.ModuleUse{
			{Dir: "conf/shared", Chain: []string{"conf/app", "conf/shared"}},
		}},
	}}
	got := names(Compute(Input{Changes: modified("conf/app/main.tf", "conf/shared/backend.tf"), Head: head, Base: base}))
	sh, ok := got["conf/shared"]
	if !ok || sh.Status != Deleted {
		t.Fatalf("conf/shared = %+v, want deleted", got)
	}
	want := []Reason{
		{Kind: KindFile, Path: "conf/shared/backend.tf"},
		{Kind: KindNowModule, Path: "conf/shared", Via: []string{"conf/app"}},
	}
	if !reflect.DeepEqual(sh.Reasons, want) {
		t.Errorf("conf/shared reasons = %+v, want %+v", sh.Reasons, want)
	}
	// The reverse: a base graph where it was a module and HEAD where no one
	// calls it gives no now-a-module reason.
	base2 := &project.Graph{Projects: []project.Project{
		{Name: "app", Dir: "conf/app", Fingerprint: "app", Modules: []project.ModuleUse{{Dir: "conf/shared", Chain: []string{"conf/app", "conf/shared"}}}},
		{Name: "shared", Dir: "conf/shared", Fingerprint: "shared"},
	}}
	head2 := &project.Graph{Projects: []project.Project{{Name: "app", Dir: "conf/app", Fingerprint: "app2"}}}
	got = names(Compute(Input{Changes: modified("conf/app/main.tf"), Head: head2, Base: base2}))
	if r := got["conf/shared"].Reasons; len(r) != 0 {
		t.Errorf("no caller at HEAD: reasons = %+v, want none", r)
	}
}

func TestConfigReasons(t *testing.T) {
	got := names(Compute(Input{Head: head, Base: head, ConfigFile: "atoll.yaml", ConfigProjects: []string{"conf/prod/eks"}}))
	want := []Reason{{Kind: KindConfig, Path: "atoll.yaml", Via: []string{"projects: conf/prod/eks"}}}
	if len(got) != 1 || !reflect.DeepEqual(got["conf/prod/eks"].Reasons, want) {
		t.Errorf("entry change: %+v, want only conf/prod/eks with %+v", got, want)
	}
	got = names(Compute(Input{Head: head, Base: head, ConfigFile: "atoll.yaml", ConfigGlobal: true, ConfigProjects: []string{"conf/prod/eks"}}))
	if len(got) != len(head.Projects) {
		t.Errorf("global change affects %d projects, want %d", len(got), len(head.Projects))
	}
	for dir, p := range got {
		if len(p.Reasons) != 1 || p.Reasons[0].Kind != KindConfig {
			t.Errorf("%s reasons = %+v", dir, p.Reasons)
		}
	}
	// No config file named: ConfigGlobal alone says nothing.
	if got := Compute(Input{Head: head, Base: head, ConfigGlobal: true}); len(got) != 0 {
		t.Errorf("no config file: %+v", got)
	}
}

// TestReasonsDeduplicatedOnKindAndPath: a reason is dropped only when one
// of the same kind for the same path is there already. Two files of one
// project are two reasons; one path reached two ways (a file of the
// project, and its watch glob) is two reasons.
func TestReasonsDeduplicatedOnKindAndPath(t *testing.T) {
	g := &project.Graph{Projects: []project.Project{
		{Name: "a", Dir: "conf/a", Fingerprint: "a", Watch: []string{"conf/a/*.tf"}},
	}}
	got := names(Compute(Input{Changes: modified("conf/a/main.tf", "conf/a/vars.tf", "conf/a/main.tf"), Head: g, Base: g}))
	want := []Reason{
		{Kind: KindFile, Path: "conf/a/main.tf"},
		{Kind: KindWatch, Path: "conf/a/main.tf", Via: []string{"conf/a/*.tf"}},
		{Kind: KindFile, Path: "conf/a/vars.tf"},
		{Kind: KindWatch, Path: "conf/a/vars.tf", Via: []string{"conf/a/*.tf"}},
	}
	if !reflect.DeepEqual(got["conf/a"].Reasons, want) {
		t.Errorf("reasons = %+v\nwant %+v", got["conf/a"].Reasons, want)
	}
}

// TestModuleBoundaryOnBothSides: walking up from a modified file, a
// directory with Terraform files of its own ends the walk only when it has
// them on both sides. modules/net/sub had a .tf file at the merge-base
// that HEAD removed: at HEAD the changed data file belongs to the module.
func TestModuleBoundaryOnBothSides(t *testing.T) {
	use := []project.ModuleUse{{Dir: "modules/net", Chain: []string{"conf/a", "modules/net"}}}
	base := &project.Graph{Projects: []project.Project{{Name: "a", Dir: "conf/a", Fingerprint: "a", Modules: use}},
		TerraformDirs: []string{"modules/net", "modules/net/sub"}}
	head := &project.Graph{Projects: []project.Project{{Name: "a", Dir: "conf/a", Fingerprint: "a", Modules: use}},
		TerraformDirs: []string{"modules/net"}}
	want := []Reason{{Kind: KindModule, Path: "modules/net/sub/data.json", Via: []string{"conf/a", "modules/net"}}}
	for _, side := range []struct {
		name       string
		head, base *project.Graph
	}{{"a boundary only at the merge-base", head, base}, {"a boundary only at HEAD", base, head}} {
		got := names(Compute(Input{Changes: modified("modules/net/sub/data.json"), Head: side.head, Base: side.base}))
		if !reflect.DeepEqual(got["conf/a"].Reasons, want) {
			t.Errorf("%s: conf/a reasons = %+v, want %+v", side.name, got["conf/a"].Reasons, want)
		}
	}
	// A boundary on both sides: not the module's file.
	got := Compute(Input{Changes: modified("modules/net/sub/data.json"), Head: base, Base: base})
	if len(got) != 0 {
		t.Errorf("a boundary on both sides: affected = %+v, want none", got)
	}
}

// TestDeletedProjectConfigReason: a deleted project gets a config reason
// only when atoll.yaml is named and its entry changed.
func TestDeletedProjectConfigReason(t *testing.T) {
	base := &project.Graph{Projects: []project.Project{
		{Name: "a", Dir: "conf/a", Fingerprint: "a"},
		{Name: "b", Dir: "conf/b", Fingerprint: "b"},
	}}
	head := &project.Graph{}
	got := names(Compute(Input{Head: head, Base: base, ConfigFile: "atoll.yaml", ConfigProjects: []string{"conf/a"}}))
	want := map[string][]Reason{
		"conf/a": {{Kind: KindConfig, Path: "atoll.yaml", Via: []string{"projects: conf/a"}}},
		"conf/b": {},
	}
	for dir, r := range want {
		if got[dir].Status != Deleted || !reflect.DeepEqual(got[dir].Reasons, r) {
			t.Errorf("%s = %+v, want deleted with reasons %+v", dir, got[dir], r)
		}
	}
	// No configuration file: no config reason, whatever the entries say.
	got = names(Compute(Input{Head: head, Base: base, ConfigProjects: []string{"conf/a"}}))
	if r := got["conf/a"].Reasons; len(r) != 0 {
		t.Errorf("no config file: conf/a reasons = %+v, want none", r)
	}
}

// TestRenameOnlyToAnAddedProject: a deleted project whose files a
// project that already existed has too is deleted, not renamed into it.
func TestRenameOnlyToAnAddedProject(t *testing.T) {
	base := &project.Graph{Projects: []project.Project{
		{Name: "a", Dir: "conf/a", Fingerprint: "same"},
		{Name: "b", Dir: "conf/b", Fingerprint: "old-b"},
	}}
	head := &project.Graph{Projects: []project.Project{{Name: "b", Dir: "conf/b", Fingerprint: "same"}}}
	got := names(Compute(Input{Changes: []Change{{Path: "conf/a/main.tf", Action: "deleted"}, {Path: "conf/b/main.tf", Action: "modified"}}, Head: head, Base: base}))
	if got["conf/a"].Status != Deleted || got["conf/b"].Status != Modified || got["conf/b"].From != "" {
		t.Errorf("affected = %+v, want conf/a deleted and conf/b modified", got)
	}
}
