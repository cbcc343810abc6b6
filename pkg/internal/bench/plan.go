package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PlannableCopy clones the generated repository src to dst and commits, on
// a new branch, a local backend with an absolute state path under stateDir
// in n of its projects, evenly spread over those that call a module (atoll
// refuses to plan a project whose state would land in its scratch
// checkout). It returns the projects' directories, sorted. src is left
// untouched.
func PlannableCopy(src, dst, stateDir string, n int) ([]string, error) {
	git := func(dir string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(Env(),
			"GIT_AUTHOR_NAME=atoll bench", "GIT_AUTHOR_EMAIL=bench@atoll.invalid", "GIT_AUTHOR_DATE=2026-01-01T00:00:00Z",
			"GIT_COMMITTER_NAME=atoll bench", "GIT_COMMITTER_EMAIL=bench@atoll.invalid", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := git(filepath.Dir(dst), "clone", "--quiet", src, dst); err != nil {
		return nil, err
	}
	if err := git(dst, "checkout", "--quiet", "-b", "bench-plan"); err != nil {
		return nil, err
	}
	all, err := filepath.Glob(filepath.Join(dst, "conf", "*", "*", "main.tf"))
	if err != nil {
		return nil, err
	}
	var withModules []string
	for _, f := range all {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if strings.Contains(string(b), "\nmodule \"") {
			rel, _ := filepath.Rel(dst, filepath.Dir(f))
			withModules = append(withModules, filepath.ToSlash(rel))
		}
	}
	if len(withModules) < n {
		return nil, fmt.Errorf("%s: only %d projects call a module, want %d", src, len(withModules), n)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	projects := make([]string, n)
	for i := range projects {
		p := withModules[i*len(withModules)/n]
		projects[i] = p
		state := filepath.Join(stateDir, strings.ReplaceAll(p, "/", "-")+".tfstate")
		backend := fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", state)
		if err := os.WriteFile(filepath.Join(dst, filepath.FromSlash(p), "backend.tf"), []byte(backend), 0o644); err != nil {
			return nil, err
		}
	}
	if err := git(dst, append([]string{"add", "--"}, projects...)...); err != nil {
		return nil, err
	}
	if err := git(dst, "commit", "--quiet", "-m", "bench: local backends with absolute state paths"); err != nil {
		return nil, err
	}
	return projects, nil
}

// TerraformEnv is Env without the caller's Terraform variables, plus a
// Terraform that reads no CLI configuration, never phones home and takes
// providers from pluginCache.
func TerraformEnv(pluginCache string) []string {
	var env []string
	for _, kv := range Env() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "CHECKPOINT_") {
			env = append(env, kv)
		}
	}
	return append(env, "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR="+pluginCache)
}

// TerraformVersion is the version of the Terraform binary, e.g. 1.11.4.
func TerraformVersion(bin string, env []string) (string, error) {
	cmd := exec.Command(bin, "version", "-json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s version -json: %v", bin, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("%s version -json: unexpected output %q", bin, out)
	}
	return v.Version, nil
}
