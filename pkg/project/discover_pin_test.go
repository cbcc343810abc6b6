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

// failTree is a tree whose listing, or whose read of one file, fails.
type failTree struct {
	mapTree
	list bool
	read string
}

var errTree = errors.New("the tree cannot be read")

func (f failTree) Files(skip func(string) bool) ([]File, error) {
	if f.list {
		return nil, errTree
	}
	return f.mapTree.Files(skip)
}

func (f failTree) Read(file File) ([]byte, error) {
	if file.Path == f.read {
		return nil, errTree
	}
	return f.mapTree.Read(file)
}

func TestModuleSourceThroughASymlinkLoop(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf": mod("../../modules/a"),
		"modules/a@":     "b",
		"modules/b@":     "a",
	}
	_, err := Discover(tree, &config.Config{}, Options{})
	var pe *Error
	if !errors.As(err, &pe) || pe.File != "conf/a/main.tf" || pe.Line != 2 || !strings.Contains(pe.Msg, `module "m": source "../../modules/a" goes through a symlink loop`) {
		t.Errorf("error = %v", err)
	}
}

// TestSymlinkedFileWarnings: a symlinked file in a project that loops,
// or leads out of the repository through a symlinked directory, is not
// followed, and said so; the project is still found.
func TestSymlinkedFileWarnings(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":   "",
		"conf/a/loop.tf@":  "loop2.tf",
		"conf/a/loop2.tf@": "loop.tf",
		"conf/a/vars.tf@":  "../../shared/vars.tf",
		"shared@":          "/etc",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dirs(g), []string{"conf/a"}) {
		t.Fatalf("projects %v", dirs(g))
	}
	want := []string{
		"conf/a/loop.tf: symlink loop: not followed",
		"conf/a/loop2.tf: symlink loop: not followed",
		"conf/a/vars.tf: symlink leads through shared, a symlink to /etc, which leaves the repository: not followed",
	}
	got := append([]string{}, g.Warnings...)
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("no warning %q in %q", w, got)
		}
	}
	if p := g.Projects[0]; len(p.Links) != 0 || !reflect.DeepEqual(p.Symlinks, []string{"conf/a/loop.tf", "conf/a/loop2.tf", "shared"}) {
		t.Errorf("links %v, symlinks %v", p.Links, p.Symlinks)
	}
}

// TestSymlinkedFileIsParsedWhereItIs: a symlinked .tf file is read as a
// file of the directory it is in: its module sources resolve from there.
// A link to nothing, or to a directory, adds no module call.
func TestSymlinkedFileIsParsedWhereItIs(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":      "",
		"conf/a/mods.tf@":     "../../shared/mods.tf",
		"conf/a/dangling.tf@": "../../shared/gone.tf",
		"conf/a/dir.tf@":      "../../modules",
		"shared/mods.tf":      mod("../../modules/m"),
		"modules/m/main.tf":   "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := g.Projects[0]
	if len(p.Modules) != 1 || p.Modules[0].Dir != "modules/m" {
		t.Errorf("modules %+v", p.Modules)
	}
	if !reflect.DeepEqual(p.Links, []string{"modules", "shared/gone.tf", "shared/mods.tf"}) {
		t.Errorf("links %v", p.Links)
	}
}

func TestSkipFunc(t *testing.T) {
	t.Parallel()
	skip := SkipFunc(&config.Config{Exclude: []string{"conf/**/examples"}})
	for dir, want := range map[string]bool{
		".git": true, "conf/a/.terraform": true, ".terraform": true,
		"conf/a/examples": true, "conf/examples": true,
		"conf/a": false, "conf/a/terraform": false, "examples": false, "conf/.github": false,
	} {
		if got := skip(dir); got != want {
			t.Errorf("skip(%q) = %v, want %v", dir, got, want)
		}
	}
}

func TestDiscoverTreeErrors(t *testing.T) {
	t.Parallel()
	if _, err := Discover(failTree{list: true}, &config.Config{}, Options{}); !errors.Is(err, errTree) {
		t.Errorf("listing fails: %v", err)
	}
	tree := failTree{mapTree: mapTree{"conf/a/main.tf": "", "conf/a/.envrc": "export TF_CLI_INIT_FROM_MODULE=x\n"}, read: "conf/a/.envrc"}
	if _, err := Discover(tree, &config.Config{}, Options{}); !errors.Is(err, errTree) {
		t.Errorf(".envrc unreadable: %v", err)
	}
	tree = failTree{mapTree: mapTree{"conf/a/main.tf": ""}, read: "conf/a/main.tf"}
	if _, err := Discover(tree, &config.Config{}, Options{}); !errors.Is(err, errTree) {
		t.Errorf("main.tf unreadable: %v", err)
	}
}

