package project

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/config"
)

// TestEnvrcSource: the -from-module source as direnv would set it, for the
// forms geodesic repositories write.
func TestEnvrcSource(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // file name in conf/app -> content
		want  EnvrcSource       // File is the base name; zero: no source
	}{
		{"plain export", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=git::https://x/m.git?ref=v1\n"},
			EnvrcSource{Source: "git::https://x/m.git?ref=v1", Known: true, Var: envFromModule, File: ".envrc", Line: 1}},
		{"double quotes, indentation, comments", map[string]string{".envrc": "# comment\n  export TF_CLI_INIT_FROM_MODULE=\"../../modules/a\"   # the module\n"},
			EnvrcSource{Source: "../../modules/a", Known: true, Var: envFromModule, File: ".envrc", Line: 2}},
		{"single quotes keep $", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE='git::https://x/$m.git'\n"},
			EnvrcSource{Source: "git::https://x/$m.git", Known: true, Var: envFromModule, File: ".envrc", Line: 1}},
		{"tab after export", map[string]string{".envrc": "export\tTF_CLI_INIT_FROM_MODULE=a/b\n"},
			EnvrcSource{Source: "a/b", Known: true, Var: envFromModule, File: ".envrc", Line: 1}},
		{"a commented-out export sets nothing", map[string]string{".envrc": "# export TF_CLI_INIT_FROM_MODULE=x\n"}, EnvrcSource{}},
		{"an unexported TF_CLI_INIT_FROM_MODULE does not reach Terraform", map[string]string{".envrc": "TF_CLI_INIT_FROM_MODULE=x\n"}, EnvrcSource{}},
		{"exported later", map[string]string{".envrc": "TF_CLI_INIT_FROM_MODULE=x\nexport TF_CLI_INIT_FROM_MODULE\n"},
			EnvrcSource{Source: "x", Known: true, Var: envFromModule, File: ".envrc", Line: 1}},
		{"the last assignment wins", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=a\nexport TF_CLI_INIT_FROM_MODULE=b\n"},
			EnvrcSource{Source: "b", Known: true, Var: envFromModule, File: ".envrc", Line: 2}},
		{"unset", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=a\nunset TF_CLI_INIT_FROM_MODULE\n"}, EnvrcSource{}},
		{"empty", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=\n"}, EnvrcSource{}},
		{"a variable of the files", map[string]string{".envrc": "REF=v1.2\nexport TF_CLI_INIT_FROM_MODULE=\"git::https://x/m.git?ref=${REF}\"\n"},
			EnvrcSource{Source: "git::https://x/m.git?ref=v1.2", Known: true, Var: envFromModule, File: ".envrc", Line: 2}},
		{"TF_FROM_MODULE, geodesic's use terraform", map[string]string{".envrc": "TF_FROM_MODULE=git::https://x/m.git\nuse terraform\n"},
			EnvrcSource{Source: "git::https://x/m.git", Known: true, Var: envGeodesicFrom, File: ".envrc", Line: 1}},
		{"exported TF_FROM_MODULE", map[string]string{".envrc": "export TF_FROM_MODULE=\"../../modules/b\"\nuse terraform\n"},
			EnvrcSource{Source: "../../modules/b", Known: true, Var: envGeodesicFrom, File: ".envrc", Line: 1}},
		{"use envrc sources terraform.envrc", map[string]string{".envrc": "source_up\nuse envrc\n", "terraform.envrc": "# stage\nexport TF_CLI_INIT_FROM_MODULE=\"git::https://x/m.git?ref=v2\"\n"},
			EnvrcSource{Source: "git::https://x/m.git?ref=v2", Known: true, Var: envFromModule, File: "terraform.envrc", Line: 2}},
		{"use envrc with a comment and indentation", map[string]string{".envrc": "  use envrc   # geodesic\n", "a.envrc": "export REF=v3\n", "terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=git::https://x/m.git?ref=${REF}\n"},
			EnvrcSource{Source: "git::https://x/m.git?ref=v3", Known: true, Var: envFromModule, File: "terraform.envrc", Line: 1}},
		{"without use envrc the *.envrc files are not read", map[string]string{".envrc": "source_up\n", "terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=x\n"}, EnvrcSource{}},
		{"the .envrc after use envrc overrides", map[string]string{".envrc": "use envrc\nexport TF_CLI_INIT_FROM_MODULE=late\n", "terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=early\n"},
			EnvrcSource{Source: "late", Known: true, Var: envFromModule, File: ".envrc", Line: 2}},
		{"a value from the environment is unknown", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=\"git::https://x/${COMPONENT}.git\"\n"},
			EnvrcSource{Known: false, Var: envFromModule, File: ".envrc", Line: 1}},
		{"a parameter expansion is unknown", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=\"git::https://x/m.git//${PWD##*/}\"\n"},
			EnvrcSource{Known: false, Var: envFromModule, File: ".envrc", Line: 1}},
		{"a command substitution is unknown", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=$(cat source)\n"},
			EnvrcSource{Known: false, Var: envFromModule, File: ".envrc", Line: 1}},
		{"an export in a string is no export", map[string]string{".envrc": "echo \"export TF_CLI_INIT_FROM_MODULE=x\"\n"}, EnvrcSource{}},
		{"an assignment before a command is that command's", map[string]string{".envrc": "TF_FROM_MODULE=x terraform init\n"}, EnvrcSource{}},
		{"source_env a file of the directory", map[string]string{".envrc": "source_up\nsource_env terraform.envrc\n", "terraform.envrc": "export TF_CLI_INIT_FROM_MODULE=git::https://x/m.git\n"},
			EnvrcSource{Source: "git::https://x/m.git", Known: true, Var: envFromModule, File: "terraform.envrc", Line: 1}},
		{"source_env_if_exists", map[string]string{".envrc": "source_env_if_exists ./stack.env\n", "stack.env": "TF_FROM_MODULE=git::https://x/s.git\n"},
			EnvrcSource{Source: "git::https://x/s.git", Known: true, Var: envGeodesicFrom, File: "stack.env", Line: 1}},
		{"source_env of a missing file", map[string]string{".envrc": "source_env terraform.envrc\n"}, EnvrcSource{}},
		{"source_env of a file elsewhere is not followed", map[string]string{".envrc": "source_env ../shared.envrc\n"}, EnvrcSource{}},
		{"a fragment is not a comment", map[string]string{".envrc": "export TF_CLI_INIT_FROM_MODULE=git::https://x/m.git#main\n"},
			EnvrcSource{Source: "git::https://x/m.git#main", Known: true, Var: envFromModule, File: ".envrc", Line: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := mapTree{}
			for name, c := range tt.files {
				tree["conf/app/"+name] = c
			}
			files, _ := tree.Files(func(string) bool { return false })
			read := func(p string) ([]byte, error) { return tree.Read(File{Path: p}) }
			got, ok, err := ReadEnvrc("conf/app/.envrc", read, regularFiles(files))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.File != "" {
				want.File = "conf/app/" + want.File
			}
			got.Value = ""
			if ok != (want.Var != "") || got != want {
				t.Errorf("got %+v (ok %v), want %+v", got, ok, want)
			}
		})
	}
}

