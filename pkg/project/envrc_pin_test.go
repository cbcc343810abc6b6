package project

import (
	"errors"
	"testing"
)

// TestEnvrcShellForms: the less common shell forms the direnv reader
// meets, each read the way the shell would, or said to be unknown when
// only running the shell could tell.
func TestEnvrcShellForms(t *testing.T) {
	t.Parallel()
	const v = envFromModule
	known := func(src string, line int) EnvrcSource {
		return EnvrcSource{Source: src, Known: true, Var: v, File: "conf/app/.envrc", Line: line}
	}
	unknown := func(line int) EnvrcSource {
		return EnvrcSource{Var: v, File: "conf/app/.envrc", Line: line}
	}
	for _, tt := range []struct {
		name, envrc string
		want        EnvrcSource // zero: no source
	}{
		{"a continued line", "export TF_CLI_INIT_FROM_MODULE=git::https://x/\\\nm.git\n", known("git::https://x/m.git", 1)},
		{"lines after a continued one keep their numbers", "A=x\\\ny\nexport TF_CLI_INIT_FROM_MODULE=$A\n", known("xy", 3)},
		{"declare -x exports", "declare -x TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 1)},
		{"declare -r does not", "declare -r TF_CLI_INIT_FROM_MODULE=./m\n", EnvrcSource{}},
		{"readonly, then export", "readonly TF_CLI_INIT_FROM_MODULE=./m\nexport TF_CLI_INIT_FROM_MODULE\n", known("./m", 1)},
		{"an export of a variable the files never set", "export TF_CLI_INIT_FROM_MODULE\n", unknown(1)},
		{"a bare name that is not exported", "local TF_CLI_INIT_FROM_MODULE\n", EnvrcSource{}},
		{"not a name", "export =x 1A=y TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 1)},
		{"a command after ;", "export TF_CLI_INIT_FROM_MODULE=./m; echo done\n", known("./m", 1)},
		{"a command after &&", "A=./a && export TF_CLI_INIT_FROM_MODULE=./m\n", EnvrcSource{}},
		{"a pipe", "export TF_CLI_INIT_FROM_MODULE=./m | cat\n", known("./m", 1)},
		{"&& right after the value", "export TF_CLI_INIT_FROM_MODULE=./m&&echo\n", known("./m", 1)},
		{"|| right after the value", "export TF_CLI_INIT_FROM_MODULE=./m||true\n", known("./m", 1)},
		{"a space in single quotes", "export TF_CLI_INIT_FROM_MODULE='./a b'\n", known("./a b", 1)},
		{"a space, ; and # in double quotes", "export TF_CLI_INIT_FROM_MODULE=\"./a b;c#d\"\n", known("./a b;c#d", 1)},
		{"an escaped space", "export TF_CLI_INIT_FROM_MODULE=./a\\ b\n", known("./a b", 1)},
		{"an escaped quote in double quotes", "export TF_CLI_INIT_FROM_MODULE=\"./a\\\"b\"\n", known("./a\"b", 1)},
		{"an escaped dollar in double quotes", "export TF_CLI_INIT_FROM_MODULE=\"./\\$a\\\\\\x\"\n", known("./$a\\\\x", 1)},
		{"a backtick in double quotes", "export TF_CLI_INIT_FROM_MODULE=\"./`pwd`\"\n", unknown(1)},
		{"a backtick", "export TF_CLI_INIT_FROM_MODULE=./`pwd`\n", unknown(1)},
		{"an unclosed double quote", "export TF_CLI_INIT_FROM_MODULE=\"./m\n", unknown(1)},
		{"an unclosed single quote", "export TF_CLI_INIT_FROM_MODULE='./m\n", unknown(1)},
		{"a leading tilde", "export TF_CLI_INIT_FROM_MODULE=~/m\n", unknown(1)},
		{"a tilde further in", "export TF_CLI_INIT_FROM_MODULE=./a~b\n", known("./a~b", 1)},
		{"a trailing dollar", "export TF_CLI_INIT_FROM_MODULE=./m$\n", known("./m$", 1)},
		{"a dollar before a slash", "export TF_CLI_INIT_FROM_MODULE=./a$/b\n", known("./a$/b", 1)},
		{"an unclosed ${", "export TF_CLI_INIT_FROM_MODULE=./${A\n", unknown(1)},
		{"a positional parameter", "export TF_CLI_INIT_FROM_MODULE=./$1\n", unknown(1)},
		{"$NAME with digits", "REF2=v2\nexport TF_CLI_INIT_FROM_MODULE=./m?ref=$REF2.x\n", known("./m?ref=v2.x", 2)},
		{"$NAME of the letters and digits at the ends of their ranges", "Az_Za09=q\nexport TF_CLI_INIT_FROM_MODULE=./$Az_Za09:x\n", known("./q:x", 2)},
		{"$NAME ends before characters next to those ranges", "A=q\nexport TF_CLI_INIT_FROM_MODULE=./$A@$A[$A{$A/\n", known("./q@q[q{q/", 2)},
		{"$NAME in double quotes", "REF=v1\nexport TF_CLI_INIT_FROM_MODULE=\"./m?ref=$REF\"\n", known("./m?ref=v1", 2)},
		{"$NAME of a variable from the environment", "export TF_CLI_INIT_FROM_MODULE=./$HOME_DIR\n", unknown(1)},
		{"unset of another variable", "export TF_CLI_INIT_FROM_MODULE=./m\nunset OTHER\n", known("./m", 1)},
		{"an empty TF_FROM_MODULE", "TF_FROM_MODULE=\nexport TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 2)},
		{"TF_CLI_INIT_FROM_MODULE wins over TF_FROM_MODULE", "TF_FROM_MODULE=./g\nexport TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 2)},
		{"a backslash ending the file", "export TF_CLI_INIT_FROM_MODULE=./m\\", known("./m", 1)},
		{"a backslash ending the file in double quotes", "export TF_CLI_INIT_FROM_MODULE=\"./m\\", unknown(1)},
		{"use alone", "use\nexport TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 2)},
		{"source_env alone", "source_env\nexport TF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 2)},
		{"exported first, assigned after", "export TF_CLI_INIT_FROM_MODULE\nTF_CLI_INIT_FROM_MODULE=./m\n", known("./m", 2)},
		{"a name starting with a digit makes a command", "1A=x TF_FROM_MODULE=./g\n", EnvrcSource{}},
		{"a backslash in single quotes escapes nothing", "export TF_CLI_INIT_FROM_MODULE='./a\\' B=1\n", known("./a\\", 1)},
		{"empty single quotes", "export TF_CLI_INIT_FROM_MODULE=./m''\n", known("./m", 1)},
		{"an unknown reference before a known one", "A=a\nexport TF_CLI_INIT_FROM_MODULE=./$1$A\n", unknown(2)},
		{"an unknown reference before a known one in double quotes", "A=a\nexport TF_CLI_INIT_FROM_MODULE=\"./$1$A\"\n", unknown(2)},
		{"${NAME} of a variable only the shell knows", "A=$(pwd)\nexport TF_CLI_INIT_FROM_MODULE=./${A}\n", unknown(2)},
		{"$NAME of a variable only the shell knows", "A=$(pwd)\nexport TF_CLI_INIT_FROM_MODULE=./$A\n", unknown(2)},
		{"TF_FROM_MODULE when TF_CLI_INIT_FROM_MODULE is empty", "export TF_CLI_INIT_FROM_MODULE=\nTF_FROM_MODULE=./g\n",
			EnvrcSource{Source: "./g", Known: true, Var: envGeodesicFrom, File: "conf/app/.envrc", Line: 2}},
	} {
		read := func(p string) ([]byte, error) {
			if p == "conf/app/.envrc" {
				return []byte(tt.envrc), nil
			}
			return nil, errors.New("no such file")
		}
		got, ok, err := ReadEnvrc("conf/app/.envrc", read, []string{"conf/app/.envrc"})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got.Value = ""
		if ok != (tt.want.Var != "") || got != tt.want {
			t.Errorf("%s: got %+v (ok %v), want %+v", tt.name, got, ok, tt.want)
		}
	}
}

// TestEnvrcUnreadable: a .envrc that cannot be read is an error, not a
// directory without a source.
func TestEnvrcUnreadable(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, ok, err := ReadEnvrc("conf/app/.envrc", func(string) ([]byte, error) { return nil, boom }, nil)
	if !errors.Is(err, boom) || ok {
		t.Errorf("ReadEnvrc = %v, %v; want the read error", ok, err)
	}
}

// TestUseEnvrcOnce: use envrc sources the *.envrc files once, and not
// from a file it sourced; source_env stops at a depth.
func TestUseEnvrcOnce(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"conf/app/.envrc":     "use envrc\nexport TF_CLI_INIT_FROM_MODULE=./own\nuse envrc\n",
		"conf/app/a.envrc":    "use envrc\nN=${N}x\n",
		"conf/app/tf.envrc":   "export TF_CLI_INIT_FROM_MODULE=./from-tf-$N\n",
		"conf/app/loop.env":   "source_env loop.env\nL=${L}l\nexport TF_FROM_MODULE=./$L\n",
		"conf/app/other.envr": "export TF_CLI_INIT_FROM_MODULE=./no\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}
	siblings := []string{"conf/app/.envrc", "conf/app/a.envrc", "conf/app/loop.env", "conf/app/other.envr", "conf/app/tf.envrc"}
	got, ok, err := ReadEnvrc("conf/app/.envrc", read, siblings)
	if err != nil || !ok || got.Source != "./own" || got.Line != 2 {
		t.Errorf("second use envrc read the files again: %+v, %v, %v", got, ok, err)
	}
	files["conf/app/.envrc"] = "N=\nuse envrc\n"
	got, _, _ = ReadEnvrc("conf/app/.envrc", read, siblings)
	if got.Source != "./from-tf-x" || got.File != "conf/app/tf.envrc" {
		t.Errorf("use envrc: %+v", got)
	}
	files["conf/app/.envrc"] = "L=\nsource_env loop.env\n"
	got, _, _ = ReadEnvrc("conf/app/.envrc", read, siblings)
	if got.Source != "./llll" || got.Var != envGeodesicFrom {
		t.Errorf("source_env loop: %+v", got)
	}
}

// TestEnvrcIncludes: `use envrc` sources *.envrc, a bash glob, which
// skips dot files (.envrc itself among them).
func TestEnvrcIncludes(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"conf/a/terraform.envrc": true, "conf/a/x.envrc": true, "y.envrc": true,
		"conf/a/.envrc": false, "conf/a/.x.envrc": false, "conf/a/envrc": false, "conf/a/x.envrc.bak": false, "conf/.d/x.envrc": true,
	} {
		if got := IsEnvrcInclude(name); got != want {
			t.Errorf("IsEnvrcInclude(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestOnlyUseEnvrcSourcesTheEnvrcFiles: other `use` helpers (use
// terraform, use direnv) source no *.envrc file.
func TestOnlyUseEnvrcSourcesTheEnvrcFiles(t *testing.T) {
	t.Parallel()
	for _, use := range []string{"use terraform", "use", "use envrcs", "used envrc"} {
		files := map[string]string{
			"conf/app/.envrc":   use + "\n",
			"conf/app/tf.envrc": "export TF_CLI_INIT_FROM_MODULE=./m\n",
		}
		read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
		got, ok, err := ReadEnvrc("conf/app/.envrc", read, []string{"conf/app/.envrc", "conf/app/tf.envrc"})
		if err != nil || ok {
			t.Errorf("%q: %+v, %v, %v; want no source", use, got, ok, err)
		}
	}
	files := map[string]string{"conf/app/.envrc": "use envrc\n", "conf/app/tf.envrc": "export TF_CLI_INIT_FROM_MODULE=./m\n"}
	read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
	if got, ok, err := ReadEnvrc("conf/app/.envrc", read, []string{"conf/app/.envrc", "conf/app/tf.envrc"}); err != nil || !ok || got.Source != "./m" {
		t.Errorf("use envrc: %+v, %v, %v", got, ok, err)
	}
}

// TestShellNames: a shell variable name is letters, digits and '_', not
// starting with a digit; the bytes next to each range are not in it.
func TestShellNames(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"a": true, "z": true, "A": true, "Z": true, "_": true, "a0": true, "_9": true, "TF_CLI_INIT_FROM_MODULE": true, "mIxEd_1": true,
		"": false, "0a": false, "9": false, "`": false, "{": false, "@": false, "[": false, "a/": false, "a:": false, "a-b": false, "a.b": false, "é": false, "a b": false,
	} {
		if got := isName(s); got != want {
			t.Errorf("isName(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestUseEnvrcIncludeDepth: a *.envrc file that `use envrc` sources is
// one level down, so its source_env chain stops as soon as one from
// .envrc itself would, a level earlier.
func TestUseEnvrcIncludeDepth(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"conf/app/.envrc":  "L=\nuse envrc\n",
		"conf/app/l.envrc": "source_env l.envrc\nL=${L}l\nexport TF_CLI_INIT_FROM_MODULE=./$L\n",
	}
	read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
	got, ok, err := ReadEnvrc("conf/app/.envrc", read, []string{"conf/app/.envrc", "conf/app/l.envrc"})
	if err != nil || !ok || got.Source != "./llll" {
		t.Errorf("%+v, %v, %v; want ./llll (depths 1 to 4)", got, ok, err)
	}
}