// TestDependsOnErrorsNameTheFile: depends_on problems name the
// configuration file that was read, or atoll.yaml.
func TestDependsOnErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	tree := mapTree{"conf/a/main.tf": "", "conf/b/main.tf": "", "conf/c/main.tf": ""}
	for _, file := range []string{"", "/repo/custom.yaml"} {
		cfg := &config.Config{File: file, Projects: []config.Project{{Dir: "conf/a", DependsOn: []string{"conf/nope"}}}}
		_, err := Discover(tree, cfg, Options{})
		want := file
		if want == "" {
			want = config.FileName
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.File != want || !strings.Contains(pe.Msg, `projects[0].depends_on[0]: project conf/a: depends_on "conf/nope" names no project`) {
			t.Errorf("file %q: %v", file, err)
		}
	}
	// A cycle that does not start at the first project is named from
	// where it starts.
	cfg := &config.Config{Projects: []config.Project{
		{Dir: "conf/a", DependsOn: []string{"conf/b"}},
		{Dir: "conf/b", DependsOn: []string{"conf/c"}},
		{Dir: "conf/c", DependsOn: []string{"conf/b"}},
	}}
	_, err := Discover(tree, cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "depends_on cycle: conf/b -> conf/c -> conf/b; no order can satisfy it") {
		t.Errorf("cycle: %v", err)
	}
	// The merge-base is read leniently: neither stops it.
	if _, err := Discover(tree, cfg, Options{Lenient: true}); err != nil {
		t.Errorf("lenient cycle: %v", err)
	}
	cfg.Projects[0].DependsOn = []string{"conf/nope", "conf/b"}
	cfg.Projects[2].DependsOn = nil
	g, err := Discover(tree, cfg, Options{Lenient: true})
	if err != nil || !reflect.DeepEqual(g.Projects[0].DependsOn, []string{"conf/b"}) {
		t.Errorf("lenient dangling depends_on: %v, %+v", err, g)
	}
}

// TestModuleReachedTwice: a module two of a project's modules use is
// listed once, with the first chain that reaches it.
func TestModuleReachedTwice(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":    "module \"x\" {\n  source = \"../../modules/x\"\n}\nmodule \"y\" {\n  source = \"../../modules/y\"\n}\n",
		"modules/x/main.tf": mod("../z"),
		"modules/y/main.tf": mod("../z"),
		"modules/z/main.tf": mod("../w"),
		"modules/w/main.tf": "",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []ModuleUse{
		{Dir: "modules/w", Chain: []string{"conf/a", "modules/x", "modules/z", "modules/w"}},
		{Dir: "modules/x", Chain: []string{"conf/a", "modules/x"}},
		{Dir: "modules/y", Chain: []string{"conf/a", "modules/y"}},
		{Dir: "modules/z", Chain: []string{"conf/a", "modules/x", "modules/z"}},
	}
	if !reflect.DeepEqual(g.Projects[0].Modules, want) {
		t.Errorf("modules %+v\nwant %+v", g.Projects[0].Modules, want)
	}
}

// TestErrorText: file and line when known, the file alone when the
// problem has no line (a setting of atoll.yaml), else the message alone.
func TestErrorText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "conf/a/main.tf", Line: 3, Msg: "bad"}, "conf/a/main.tf:3: bad"},
		{Error{File: "conf/a/main.tf", Line: 1, Msg: "bad"}, "conf/a/main.tf:1: bad"},
		{Error{File: "atoll.yaml", Msg: "bad"}, "atoll.yaml: bad"},
		{Error{Line: 2, Msg: "bad"}, "bad"},
		{Error{Msg: "bad", Hint: "fix it"}, "bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
}

// submoduleTree is a mapTree with submodules (gitlinks) at some paths: a
// gitlink is listed, and has no bytes to read.
type submoduleTree struct {
	mapTree
	gitlinks []string
}

