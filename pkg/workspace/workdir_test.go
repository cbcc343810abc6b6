package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaultWorkdir(t *testing.T) {
	t.Parallel()
	writable := t.TempDir()
	readOnly := t.TempDir()
	if err := os.Chmod(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "localhost")
	file := filepath.Join(t.TempDir(), "localhost")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	type test struct {
		name      string
		localhost string
		env       map[string]string
		want      string
	}
	tests := []test{
		{"geodesic", writable, map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, filepath.Join(writable, ".atoll")},
		{"xdg", missing, map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, "/xdg/atoll"},
		{"relative xdg is ignored", missing, map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "cache"}, "/home/u/.cache/atoll"},
		{"home", missing, map[string]string{"HOME": "/home/u"}, "/home/u/.cache/atoll"},
		{"nothing", missing, nil, ""},
		{"localhost is a file", file, map[string]string{"HOME": "/home/u"}, "/home/u/.cache/atoll"},
	}
	if os.Geteuid() != 0 { // root may write anywhere
		tests = append(tests, test{"read-only localhost", readOnly, map[string]string{"HOME": "/home/u"}, "/home/u/.cache/atoll"})
	}
	for _, tt := range tests {
		if got := defaultWorkdir(tt.localhost, env(tt.env)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "localhost")
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{"flag wins", "/flag", map[string]string{EnvWorkdir: "/env", "HOME": "/h"}, "/flag"},
		{"then the environment", "", map[string]string{EnvWorkdir: "/env", "HOME": "/h"}, "/env"},
		{"then the default", "", map[string]string{"HOME": "/h"}, "/h/.cache/atoll"},
		{"tilde", "~/w", map[string]string{"HOME": "/h"}, "/h/w"},
		{"tilde alone", "~", map[string]string{"HOME": "/h"}, "/h"},
		// ~user is not expanded (no lookup of other users): a relative name.
		{"another user's tilde", "~other/w", map[string]string{"HOME": "/h"}, filepath.Join(cwd, "~other/w")},
		{"relative", "w", map[string]string{"HOME": "/h"}, filepath.Join(cwd, "w")},
		{"cleaned", "/a/../b/", nil, "/b"},
	}
	for _, tt := range tests {
		got, err := resolve(tt.flag, env(tt.env), missing)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, flag := range []string{"", "~/w"} {
		if got, err := resolve(flag, env(nil), missing); err == nil {
			t.Errorf("%q without HOME: %q, want an error", flag, got)
		}
	}
}

// RepoID keeps letters, digits, '.', '_' and '-' of the repository's name
// and makes every other character '_' (the characters just outside each
// kept range included); a name of dots only becomes "repo".
func TestRepoIDName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ common, name string }{
		{"/src/azAZ09._-/.git", "azAZ09._-"},
		{"/src/`{@[:.git", "_____"},
		{"/src/a b+c~é.git", "a_b_c__"},
		{"/srv/infra.git", "infra"},
		{"/srv/.../.git", "repo"},
	} {
		id := RepoID(&git.Repo{CommonDir: tt.common})
		name, _, ok := strings.Cut(id, "-"+id[len(id)-8:])
		if !ok || name != tt.name {
			t.Errorf("RepoID(%q) = %q, want name %q", tt.common, id, tt.name)
		}
	}
}

// RepoID reads the git directory through symlinks: a repository reached
// by a linked path keeps its checkouts.
func TestRepoIDThroughASymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real", "infra.git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	real := RepoID(&git.Repo{CommonDir: filepath.Join(dir, "real", "infra.git")})
	if linked := RepoID(&git.Repo{CommonDir: filepath.Join(dir, "link", "infra.git")}); linked != real {
		t.Errorf("through a link: %s, directly: %s", linked, real)
	}
}