// TestUseEnvrcProjects: a directory whose source is set in terraform.envrc
// (through use envrc) or by TF_FROM_MODULE is a -from-module project, and
// the source it reports is the one its files set, for plan to use.
func TestUseEnvrcProjects(t *testing.T) {
	tree := mapTree{
		"conf/a/.envrc":           "source_up\nuse envrc\n",
		"conf/a/terraform.envrc":  "export TF_CLI_INIT_FROM_MODULE=\"git::https://x/a.git?ref=v1\"\n",
		"conf/a/terraform.tfvars": "x = 1\n",
		"conf/b/.envrc":           "export TF_FROM_MODULE=git::https://x/b.git\nuse terraform\n",
		"conf/c/.envrc":           "export STAGE=c\n",
		"conf/c/terraform.envrc":  "export TF_CLI_INIT_FROM_MODULE=git::https://x/c.git\n",
		"conf/d/.envrc":           "use envrc\n",
		"conf/d/terraform.envrc":  "export TF_CLI_INIT_FROM_MODULE=\"git::https://x/${NAME}.git\"\n",
	}
	g, err := Discover(tree, &config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirs(g); !reflect.DeepEqual(got, []string{"conf/a", "conf/b", "conf/d"}) {
		t.Fatalf("projects = %v, want conf/a, conf/b, conf/d (conf/c's .envrc does not source terraform.envrc)", got)
	}
	want := []struct{ source, from string }{
		{"git::https://x/a.git?ref=v1", "conf/a/terraform.envrc:1"},
		{"git::https://x/b.git", "conf/b/.envrc:1"},
		{"", "conf/d/terraform.envrc:1"},
	}
	for i, w := range want {
		p := g.Projects[i]
		if !p.FromModule || p.Source != w.source || p.SourceFrom != w.from {
			t.Errorf("%s: from_module %v source %q from %q, want %q from %q", p.Dir, p.FromModule, p.Source, p.SourceFrom, w.source, w.from)
		}
	}
	if len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "conf/d/terraform.envrc:1: TF_CLI_INIT_FROM_MODULE=\"git::https://x/${NAME}.git\" needs the shell to evaluate") || !strings.Contains(g.Warnings[0], "projects[].source") {
		t.Errorf("warnings = %q", g.Warnings)
	}

	// A declared source wins, and silences the warning.
	cfg := &config.Config{Projects: []config.Project{{Dir: "conf/d", Source: "git::https://x/d.git"}}}
	g, err = Discover(tree, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Projects[2]; p.Source != "git::https://x/d.git" || p.SourceFrom != config.FileName || len(g.Warnings) != 0 {
		t.Errorf("declared: %+v, warnings %q", p, g.Warnings)
	}
}

// TestEnvrcSourceOutsideTheRepository: a -from-module source in the direnv
// files is held to the module rule (file:line), except at the merge-base.
func TestEnvrcSourceOutsideTheRepository(t *testing.T) {
	for src, want := range map[string]string{
		"/opt/modules/x":       `conf/a/terraform.envrc:2: TF_CLI_INIT_FROM_MODULE "/opt/modules/x" is an absolute path, outside the repository`,
		"../../../outside/x":   `conf/a/terraform.envrc:2: TF_CLI_INIT_FROM_MODULE "../../../outside/x" resolves (from conf/a) to ../outside/x, outside the repository`,
		"../../modules//x":     "",
		"git::file:///srv/m":   "",
		"git::https://x/m.git": "",
	} {
		tree := mapTree{"conf/a/.envrc": "use envrc\n", "conf/a/terraform.envrc": "# x\nexport TF_CLI_INIT_FROM_MODULE=" + src + "\n", "modules/x/main.tf": ""}
		_, err := Discover(tree, &config.Config{}, Options{})
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
		if _, err := Discover(tree, &config.Config{}, Options{Lenient: true}); err != nil {
			t.Errorf("%s: lenient: %v", src, err)
		}
	}
}