func (s submoduleTree) Files(skip func(string) bool) ([]File, error) {
	files, err := s.mapTree.Files(skip)
	for _, g := range s.gitlinks {
		files = append(files, File{Path: g, ID: "c0ffee", Gitlink: true})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

func (s submoduleTree) Read(f File) ([]byte, error) {
	if f.Gitlink {
		return nil, errors.New("a submodule has no bytes: " + f.Path)
	}
	return s.mapTree.Read(f)
}

// TestSubmodulesAreNeverRead: a submodule is another repository's commit:
// named like a Terraform file it makes no project and is not parsed,
// named .envrc it is no direnv file, a symlinked file pointing at it is
// not parsed, and a module source naming it is not "missing".
func TestSubmodulesAreNeverRead(t *testing.T) {
	t.Parallel()
	tree := submoduleTree{
		mapTree: mapTree{
			"conf/a/main.tf":   mod("../../vendor/net"),
			"conf/a/extra.tf@": "../../vendor/net",
			"conf/c/main.tf":   "",
		},
		gitlinks: []string{"vendor/net", "conf/a/lib.tf", "conf/b/lib.tf", "conf/c/.envrc"},
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/a", "conf/c"}) {
		t.Errorf("projects = %v, want conf/a and conf/c (conf/b holds only a submodule)", got)
	}
	for _, p := range g.Projects {
		if p.FromModule {
			t.Errorf("%s: from_module through a submodule named .envrc", p.Dir)
		}
	}
	if len(g.Warnings) != 0 {
		t.Errorf("warnings = %q, want none (a submodule is no missing module)", g.Warnings)
	}
}

// TestSymlinkedEnvrcIsNotRead: direnv files are read only as regular
// files in the project directory; a symlink's own bytes (its target, which
// a branch's author may word as a shell line) are no direnv file either.
func TestSymlinkedEnvrcIsNotRead(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf": "",
		"conf/a/.envrc@": "../../shared/envrc",
		"shared/envrc":   "export TF_CLI_INIT_FROM_MODULE=git::https://x/a.git\n",
		"conf/b/.envrc":  "export TF_CLI_INIT_FROM_MODULE=git::https://x/b.git\n",
		"conf/c/main.tf": "",
		"conf/c/.envrc@": "export TF_CLI_INIT_FROM_MODULE=git::https://x/c.git",
		// Nor is a symlinked file that use envrc or source_env would source.
		"conf/d/main.tf":  "",
		"conf/d/.envrc":   "use envrc\nsource_env y.sh\n",
		"conf/d/x.envrc@": "export TF_CLI_INIT_FROM_MODULE=git::https://x/d.git",
		"conf/d/y.sh@":    "export TF_CLI_INIT_FROM_MODULE=git::https://x/e.git",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]bool{}
	for _, p := range g.Projects {
		from[p.Dir] = p.FromModule
	}
	if want := map[string]bool{"conf/a": false, "conf/b": true, "conf/c": false, "conf/d": false}; !reflect.DeepEqual(from, want) {
		t.Errorf("from_module = %v, want %v", from, want)
	}
}

// TestRootsAreDirectoriesNotPrefixes: root conf holds conf/a, not
// config/b or conf-old/c.
func TestRootsAreDirectoriesNotPrefixes(t *testing.T) {
	t.Parallel()
	tree := mapTree{"conf/a/main.tf": "", "config/b/main.tf": "", "conf-old/c/main.tf": "", "conf/main.tf": ""}
	g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirs(g); !reflect.DeepEqual(got, []string{"conf", "conf/a"}) {
		t.Errorf("projects = %v, want conf and conf/a", got)
	}
	g, err = Discover(tree, &config.Config{Roots: []string{"conf/"}}, Options{})
	if err != nil || !reflect.DeepEqual(dirs(g), []string{"conf", "conf/a"}) {
		t.Errorf("root conf/: projects = %v, %v", dirs(g), err)
	}
}

// TestDeclaredSourceWarningNamesTheFile: a declared -from-module source
// that names no directory is warned about against atoll.yaml, which has
// no line to give.
func TestDeclaredSourceWarningNamesTheFile(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/a", Source: "../../modules/gone"}}}
	g, err := Discover(mapTree{"conf/a/terraform.tfvars": ""}, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `atoll.yaml: -from-module source "../../modules/gone" (projects[0].source) names modules/gone, which does not exist in this commit`
	if len(g.Warnings) != 1 || g.Warnings[0] != want {
		t.Errorf("warnings = %q, want %q", g.Warnings, want)
	}
}

// TestProjectWithoutFilesOfItsOwnHasNoFingerprint: the fingerprint
// identifies a project's own files; with none there is nothing to tell a
// move by, so two such projects never look like one moved.
func TestProjectWithoutFilesOfItsOwnHasNoFingerprint(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/a"}, {Dir: "conf/b"}}}
	g, err := Discover(mapTree{"conf/a/sub/x.txt": "", "conf/b/sub/y.txt": "", "conf/c/main.tf": "# c"}, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fps := map[string]string{}
	for _, p := range g.Projects {
		fps[p.Dir] = p.Fingerprint
	}
	if fps["conf/a"] != "" || fps["conf/b"] != "" || fps["conf/c"] == "" || len(fps) != 3 {
		t.Errorf("fingerprints = %q, want none for conf/a and conf/b", fps)
	}
}

// TestSymlinksInAFromModuleProjectAreItsLinks: a geodesic project with
// no Terraform files of its own (only .envrc and tfvars) still owns the
// symlinks in its directory.
func TestSymlinksInAFromModuleProjectAreItsLinks(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/.envrc":         "export TF_CLI_INIT_FROM_MODULE=git::https://x/a.git\n",
		"conf/a/common.tfvars@": "../../shared/common.tfvars",
		"shared/common.tfvars":  "x = 1\n",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Projects) != 1 || !reflect.DeepEqual(g.Projects[0].Links, []string{"shared/common.tfvars"}) {
		t.Errorf("projects = %+v, want conf/a with link shared/common.tfvars", g.Projects)
	}
}

// TestModuleSourceThroughSymlinksLeavingTheRepository: a symlink on the
// way to a module that points at an absolute path, or at exactly the
// repository's parent, takes the source outside: an error.
func TestModuleSourceThroughSymlinksLeavingTheRepository(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		tree mapTree
		want string
	}{
		"absolute":         {mapTree{"conf/a/main.tf": mod("../../modules/net"), "modules@": "/opt/modules"}, "goes through symlink modules -> /opt/modules, outside the repository"},
		"the parent":       {mapTree{"conf/a/main.tf": mod("./up"), "conf/a/up@": "../../.."}, "goes through symlink conf/a/up -> ../../.., outside the repository"},
		"below the parent": {mapTree{"conf/a/main.tf": mod("./up/x"), "conf/a/up@": "../../../y"}, "goes through symlink conf/a/up -> ../../../y, outside the repository"},
	} {
		_, err := Discover(tt.tree, &config.Config{}, Options{})
		var pe *Error
		if !errors.As(err, &pe) || pe.File != "conf/a/main.tf" || pe.Line != 2 || !strings.Contains(pe.Msg, tt.want) {
			t.Errorf("%s: error = %v, want ~%q", name, err, tt.want)
		}
	}
}

// TestSymlinkedFileThroughAChain: a symlinked file is followed through
// a chain of symlinks to the file Terraform reads; a link to exactly the
// repository's parent is not followed.
func TestSymlinkedFileThroughAChain(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":          "",
		"conf/a/versions.tf@":     "../../shared/v1.tf",
		"shared/v1.tf@":           "v2.tf",
		"shared/v2.tf@":           "real/versions.tf",
		"shared/real/versions.tf": "",
		"conf/b/main.tf":          "",
		"conf/b/up.tf@":           "../../..",
	}
	g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string][]string{}
	through := map[string][]string{}
	for _, p := range g.Projects {
		links[p.Dir], through[p.Dir] = p.Links, p.Symlinks
	}
	if want := []string{"shared/real/versions.tf"}; !reflect.DeepEqual(links["conf/a"], want) {
		t.Errorf("conf/a links = %v, want %v", links["conf/a"], want)
	}
	if want := []string{"shared/v1.tf", "shared/v2.tf"}; !reflect.DeepEqual(through["conf/a"], want) {
		t.Errorf("conf/a went through %v, want %v", through["conf/a"], want)
	}
	if len(links["conf/b"]) != 0 || len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "conf/b/up.tf: symlink to ../../.. leaves the repository") {
		t.Errorf("conf/b links %v, warnings %q", links["conf/b"], g.Warnings)
	}
}

