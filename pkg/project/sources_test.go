package project

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
)

func moduleDirs(p Project) []string {
	var out []string
	for _, m := range p.Modules {
		out = append(out, m.Dir)
	}
	return out
}

// TestLocalSourcesAreCleanPaths: in a local source "//" is a doubled
// separator (the subdirectory separator belongs to remote sources) and a
// backslash is a separator, as Terraform reads them: the module is the
// directory the cleaned path names, and the calls inside it are followed.
func TestLocalSourcesAreCleanPaths(t *testing.T) {
	tests := []struct {
		name    string
		source  string
		modules []string
	}{
		{"double slash", "../../modules//net", []string{"modules/net", "modules/net/sub"}},
		{"double slash at the end", "../../modules/net//", []string{"modules/net", "modules/net/sub"}},
		{"several double slashes", ".//..//..//modules//net", []string{"modules/net", "modules/net/sub"}},
		{"backslashes", `..\..\modules\net`, []string{"modules/net", "modules/net/sub"}},
		{"mixed separators", `../..\modules/net\`, []string{"modules/net", "modules/net/sub"}},
		{"backslash below the project", `.\mods\x`, []string{"conf/app/mods/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := mapTree{
				"conf/app/main.tf":        mod(tt.source),
				"modules/README.md":       "",
				"modules/net/main.tf":     mod("./sub"),
				"modules/net/sub/main.tf": "",
				"modules/other/main.tf":   "",
			}
			if strings.Contains(tt.source, "mods") {
				tree["conf/app/mods/x/main.tf"] = ""
			}
			// roots set: modules/other is an uncalled module, which the
			// default roots would warn about.
			g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/app"}) {
				t.Fatalf("projects = %v, want [conf/app] (the called directories are modules)", got)
			}
			if got := moduleDirs(g.Projects[0]); !reflect.DeepEqual(got, tt.modules) {
				t.Errorf("modules = %v, want %v", got, tt.modules)
			}
			if len(g.Warnings) != 0 {
				t.Errorf("warnings = %v", g.Warnings)
			}
		})
	}
}

// TestRemoteSourcesAreNotLocal: "//" keeps its meaning in remote sources,
// which are never followed, and look-alikes of local paths are not local.
func TestRemoteSourcesAreNotLocal(t *testing.T) {
	for _, src := range []string{
		"git::https://example.com/modules.git//net?ref=v1",
		"terraform-aws-modules/vpc/aws",
		"github.com/acme/modules//net",
		"..modules/net",
		".modules/net",
	} {
		if IsLocal(src) {
			t.Errorf("IsLocal(%q) = true", src)
		}
	}
	for _, src := range []string{"./x", "../x", `.\x`, `..\x`, ".", ".."} {
		if !IsLocal(src) {
			t.Errorf("IsLocal(%q) = false", src)
		}
	}
}

// TestBackslashSourceLeavingTheRepository: a backslash path is held to the
// same rule as a slash path.
func TestBackslashSourceLeavingTheRepository(t *testing.T) {
	_, err := Discover(mapTree{"conf/a/main.tf": mod(`..\..\..\outside`)}, &config.Config{}, Options{})
	want := `conf/a/main.tf:2: module "m": source "..\\..\\..\\outside" resolves to ../outside, outside the repository`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}

// TestAbsoluteSourceIsAnError: Terraform copies an absolute path from the
// machine that runs it; no commit holds it, so atoll refuses it as it
// refuses a ../ escape, naming the file and line. The merge-base is read
// leniently.
func TestAbsoluteSourceIsAnError(t *testing.T) {
	for _, src := range []string{"/etc", "/opt/modules/net", "file:///etc", "file::/etc", `C:\modules\net`, "c:/modules/net", `\\server\share\net`} {
		t.Run(src, func(t *testing.T) {
			tree := mapTree{"conf/a/main.tf": "# x\n" + mod(src)}
			_, err := Discover(tree, &config.Config{}, Options{})
			want := `conf/a/main.tf:3: module "m": source ` + strings.ReplaceAll(`"`+src+`"`, `\`, `\\`) + ` is an absolute path, outside the repository`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to contain %q", err, want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "conf/a/main.tf" || pe.Line != 3 {
				t.Errorf("err = %#v, want a *project.Error at conf/a/main.tf:3", err)
			}
			if _, err := Discover(tree, &config.Config{}, Options{Lenient: true}); err != nil {
				t.Errorf("lenient: %v", err)
			}
		})
	}
	for _, src := range []string{"git::file:///srv/modules.git//net?ref=v1", "file::./x", "s3::https://bucket/x.zip"} {
		if _, err := Discover(mapTree{"conf/a/main.tf": mod(src)}, &config.Config{}, Options{}); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// TestPathFromModuleSourceIsAModule: a -from-module source given as a path
// (in the direnv files or atoll.yaml) names a directory Terraform copies
// into the project, and the ./ modules it calls are read where they are:
// they are the project's modules, as for a module block, so a change there
// affects it and the checkout holds them.
func TestPathFromModuleSourceIsAModule(t *testing.T) {
	components := mapTree{
		"components/acm/main.tf":     mod("./sub"),
		"components/acm/sub/main.tf": "",
		"components/dns/main.tf":     "",
	}
	tests := []struct {
		name string
		tree mapTree
		cfg  *config.Config
	}{
		{"terraform.envrc", mapTree{
			"conf/acm/.envrc":          "use envrc\n",
			"conf/acm/terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=../../components/acm\n",
		}, &config.Config{Roots: []string{"conf"}}},
		{"geodesic's TF_FROM_MODULE", mapTree{
			"conf/acm/.envrc": "export TF_FROM_MODULE='../../components//acm'\nuse terraform\n",
		}, &config.Config{Roots: []string{"conf"}}},
		{"atoll.yaml", mapTree{
			"conf/acm/terraform.tfvars": "",
		}, &config.Config{Roots: []string{"conf"}, Projects: []config.Project{{Dir: "conf/acm", Source: "../../components/acm"}}}},
		{"atoll.yaml wins over the .envrc", mapTree{
			"conf/acm/.envrc": "export TF_CLI_INIT_FROM_MODULE=../../components/dns\n",
		}, &config.Config{Roots: []string{"conf"}, Projects: []config.Project{{Dir: "conf/acm", Source: "../../components/acm"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range components {
				tt.tree[k] = v
			}
			g, err := Discover(tt.tree, tt.cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/acm"}) {
				t.Fatalf("projects = %v, want [conf/acm]", got)
			}
			if got, want := moduleDirs(g.Projects[0]), []string{"components/acm", "components/acm/sub"}; !reflect.DeepEqual(got, want) {
				t.Errorf("modules = %v, want %v", got, want)
			}
			if len(g.Warnings) != 0 {
				t.Errorf("warnings = %v", g.Warnings)
			}
		})
	}
}

// TestPathFromModuleSourceMissing: a path source naming nothing in the
// commit is a warning naming the file and line.
func TestPathFromModuleSourceMissing(t *testing.T) {
	tree := mapTree{"conf/acm/.envrc": "export TF_CLI_INIT_FROM_MODULE=../../components/gone\n"}
	g, err := Discover(tree, &config.Config{Roots: []string{"conf"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "conf/acm/.envrc:1") || !strings.Contains(g.Warnings[0], "components/gone") {
		t.Errorf("warnings = %v, want one naming conf/acm/.envrc:1 and components/gone", g.Warnings)
	}
}
