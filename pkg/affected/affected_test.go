package affected

import (
	"reflect"
	"testing"

	"github.com/atoll-tf/atoll/pkg/project"
)

var head = &project.Graph{Projects: []project.Project{
	{Name: "conf/prod/vpc", Dir: "conf/prod/vpc", Fingerprint: "vpc", Modules: []project.ModuleUse{
		{Dir: "modules/network", Chain: []string{"conf/prod/vpc", "modules/network"}},
		{Dir: "modules/subnets", Chain: []string{"conf/prod/vpc", "modules/network", "modules/subnets"}},
	}},
	{Name: "eks", Dir: "conf/prod/eks", Fingerprint: "eks", Watch: []string{"config/eks/**"}},
	{Name: "conf/prod/eks/addons", Dir: "conf/prod/eks/addons", Fingerprint: "addons"},
	{Name: "conf/staging/app", Dir: "conf/staging/app", Fingerprint: "app"},
}}

func names(ps []Project) map[string]Project {
	m := map[string]Project{}
	for _, p := range ps {
		m[p.Dir] = p
	}
	return m
}

func TestRules(t *testing.T) {
	tests := []struct {
		name    string
		changes []string
		watch   []string
		want    map[string][]Reason
	}{
		{"file inside a project", []string{"conf/staging/app/terraform.tfvars"}, nil,
			map[string][]Reason{"conf/staging/app": {{Kind: KindFile, Path: "conf/staging/app/terraform.tfvars"}}}},
		{"nested project owns its files", []string{"conf/prod/eks/addons/main.tf"}, nil,
			map[string][]Reason{"conf/prod/eks/addons": {{Kind: KindFile, Path: "conf/prod/eks/addons/main.tf"}}}},
		{"transitive module", []string{"modules/subnets/main.tf"}, nil,
			map[string][]Reason{"conf/prod/vpc": {{Kind: KindModule, Path: "modules/subnets/main.tf", Via: []string{"conf/prod/vpc", "modules/network", "modules/subnets"}}}}},
		{"file in a module's subdirectory", []string{"modules/network/templates/x.tpl"}, nil,
			map[string][]Reason{"conf/prod/vpc": {{Kind: KindModule, Path: "modules/network/templates/x.tpl", Via: []string{"conf/prod/vpc", "modules/network"}}}}},
		{"project watch glob", []string{"config/eks/values.yaml"}, nil,
			map[string][]Reason{"conf/prod/eks": {{Kind: KindWatch, Path: "config/eks/values.yaml", Via: []string{"config/eks/**"}}}}},
		{"global watch naming a directory covers its files", []string{"shared/versions/aws.tf"}, []string{"shared/versions"},
			map[string][]Reason{
				"conf/prod/vpc":        {{Kind: KindGlobalWatch, Path: "shared/versions/aws.tf", Via: []string{"shared/versions"}}},
				"conf/prod/eks":        {{Kind: KindGlobalWatch, Path: "shared/versions/aws.tf", Via: []string{"shared/versions"}}},
				"conf/prod/eks/addons": {{Kind: KindGlobalWatch, Path: "shared/versions/aws.tf", Via: []string{"shared/versions"}}},
				"conf/staging/app":     {{Kind: KindGlobalWatch, Path: "shared/versions/aws.tf", Via: []string{"shared/versions"}}},
			}},
		{"parent .envrc", []string{"conf/prod/.envrc"}, nil,
			map[string][]Reason{
				"conf/prod/vpc":        {{Kind: KindEnvrc, Path: "conf/prod/.envrc"}},
				"conf/prod/eks":        {{Kind: KindEnvrc, Path: "conf/prod/.envrc"}},
				"conf/prod/eks/addons": {{Kind: KindEnvrc, Path: "conf/prod/.envrc"}},
			}},
		{"a project's own .envrc is a file of that project only", []string{"conf/prod/eks/.envrc"}, nil,
			map[string][]Reason{
				"conf/prod/eks":        {{Kind: KindFile, Path: "conf/prod/eks/.envrc"}},
				"conf/prod/eks/addons": {{Kind: KindEnvrc, Path: "conf/prod/eks/.envrc"}},
			}},
		{"unrelated file", []string{"README.md", "modules/unused/main.tf", "conf/prodx/y"}, nil, map[string][]Reason{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch []Change
			for _, p := range tt.changes {
				ch = append(ch, Change{Path: p, Action: "modified"})
			}
			got := names(Compute(Input{Changes: ch, Head: head, Base: head, Watch: tt.watch}))
			if len(got) != len(tt.want) {
				t.Fatalf("affected = %v, want %v", got, tt.want)
			}
			for dir, reasons := range tt.want {
				if p, ok := got[dir]; !ok || !reflect.DeepEqual(p.Reasons, reasons) || p.Status != Modified {
					t.Errorf("%s = %+v, want reasons %+v", dir, p, reasons)
				}
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	base := &project.Graph{Projects: []project.Project{
		{Name: "conf/old", Dir: "conf/old", Fingerprint: "old"},
		{Name: "conf/moved", Dir: "conf/moved", Fingerprint: "same"},
		{Name: "conf/kept", Dir: "conf/kept", Fingerprint: "kept"},
	}}
	headG := &project.Graph{Projects: []project.Project{
		{Name: "conf/kept", Dir: "conf/kept", Fingerprint: "kept2"},
		{Name: "conf/new", Dir: "conf/new", Fingerprint: "new"},
		{Name: "conf/renamed", Dir: "conf/renamed", Fingerprint: "same"},
	}}
	changes := []Change{
		{Path: "conf/kept/main.tf", Action: "modified"},
		{Path: "conf/new/main.tf", Action: "added"},
		{Path: "conf/old/main.tf", Action: "deleted"},
		{Path: "conf/moved/main.tf", Action: "deleted"},
		{Path: "conf/renamed/main.tf", Action: "added"},
	}
	got := names(Compute(Input{Changes: changes, Head: headG, Base: base}))
	want := map[string]Status{"conf/kept": Modified, "conf/new": Added, "conf/old": Deleted, "conf/renamed": Renamed}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for dir, st := range want {
		if got[dir].Status != st {
			t.Errorf("%s: status %s, want %s", dir, got[dir].Status, st)
		}
	}
	if got["conf/renamed"].From != "conf/moved" {
		t.Errorf("renamed from %q, want conf/moved", got["conf/renamed"].From)
	}
	if r := got["conf/old"].Reasons; len(r) != 1 || r[0].Path != "conf/old/main.tf" {
		t.Errorf("deleted project reasons = %v", r)
	}
}

func TestSortedAndDeduplicated(t *testing.T) {
	ch := []Change{{Path: "conf/staging/app/a", Action: "modified"}, {Path: "conf/prod/vpc/b", Action: "modified"}, {Path: "conf/prod/vpc/b", Action: "modified"}}
	got := Compute(Input{Changes: ch, Head: head, Base: head})
	if len(got) != 2 || got[0].Dir != "conf/prod/vpc" || got[1].Dir != "conf/staging/app" || len(got[0].Reasons) != 1 {
		t.Errorf("got %+v", got)
	}
}

// Identical geodesic projects (same files, state key from the path) make a
// move ambiguous: then they are reported as deleted and added, not guessed.
func TestAmbiguousMoveIsNotARename(t *testing.T) {
	base := &project.Graph{Projects: []project.Project{
		{Name: "conf/a", Dir: "conf/a", Fingerprint: "same"},
		{Name: "conf/b", Dir: "conf/b", Fingerprint: "same"},
	}}
	headG := &project.Graph{Projects: []project.Project{{Name: "conf/c", Dir: "conf/c", Fingerprint: "same"}}}
	changes := []Change{{Path: "conf/a/main.tf", Action: "deleted"}, {Path: "conf/b/main.tf", Action: "deleted"}, {Path: "conf/c/main.tf", Action: "added"}}
	got := names(Compute(Input{Changes: changes, Head: headG, Base: base}))
	if got["conf/a"].Status != Deleted || got["conf/b"].Status != Deleted || got["conf/c"].Status != Added {
		t.Errorf("got %+v", got)
	}
}

// TestNestedDirectories: a file belongs to the deepest project directory
// holding it unless a directory with Terraform files of its own (a module,
// an excluded directory) comes first; each side of the change is judged
// by its own tree, so deleting or moving a nested project leaves its
// parent alone.
func TestNestedDirectories(t *testing.T) {
	app := project.Project{Name: "conf/app", Dir: "conf/app", Fingerprint: "app", Modules: []project.ModuleUse{
		{Dir: "conf/app/mods/net", Chain: []string{"conf/app", "conf/app/mods/net"}},
	}}
	sub := project.Project{Name: "conf/app/sub", Dir: "conf/app/sub", Fingerprint: "sub"}
	moved := project.Project{Name: "conf/app/sub2", Dir: "conf/app/sub2", Fingerprint: "sub"}
	tf := []string{"conf/app", "conf/app/examples", "conf/app/mods/net", "conf/app/mods/net/examples", "conf/app/other"}
	base := &project.Graph{Projects: []project.Project{app, sub}, TerraformDirs: append(tf, "conf/app/sub")}
	tests := []struct {
		name    string
		head    []project.Project
		changes []Change
		want    map[string]Status
	}{
		{"deleting a nested project", []project.Project{app}, []Change{{"conf/app/sub/main.tf", "deleted"}, {"conf/app/sub/files/x", "deleted"}},
			map[string]Status{"conf/app/sub": Deleted}},
		{"renaming a nested project", []project.Project{app, moved}, []Change{{"conf/app/sub/main.tf", "deleted"}, {"conf/app/sub2/main.tf", "added"}},
			map[string]Status{"conf/app/sub2": Renamed}},
		{"an excluded directory with its own .tf files", []project.Project{app, sub}, []Change{{"conf/app/examples/main.tf", "modified"}, {"conf/app/examples/files/y", "added"}},
			map[string]Status{}},
		{"a module the project does not call", []project.Project{app, sub}, []Change{{"conf/app/other/main.tf", "modified"}},
			map[string]Status{}},
		{"a module the project calls: the module rule", []project.Project{app, sub}, []Change{{"conf/app/mods/net/main.tf", "modified"}, {"conf/app/mods/net/templates/t", "modified"}},
			map[string]Status{"conf/app": Modified}},
		{"a directory with .tf files inside a module is no part of it", []project.Project{app, sub}, []Change{{"conf/app/mods/net/examples/main.tf", "modified"}},
			map[string]Status{}},
		{"plain subdirectories still belong to the project", []project.Project{app, sub}, []Change{{"conf/app/files/a.json", "modified"}, {"conf/app/mods/readme.md", "deleted"}},
			map[string]Status{"conf/app": Modified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headTF := tf
			for _, p := range tt.head {
				headTF = append(headTF, p.Dir)
			}
			headG := &project.Graph{Projects: tt.head, TerraformDirs: headTF}
			got := map[string]Status{}
			for _, p := range Compute(Input{Changes: tt.changes, Head: headG, Base: base}) {
				got[p.Dir] = p.Status
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("affected %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSymlinkRules: a changed file a symlink leads to (a single file or a
// directory), a changed symlink that resolution went through, and a
// changed path where a module's directory (or a parent of it) is, all
// affect the project.
func TestSymlinkRules(t *testing.T) {
	g := &project.Graph{Projects: []project.Project{
		{Name: "conf/app", Dir: "conf/app", Links: []string{"shared/common.tf", "shared/templates"}, Symlinks: []string{"shared/link.tf"}},
		{Name: "conf/s", Dir: "conf/s", Symlinks: []string{"modules/link"}, Modules: []project.ModuleUse{
			{Dir: "modules/real/sub", Chain: []string{"conf/s", "modules/real/sub"}},
		}},
	}}
	tests := []struct {
		change Change
		dir    string
		want   Reason
	}{
		{Change{"shared/common.tf", "modified"}, "conf/app", Reason{Kind: KindSymlink, Path: "shared/common.tf", Via: []string{"shared/common.tf"}}},
		{Change{"shared/templates/a.tpl", "modified"}, "conf/app", Reason{Kind: KindSymlink, Path: "shared/templates/a.tpl", Via: []string{"shared/templates"}}},
		{Change{"shared/link.tf", "modified"}, "conf/app", Reason{Kind: KindSymlink, Path: "shared/link.tf", Via: []string{"shared/link.tf"}}},
		{Change{"modules/link", "modified"}, "conf/s", Reason{Kind: KindSymlink, Path: "modules/link", Via: []string{"modules/link"}}},
		{Change{"modules/real", "deleted"}, "conf/s", Reason{Kind: KindModule, Path: "modules/real", Via: []string{"conf/s", "modules/real/sub"}}},
		{Change{"modules/real/sub", "deleted"}, "conf/s", Reason{Kind: KindModule, Path: "modules/real/sub", Via: []string{"conf/s", "modules/real/sub"}}},
	}
	for _, tt := range tests {
		got := Compute(Input{Changes: []Change{tt.change}, Head: g, Base: g})
		if len(got) != 1 || got[0].Dir != tt.dir || !reflect.DeepEqual(got[0].Reasons, []Reason{tt.want}) {
			t.Errorf("%s: got %+v, want %s with %+v", tt.change.Path, got, tt.dir, tt.want)
		}
	}
	if got := Compute(Input{Changes: []Change{{"modules/realx", "modified"}, {"shared/common.tf.bak", "modified"}}, Head: g, Base: g}); len(got) != 0 {
		t.Errorf("look-alike paths affected %+v", got)
	}
}