// TestModuleCycleThroughADeclaredSource: a cycle that starts at a
// -from-module source declared in atoll.yaml names that entry too.
func TestModuleCycleThroughADeclaredSource(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/a", Source: "../../modules/x"}}}
	tree := mapTree{"conf/a/terraform.tfvars": "", "modules/x/main.tf": mod("../../conf/a")}
	_, err := Discover(tree, cfg, Options{})
	want := `module cycle: atoll.yaml (module "projects[0].source") -> modules/x/main.tf:2 (module "m") -> back to conf/a`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want ~%q", err, want)
	}
}

// TestSymlinksInModulesAndSubdirectoriesAreLinks: a symlink belongs to
// the nearest directory with Terraform files (or a project) at or above
// it: in a module the project calls, or in a plain subdirectory of the
// project, its target is the project's link.
func TestSymlinksInModulesAndSubdirectoriesAreLinks(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":                mod("../../modules/m"),
		"conf/a/templates/policy.json@": "../../../shared/policy.json",
		"modules/m/main.tf":             "",
		"modules/m/vars.tf@":            "../../shared/vars.tf",
		"shared/policy.json":            "{}",
		"shared/vars.tf":                "",
		"conf/b/main.tf":                "",
	}
	g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string][]string{}
	for _, p := range g.Projects {
		links[p.Dir] = p.Links
	}
	if want := map[string][]string{"conf/a": {"shared/policy.json", "shared/vars.tf"}, "conf/b": nil}; !reflect.DeepEqual(links, want) {
		t.Errorf("links = %v, want %v", links, want)
	}
}

