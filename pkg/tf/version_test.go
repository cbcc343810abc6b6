package tf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestVersionOncePerBinary: a plan of many projects starts Terraform for
// init and plan in each (the counts come from plan's own -json stream, so
// no show), and for `version` once per binary, not once per directory; a
// replaced binary (another size or time) is asked again.
func TestVersionOncePerBinary(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	real := r.Bin
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "terraform")
	if err := sandbox.WriteExecutable(wrapper, []byte("#!/bin/sh\necho \"$1\" >> '"+calls+"'\nexec '"+real+"' \"$@\"\n")); err != nil {
		t.Fatal(err)
	}
	r.Bin = wrapper
	ctx := context.Background()
	v1, err := r.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p := newProject(t, `resource "terraform_data" "a" {}`)
		mustInit(t, r, p.Dir)
		mustPlan(t, r, p.Dir, "plan.tfplan", PlanOptions{})
		if v, err := r.Version(ctx); err != nil || v != v1 {
			t.Fatalf("Version() = %q, %v; want %q again", v, err, v1)
		}
	}
	count := func() map[string]int {
		b, err := os.ReadFile(calls)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, l := range strings.Fields(string(b)) {
			n[l]++
		}
		return n
	}
	if got := count(); got["version"] != 1 || got["init"] != 3 || got["plan"] != 3 || len(got) != 3 {
		t.Errorf("terraform started as %v; want version once, and init and plan once per project, nothing else", got)
	}

	// The same path, another binary: asked again.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(wrapper, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Version(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got["version"] != 2 {
		t.Errorf("after the binary changed, version ran %d times in all, want 2", got["version"])
	}
}

func TestVersionOfNoBinary(t *testing.T) {
	t.Parallel()
	r := &Runner{Bin: filepath.Join(t.TempDir(), "no-terraform")}
	if _, err := r.Version(context.Background()); err == nil {
		t.Fatal("Version of a missing binary succeeded")
	}
	notTF := filepath.Join(t.TempDir(), "echo-tf")
	if err := sandbox.WriteExecutable(notTF, []byte("#!/bin/sh\necho 'not json'\n")); err != nil {
		t.Fatal(err)
	}
	r.Bin = notTF
	if _, err := r.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "printed no version") {
		t.Errorf("Version of a binary that prints no JSON: %v", err)
	}
}

// TestVersionCacheAcrossRuns: with VersionCache, a later run (here: the
// process's memory forgotten) takes the version from the file instead of
// starting Terraform; a binary replaced in place with the same size and
// modification time, a damaged file and a file others can write all make
// it ask again; a cache in a missing directory is never created.
func TestVersionCacheAcrossRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	bin := filepath.Join(dir, "terraform")
	fakeTerraform(t, bin, calls, "1.2.3")
	cache := filepath.Join(dir, "terraform-versions.json")
	// A new run: the answers of this process forgotten.
	run := func(want string, wantCalls int) {
		t.Helper()
		key, err := binaryKey(bin)
		if err != nil {
			t.Fatal(err)
		}
		versions.Delete(key)
		v, err := (&Runner{Bin: bin, VersionCache: cache}).Version(context.Background())
		if err != nil || v != want {
			t.Fatalf("Version() = %q, %v; want %q", v, err, want)
		}
		b, _ := os.ReadFile(calls)
		if got := len(strings.Fields(string(b))); got != wantCalls {
			t.Fatalf("terraform version ran %d times in all, want %d", got, wantCalls)
		}
	}
	run("1.2.3", 1)
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the cache file: %v, %v; want it, mode 0600", fi, err)
	}
	run("1.2.3", 1)

	// Replaced in place: same size, same modification time.
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	fakeTerraform(t, bin, calls, "1.2.4")
	if err := os.Chtimes(bin, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(bin); fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatal("the replacement should keep size and modification time")
	}
	run("1.2.4", 2)
	run("1.2.4", 2)

	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("1.2.4", 3)
	run("1.2.4", 3)

	// A file another user could have written is not believed.
	key, _ := binaryKey(bin)
	lie, _ := json.Marshal(map[string]string{key: "9.9.9"})
	if err := os.WriteFile(cache, lie, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cache, 0o666); err != nil {
		t.Fatal(err)
	}
	run("1.2.4", 4)

	// An empty answer is no answer.
	empty, _ := json.Marshal(map[string]string{key: ""})
	if err := os.WriteFile(cache, empty, 0o600); err != nil {
		t.Fatal(err)
	}
	run("1.2.4", 5)

	// Never written into a directory others can write.
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	versions.Delete(key)
	if _, err := (&Runner{Bin: bin, VersionCache: filepath.Join(shared, "v.json")}).Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("a version cache was written into a directory others can write: %v", entries)
	}

	missing := filepath.Join(dir, "no-such-dir", "terraform-versions.json")
	versions.Delete(key)
	if v, err := (&Runner{Bin: bin, VersionCache: missing}).Version(context.Background()); err != nil || v != "1.2.4" {
		t.Fatalf("Version() with a cache in a missing directory = %q, %v", v, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("the cache's missing directory was created: %v", err)
	}
}

// TestVersionCacheKeepsOtherBinaries: one cache holds the answers of
// several binaries (tfenv keeps one per version), up to versionCacheMax;
// past that it starts again from the newest answer.
func TestVersionCacheKeepsOtherBinaries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	cache := filepath.Join(dir, "terraform-versions.json")
	bin := func(version string) string {
		p := filepath.Join(dir, version, "terraform")
		fakeTerraform(t, p, calls, version)
		return p
	}
	a, b := bin("1.5.7"), bin("1.9.8")
	ask := func(p string) {
		t.Helper()
		key, _ := binaryKey(p)
		versions.Delete(key)
		if _, err := (&Runner{Bin: p, VersionCache: cache}).Version(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ran := func() int {
		out, _ := os.ReadFile(calls)
		return len(strings.Fields(string(out)))
	}
	ask(a)
	ask(b)
	ask(a)
	ask(b)
	if n := ran(); n != 2 {
		t.Fatalf("two binaries asked twice each through one cache: version ran %d times, want 2", n)
	}

	full := map[string]string{}
	for i := range versionCacheMax {
		full[fmt.Sprintf("/old/terraform-%d\x000\x000", i)] = "1.0.0"
	}
	data, _ := json.Marshal(full)
	if err := os.WriteFile(cache, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ask(a)
	var got map[string]string
	data, _ = os.ReadFile(cache)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if key, _ := binaryKey(a); len(got) != 1 || got[key] != "1.5.7" {
		t.Errorf("a full cache after one more answer holds %d entries (%s's: %q), want only that one", len(got), a, got[key])
	}
}

// fakeTerraform writes at path a terraform that notes each command in
// calls and answers `version -json` with version.
func fakeTerraform(t *testing.T, path, calls, version string) {
	t.Helper()
	if err := sandbox.WriteExecutable(path, []byte("#!/bin/sh\necho \"$1\" >> '"+calls+"'\necho '{\"terraform_version\":\""+version+"\"}'\n")); err != nil {
		t.Fatal(err)
	}
}
