package project

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
)

// mapTree is an in-memory Tree; paths ending in "@" are symlinks to the
// content.
type mapTree map[string]string

func (m mapTree) Files(skip func(string) bool) ([]File, error) {
	var out []File
	for p, c := range m {
		link := strings.HasSuffix(p, "@")
		p = strings.TrimSuffix(p, "@")
		skipped := false
		for dir := parent(p); dir != "."; dir = parent(dir) {
			if skip(dir) {
				skipped = true
			}
		}
		if !skipped {
			out = append(out, File{Path: p, ID: fmt.Sprintf("%x", c), Symlink: link})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (m mapTree) Read(f File) ([]byte, error) {
	if f.Symlink {
		return []byte(m[f.Path+"@"]), nil
	}
	c, ok := m[f.Path]
	if !ok {
		return nil, errors.New("no such file: " + f.Path)
	}
	return []byte(c), nil
}

func parent(p string) string {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "."
	}
	return p[:i]
}

func mod(src string) string { return fmt.Sprintf("module \"m\" {\n  source = %q\n}\n", src) }

func dirs(g *Graph) []string {
	var out []string
	for _, p := range g.Projects {
		out = append(out, p.Dir)
	}
	return out
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name     string
		tree     mapTree
		cfg      config.Config
		projects []string
	}{
		{
			name: "geodesic layout: conf is the root, modules are not projects",
			tree: mapTree{
				"conf/prod/vpc/main.tf":         mod("../../../modules/network"),
				"conf/prod/eks/main.tf":         `resource "terraform_data" "x" {}`,
				"modules/network/main.tf":       mod("../subnets"),
				"modules/subnets/main.tf":       "",
				"README.md":                     "",
				"conf/prod/vpc/.terraform/x.tf": "never scanned",
			},
			projects: []string{"conf/prod/eks", "conf/prod/vpc"},
		},
		{
			name: "typical monorepo: the whole repository, used directories are modules",
			tree: mapTree{
				"stacks/a/main.tf":      mod("../../shared/m"),
				"shared/m/main.tf":      "",
				"shared/unused/main.tf": "",
				"stacks/b/main.tf.json": `{"resource": {}}`,
				"stacks/c/main.tofu":    "",
			},
			projects: []string{"shared/unused", "stacks/a", "stacks/b", "stacks/c"},
		},
		{
			name: "tfvars-only geodesic project pulls its code with -from-module",
			tree: mapTree{
				"conf/app/.envrc":           "export TF_CLI_INIT_FROM_MODULE=git::https://example.com/app.git\n",
				"conf/app/terraform.tfvars": "x = 1",
				"conf/other/.envrc":         "export TF_VAR_x=1\n",
			},
			projects: []string{"conf/app"},
		},
		{
			name: "declared module directory is a project; exclusions prune",
			tree: mapTree{
				"conf/a/main.tf":          mod("../shared"),
				"conf/shared/main.tf":     "",
				"conf/examples/x/main.tf": "",
			},
			cfg:      config.Config{Projects: []config.Project{{Dir: "conf/shared"}}, Exclude: []string{"conf/examples"}},
			projects: []string{"conf/a", "conf/shared"},
		},
		{
			name:     "explicit roots",
			tree:     mapTree{"live/a/main.tf": "", "conf/b/main.tf": ""},
			cfg:      config.Config{Roots: []string{"live"}},
			projects: []string{"live/a"},
		},
		{
			name: "paths with spaces and non-ASCII names",
			tree: mapTree{
				"conf/my project/main.tf": mod("../../modules/ré seau"),
				"modules/ré seau/main.tf": "",
			},
			projects: []string{"conf/my project"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			g, err := Discover(tt.tree, &cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dirs(g); !reflect.DeepEqual(got, tt.projects) {
				t.Errorf("projects = %v, want %v", got, tt.projects)
			}
		})
	}
}

func TestModuleClosureAndChains(t *testing.T) {
	tree := mapTree{
		"conf/prod/vpc/main.tf":         mod("../../../modules/network"),
		"modules/network/main.tf":       mod("../subnets"),
		"modules/network/extra.tf":      "module \"remote\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n",
		"modules/subnets/main.tf":       mod("./inner"),
		"modules/subnets/inner/main.tf": "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Projects) != 1 {
		t.Fatalf("projects = %v", dirs(g))
	}
	want := []ModuleUse{
		{Dir: "modules/network", Chain: []string{"conf/prod/vpc", "modules/network"}},
		{Dir: "modules/subnets", Chain: []string{"conf/prod/vpc", "modules/network", "modules/subnets"}},
		{Dir: "modules/subnets/inner", Chain: []string{"conf/prod/vpc", "modules/network", "modules/subnets", "modules/subnets/inner"}},
	}
	if got := g.Projects[0].Modules; !reflect.DeepEqual(got, want) {
		t.Errorf("modules = %+v\nwant %+v", got, want)
	}
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name string
		tree mapTree
		want string
	}{
		{"source leaves the repository", mapTree{"conf/a/main.tf": mod("../../../outside")}, "conf/a/main.tf:2: module \"m\": source \"../../../outside\" resolves to ../outside, outside the repository"},
		{"module cycle", mapTree{
			"conf/a/main.tf":    mod("../../modules/x"),
			"modules/x/main.tf": mod("../y"),
			"modules/y/main.tf": mod("../x"),
		}, "module cycle: modules/x/main.tf:2 (module \"m\") -> modules/y/main.tf:2 (module \"m\") -> back to modules/x"},
		{"invalid HCL", mapTree{"conf/a/main.tf": "module \"m\" {\n  source = \n}\n"}, "conf/a/main.tf:2:"},
		{"unclosed block", mapTree{"conf/a/main.tf": "resource \"x\" \"y\" {\n"}, "conf/a/main.tf:1:"},
		{"source is an expression", mapTree{"conf/a/main.tf": "module \"m\" {\n  source = var.x\n}\n"}, "conf/a/main.tf:2:12: module \"m\": source must be a literal string"},
		{"symlink that leaves the repository", mapTree{
			"conf/a/main.tf": mod("../../modules/link"),
			"modules/link@":  "../../elsewhere",
		}, "goes through symlink modules/link -> ../../elsewhere, outside the repository"},
		{"depends_on names nothing", mapTree{"conf/a/main.tf": ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{}
			if tt.want == "" {
				cfg.Projects = []config.Project{{Dir: "conf/a", DependsOn: []string{"conf/nope"}}}
				tt.want = `depends_on "conf/nope" names no project`
			}
			_, err := Discover(tt.tree, cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSymlinkInsideRepositoryIsFollowed(t *testing.T) {
	tree := mapTree{
		"conf/a/main.tf":     mod("../../modules/current"),
		"modules/current@":   "v2",
		"modules/v2/main.tf": "",
		"conf/a/outside.tf@": "/etc/passwd",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Projects[0].Modules; len(got) != 1 || got[0].Dir != "modules/v2" {
		t.Errorf("modules = %+v, want modules/v2 through the symlink", got)
	}
}

func TestMissingModuleIsAWarning(t *testing.T) {
	g, err := Discover(mapTree{"conf/a/main.tf": mod("../../modules/gone")}, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "modules/gone, which does not exist") {
		t.Errorf("warnings = %v", g.Warnings)
	}
}

func TestDeclaredNamesAndDependsOn(t *testing.T) {
	cfg := &config.Config{Projects: []config.Project{
		{Dir: "conf/eks", Name: "eks", DependsOn: []string{"vpc"}},
		{Dir: "conf/vpc", Name: "vpc", Watch: []string{"shared/*.yaml"}},
	}}
	g, err := Discover(mapTree{"conf/eks/main.tf": "", "conf/vpc/main.tf": ""}, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Projects[0].Name != "eks" || !reflect.DeepEqual(g.Projects[0].DependsOn, []string{"conf/vpc"}) {
		t.Errorf("eks = %+v, want depends_on resolved to the directory", g.Projects[0])
	}
	if !reflect.DeepEqual(cfg.Projects[0].DependsOn, []string{"vpc"}) {
		t.Errorf("discovery changed the configuration: %v", cfg.Projects[0].DependsOn)
	}
	dup := &config.Config{Projects: []config.Project{{Dir: "conf/vpc", Name: "conf/eks"}}}
	if _, err := Discover(mapTree{"conf/eks/main.tf": "", "conf/vpc/main.tf": ""}, dup, Options{}); err == nil || !strings.Contains(err.Error(), "used by both") {
		t.Errorf("duplicate names: err = %v", err)
	}
}

type countingCache struct {
	m    map[string][]Call
	hits int
}

func (c *countingCache) Calls(id string) ([]Call, bool) {
	v, ok := c.m[id]
	if ok {
		c.hits++
	}
	return v, ok
}
func (c *countingCache) SetCalls(id string, v []Call) { c.m[id] = v }

func TestCacheIsUsedByContentID(t *testing.T) {
	tree := mapTree{"conf/a/main.tf": mod("../../modules/m"), "conf/b/main.tf": mod("../../modules/m"), "modules/m/main.tf": ""}
	c := &countingCache{m: map[string][]Call{}}
	first, err := Discover(tree, &config.Config{}, Options{Cache: c, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Discover(tree, &config.Config{}, Options{Cache: c, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.hits < 2 {
		t.Errorf("cache hits = %d, want the second run to read from the cache", c.hits)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("cached discovery differs:\n%+v\n%+v", first, second)
	}
}

func TestDependsOnCycle(t *testing.T) {
	cfg := &config.Config{Projects: []config.Project{
		{Dir: "conf/a", DependsOn: []string{"conf/b"}},
		{Dir: "conf/b", DependsOn: []string{"conf/a"}},
	}}
	_, err := Discover(mapTree{"conf/a/main.tf": "", "conf/b/main.tf": ""}, cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "depends_on cycle: conf/a -> conf/b -> conf/a") {
		t.Errorf("err = %v", err)
	}
}

// TestLenientForTheMergeBase: an older commit is read only for which
// projects existed; its errors are the branch's to fix, not to fail on.
func TestLenientForTheMergeBase(t *testing.T) {
	tree := mapTree{
		"conf/a/main.tf": "resource \"x\" \"y\" {\n",
		"conf/b/main.tf": mod("../../../outside"),
		"conf/c/main.tf": "",
	}
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/c", DependsOn: []string{"conf/not-yet"}}}}
	if _, err := Discover(tree, cfg, Options{}); err == nil {
		t.Fatal("strict discovery accepted a broken tree")
	}
	g, err := Discover(tree, cfg, Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/a", "conf/b", "conf/c"}) {
		t.Errorf("projects = %v", got)
	}
}

// TestSymlinksOnTheWayAreRecorded: every symlink that resolving a module
// source or a linked file went through is part of what the project
// depends on, not only where it ended.
func TestSymlinksOnTheWayAreRecorded(t *testing.T) {
	tree := mapTree{
		"conf/s/main.tf":        mod("../../modules/link/sub"),
		"modules/link@":         "alias",
		"modules/alias@":        "real",
		"modules/real/sub/x.tf": mod("../../shared"),
		"modules/shared@":       "../vendor/shared",
		"vendor/shared/main.tf": "",
		"conf/app/main.tf":      "",
		"conf/app/common.tf@":   "../../shared/link.tf",
		"shared/link.tf@":       "real.tf",
		"shared/real.tf":        "",
		"conf/app/nested/x.tf":  "",
		"conf/app/nested/y.tf@": "../../../shared/other.tf",
		"shared/other.tf":       "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Project{}
	for _, p := range g.Projects {
		by[p.Dir] = p
	}
	if got, want := by["conf/s"].Symlinks, []string{"modules/alias", "modules/link", "modules/shared"}; !reflect.DeepEqual(got, want) {
		t.Errorf("conf/s symlinks = %v, want %v", got, want)
	}
	if got := by["conf/s"].Modules; len(got) != 2 || got[0].Dir != "modules/real/sub" || got[1].Dir != "vendor/shared" {
		t.Errorf("conf/s modules = %+v", got)
	}
	app := by["conf/app"]
	if !reflect.DeepEqual(app.Links, []string{"shared/real.tf"}) || !reflect.DeepEqual(app.Symlinks, []string{"shared/link.tf"}) {
		t.Errorf("conf/app links %v, symlinks %v: want the target and the link on the way (not the nested project's)", app.Links, app.Symlinks)
	}
}

// TestTerraformDirsIncludeExcludedOnes: the graph knows every directory
// with Terraform files of its own, excluded ones too, so that their files
// are attributed to no project above them.
func TestTerraformDirsIncludeExcludedOnes(t *testing.T) {
	tree := mapTree{
		"conf/app/main.tf":             "",
		"conf/app/examples/a/main.tf":  "",
		"conf/app/files/x.txt":         "",
		"modules/m/main.tf":            "",
		"conf/app/.terraform/m/x.tf":   "never scanned",
		"outside/roots/main.tf":        "",
		"conf/app/examples/a/README":   "",
		"conf/app/examples/b/other.md": "",
	}
	g, err := Discover(tree, &config.Config{Exclude: []string{"**/examples"}, Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conf/app", "conf/app/examples/a", "modules/m", "outside/roots"}
	if !reflect.DeepEqual(g.TerraformDirs, want) {
		t.Errorf("terraform dirs = %v, want %v", g.TerraformDirs, want)
	}
	if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/app"}) {
		t.Errorf("projects = %v", got)
	}
}

// TestDeclaredProjectNeedsItsDirectory: a declared project whose directory
// a commit does not hold is not a project of that commit, so that its
// status comes out deleted (gone at HEAD) or added (new since the base).
func TestDeclaredProjectNeedsItsDirectory(t *testing.T) {
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/gone", Source: "git::https://example.com/m.git"}, {Dir: "stacks/x"}}}
	tree := mapTree{"conf/a/main.tf": "", "stacks/x/deep/file.txt": ""}
	for _, lenient := range []bool{false, true} {
		g, err := Discover(tree, cfg, Options{Lenient: lenient})
		if err != nil {
			t.Fatal(err)
		}
		if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/a", "stacks/x"}) {
			t.Errorf("lenient=%v: projects = %v, want the declared directory that exists, not the one that does not", lenient, got)
		}
		if !lenient && (len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "conf/gone: declared in atoll.yaml but the directory does not exist in this commit")) {
			t.Errorf("warnings = %v", g.Warnings)
		}
	}
}

// TestUnsafePathsAreRefused: a project directory, module directory or
// project name that would split a line of output (a `while read` loop
// would cd into the second half) or corrupt a table is an error naming it
// quoted, at HEAD and at the merge-base alike.
func TestUnsafePathsAreRefused(t *testing.T) {
	names := map[string]string{
		"newline":          "conf/a\n/etc",
		"carriage return":  "conf/a\rb",
		"tab":              "conf/a\tb",
		"escape":           "conf/a\x1b[31mb",
		"delete":           "conf/a\x7fb",
		"C1 control (NEL)": "conf/a\u0085b",
		"line separator":   "conf/a\u2028b",
		"not UTF-8":        "conf/a\xffb",
	}
	for name, dir := range names {
		t.Run(name, func(t *testing.T) {
			for _, lenient := range []bool{false, true} {
				_, err := Discover(mapTree{dir + "/main.tf": "", "conf/ok/main.tf": ""}, &config.Config{}, Options{Lenient: lenient})
				var pe *Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Error(), fmt.Sprintf("project directory %q contains ", dir)) || !strings.Contains(pe.Hint, "exclude") {
					t.Errorf("lenient=%v: err = %v, want a refusal naming %q with a fix", lenient, err, dir)
				}
			}
		})
	}
	t.Run("module directory", func(t *testing.T) {
		_, err := Discover(mapTree{"conf/a/main.tf": mod("../../modules/x\ny"), "modules/x\ny/main.tf": ""}, &config.Config{}, Options{})
		if err == nil || !strings.Contains(err.Error(), `module directory "modules/x\ny" contains a newline`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("declared name", func(t *testing.T) {
		cfg := &config.Config{Projects: []config.Project{{Dir: "conf/a", Name: "a\nb"}}}
		_, err := Discover(mapTree{"conf/a/main.tf": ""}, cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), `project name "a\nb" contains a newline`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("excluded, it is no project", func(t *testing.T) {
		if _, err := Discover(mapTree{"conf/a\nb/main.tf": "", "conf/ok/main.tf": ""}, &config.Config{Exclude: []string{"conf/a*"}}, Options{}); err != nil {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("spaces and non-ASCII letters are fine", func(t *testing.T) {
		if _, err := Discover(mapTree{"conf/my project/main.tf": "", "conf/Zürich/main.tf": ""}, &config.Config{}, Options{}); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}

// TestWarnsAboutTerraformOutsideDefaultRoots: with the roots chosen by
// default (conf/ because the repository has one), directories holding
// Terraform files elsewhere that nothing calls are named in a warning;
// configured roots are the user's choice and are not second-guessed.
func TestWarnsAboutTerraformOutsideDefaultRoots(t *testing.T) {
	tree := mapTree{
		"conf/a/main.tf":    mod("../../modules/used"),
		"modules/used/x.tf": "",
		"stacks/x/main.tf":  "",
		"stacks/y/main.tf":  "",
		"docs/readme.md":    "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Warnings) != 1 || !strings.HasPrefix(g.Warnings[0], "stacks/x, stacks/y hold Terraform files but are outside the roots (conf), so not projects") || !strings.Contains(g.Warnings[0], "roots: [conf, stacks]") {
		t.Errorf("warnings = %v", g.Warnings)
	}
	g, err = Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{DefaultRoots: true})
	if err != nil || len(g.Warnings) != 1 {
		t.Errorf("roots defaulted by the caller: warnings = %v, err %v", g.Warnings, err)
	}
	for _, o := range []Options{{}, {Lenient: true, DefaultRoots: true}} {
		g, err = Discover(tree, &config.Config{Roots: []string{"conf"}}, o)
		if err != nil || len(g.Warnings) != 0 {
			t.Errorf("%+v: warnings = %v, err %v", o, g.Warnings, err)
		}
	}
}

// Parsed is called once, after the last file discovery reads has been
// parsed and handed to the cache: a discovery running beside this one may
// then take every parse from the cache.
func TestParsedIsCalledOnceAfterEveryParse(t *testing.T) {
	tree := mapTree{"conf/a/main.tf": mod("../../modules/m"), "modules/m/main.tf": mod("../n"), "modules/n/main.tf": ""}
	c := &countingCache{m: map[string][]Call{}}
	calls := 0
	var cachedThen int
	_, err := Discover(tree, &config.Config{}, Options{Cache: c, Workers: 1, Parsed: func() {
		calls++
		cachedThen = len(c.m)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(c.m) < 2 || cachedThen != len(c.m) {
		t.Errorf("Parsed called %d times, with %d of the %d parsed files cached; want once, after all of them (at least the project's and the module's)", calls, cachedThen, len(c.m))
	}
}

// shuffledTree lists a mapTree's files in another order than by path, as a
// work tree's uncommitted additions come after the committed listing.
type shuffledTree struct {
	mapTree
	order func([]File)
}

func (s shuffledTree) Files(skip func(string) bool) ([]File, error) {
	files, err := s.mapTree.Files(skip)
	s.order(files)
	return files, err
}

// TestListingOrderDoesNotMatter: files are found by path (symlinked .tf
// files, links on a module's way, a submodule's entry) whatever order the
// tree lists them in.
func TestListingOrderDoesNotMatter(t *testing.T) {
	tree := mapTree{
		"conf/s/main.tf":      mod("../../lib/current/net"),
		"lib/current@":        "v2",
		"lib/v2/net/x.tf":     mod("../../../vendor/base"),
		"vendor/base/main.tf": "",
		"conf/app/main.tf":    "",
		"conf/app/b.tf":       "",
		"conf/app/a.tf@":      "../../shared/z.tf",
		"shared/a.tf":         "",
		"shared/m.tf":         "",
		"shared/z.tf":         mod("../../lib/v2/net"), // read as conf/app/a.tf
	}
	want, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var app Project
	for _, p := range want.Projects {
		if p.Dir == "conf/app" {
			app = p
		}
	}
	// The linked file's call is read from its target.
	if len(app.Modules) == 0 || app.Modules[0].Dir != "lib/v2/net" {
		t.Fatalf("conf/app modules = %+v, want lib/v2/net through conf/app/a.tf", app.Modules)
	}
	orders := map[string]func([]File){
		"reversed": func(f []File) { slices.Reverse(f) },
		"rotated":  func(f []File) { slices.Reverse(f[:len(f)/2]); slices.Reverse(f[len(f)/2:]); slices.Reverse(f) },
	}
	for name, order := range orders {
		got, err := Discover(shuffledTree{tree, order}, &config.Config{}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s listing: %+v\nwant %+v", name, got, want)
		}
	}
}