// TestSymlinkHopsAreBounded: a module source, and a symlinked file, are
// followed through as many symlinks as the kernel follows (MaxSymlinks,
// the first included); one more is taken for a loop.
func TestSymlinkHopsAreBounded(t *testing.T) {
	t.Parallel()
	chain := func(n int) mapTree {
		tree := mapTree{"conf/a/main.tf": mod("../../modules/l0"), "modules/end/main.tf": ""}
		for i := 0; i < n; i++ {
			next := fmt.Sprintf("l%d", i+1)
			if i == n-1 {
				next = "end"
			}
			tree[fmt.Sprintf("modules/l%d@", i)] = next
		}
		return tree
	}
	g, err := Discover(chain(MaxSymlinks), &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil || len(g.Projects) != 1 || len(g.Projects[0].Modules) != 1 || g.Projects[0].Modules[0].Dir != "modules/end" {
		t.Errorf("%d hops: %+v, %v", MaxSymlinks, g, err)
	}
	if _, err := Discover(chain(MaxSymlinks+1), &config.Config{Roots: []string{"conf"}}, Options{}); err == nil || !strings.Contains(err.Error(), "symlink loop") {
		t.Errorf("%d hops: %v, want a symlink loop", MaxSymlinks+1, err)
	}

	// conf/a/x.tf -> ../../shared/f1 -> f2 -> ... -> fN -> vars.tf
	files := func(n int) mapTree {
		tree := mapTree{"conf/a/main.tf": "", "conf/a/x.tf@": "../../shared/f1", "shared/vars.tf": ""}
		for i := 1; i < n; i++ {
			next := fmt.Sprintf("f%d", i+1)
			if i == n-1 {
				next = "vars.tf"
			}
			tree[fmt.Sprintf("shared/f%d@", i)] = next
		}
		return tree
	}
	g, err = Discover(files(MaxSymlinks), &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil || len(g.Projects) != 1 || !slices.Contains(g.Projects[0].Links, "shared/vars.tf") || len(g.Warnings) != 0 {
		t.Errorf("a file behind %d links: %+v %v", MaxSymlinks, g, err)
	}
	g, err = Discover(files(MaxSymlinks+1), &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil || len(g.Projects) != 1 || slices.Contains(g.Projects[0].Links, "shared/vars.tf") || !slices.Equal(g.Warnings, []string{"conf/a/x.tf: symlink loop: not followed"}) {
		t.Errorf("a file behind %d links: %+v %v", MaxSymlinks+1, g, err)
	}
}

// TestModulesOfEveryModuleAreFollowed: each module reached in one round
// of the walk is read, however many there are.
func TestModulesOfEveryModuleAreFollowed(t *testing.T) {
	t.Parallel()
	tree := mapTree{
		"conf/a/main.tf":     mod("../../modules/x") + "module \"n\" {\n  source = \"../../modules/y\"\n}\n",
		"modules/x/main.tf":  mod("../z1"),
		"modules/y/main.tf":  mod("../z2"),
		"modules/z1/main.tf": "",
		"modules/z2/main.tf": "",
	}
	g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil || len(g.Projects) != 1 {
		t.Fatalf("%+v, %v", g, err)
	}
	var got []string
	for _, m := range g.Projects[0].Modules {
		got = append(got, m.Dir)
	}
	if want := []string{"modules/x", "modules/y", "modules/z1", "modules/z2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("modules = %v, want %v", got, want)
	}
}
