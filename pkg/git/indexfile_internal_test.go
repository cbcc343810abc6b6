package git

import (
	"bytes"
	"crypto/sha1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// indexRepo is a repository with nested paths of several lengths (v4's
// prefix compression and the v2/v3 padding both see every remainder), a
// symlink, an executable and an intent-to-add entry.
func indexRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	for i, name := range []string{"a", "ab", "abc/d.tf", "abc/de.tf", "abc/def/ghij.tf", "abcdefgh/x", "b/c/d/e/f/g/h/i.tf", "zz"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "zz"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("abc", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	run("add", "-A")
	run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "files")
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// sameAsGoGit decodes the index with go-git and with parseIndex and
// compares every field atoll reads.
func sameAsGoGit(t *testing.T, data []byte) *indexFile {
	t.Helper()
	var want index.Index
	if err := index.NewDecoder(bytes.NewReader(data)).Decode(&want); err != nil {
		t.Fatalf("go-git: %v", err)
	}
	got, err := parseIndex(data)
	if err != nil {
		t.Fatalf("parseIndex: %v", err)
	}
	if len(got.entries) != len(want.Entries) {
		t.Fatalf("%d entries, go-git %d", len(got.entries), len(want.Entries))
	}
	for i, w := range want.Entries {
		g := got.entries[i]
		if g.name != w.Name || g.hash != fromPlumbing(w.Hash) || g.mode != uint32(w.Mode) || g.size != w.Size ||
			g.inode != w.Inode || !g.mtime.Equal(w.ModifiedAt) || g.stage != int(w.Stage) ||
			g.skipWorktree != w.SkipWorktree || g.intentToAdd != w.IntentToAdd {
			t.Errorf("entry %d: %+v, go-git %+v", i, g, *w)
		}
	}
	// go-git leaves out invalidated cache-tree entries: its first entry
	// is the root only while the root is valid.
	if want.Cache != nil && len(want.Cache.Entries) > 0 && want.Cache.Entries[0].Path == "" {
		root := want.Cache.Entries[0]
		if !got.treeOK || got.treeHash != fromPlumbing(root.Hash) || got.treeEntries != root.Entries {
			t.Errorf("cache tree: %v %v %d, go-git %v %d", got.treeOK, got.treeHash, got.treeEntries, root.Hash, root.Entries)
		}
	} else if got.treeOK {
		t.Error("a cache tree where go-git finds none (or an invalidated one)")
	}
	return got
}

func TestParseIndexAgreesWithGoGitOnEveryVersion(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"2", "3", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			t.Parallel()
			dir := indexRepo(t)
			gitIn(t, dir, "update-index", "--index-version", v)
			gitIn(t, dir, "update-index", "--refresh")
			data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
			if err != nil {
				t.Fatal(err)
			}
			idx := sameAsGoGit(t, data)
			if !idx.treeOK || idx.treeEntries != 9 {
				t.Errorf("cache tree root: %v, %d entries", idx.treeOK, idx.treeEntries)
			}
			if v != "4" {
				return
			}
			// An intent-to-add entry sets the extended flags (version 3
			// or later) and invalidates the cache tree.
			if err := os.WriteFile(filepath.Join(dir, "new.tf"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			gitIn(t, dir, "add", "-N", "new.tf")
			data, _ = os.ReadFile(filepath.Join(dir, ".git", "index"))
			if idx := sameAsGoGit(t, data); !idx.entries[len(idx.entries)-2].intentToAdd {
				t.Errorf("new.tf not intent-to-add: %+v", idx.entries)
			}
		})
	}
}

func TestParseIndexRefusesWhatItDoesNotUnderstand(t *testing.T) {
	t.Parallel()
	dir := indexRepo(t)
	path := filepath.Join(dir, ".git", "index")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseIndex(good); err != nil {
		t.Fatalf("a plain index: %v", err)
	}
	resum := func(b []byte) []byte {
		out := append([]byte(nil), b[:len(b)-20]...)
		s := sha1.Sum(out)
		return append(out, s[:]...)
	}
	flip := func(at int) []byte {
		b := append([]byte(nil), good...)
		b[at] ^= 0xff
		return b
	}
	bad := map[string][]byte{
		"empty":            nil,
		"bad checksum":     flip(len(good) - 1),
		"flipped entry":    flip(100),
		"version 5":        resum(append(append([]byte("DIRC"), 0, 0, 0, 5), good[8:]...)),
		"not an index":     resum(append([]byte("DIRX"), good[4:]...)),
		"too many entries": resum(append(append([]byte("DIRC"), good[4:8]...), append([]byte{0, 1, 0, 0}, good[12:]...)...)),
		"truncated":        resum(good[:len(good)-40]),
		// A required (lower-case) extension this reader does not know.
		"required extension": resum(append(append(append([]byte(nil), good[:len(good)-20]...), []byte("link\x00\x00\x00\x00")...), good[len(good)-20:]...)),
	}
	for name, b := range bad {
		if _, err := parseIndex(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An optional (upper-case) extension is skipped.
	opt := resum(append(append(append([]byte(nil), good[:len(good)-20]...), []byte("ZZZZ\x00\x00\x00\x02ab")...), good[len(good)-20:]...))
	if _, err := parseIndex(opt); err != nil {
		t.Errorf("an optional extension: %v", err)
	}
	// index.skipHash: a zero checksum is not checked.
	zero := append(append([]byte(nil), good[:len(good)-20]...), make([]byte, 20)...)
	if _, err := parseIndex(zero); err != nil {
		t.Errorf("a zero checksum: %v", err)
	}

	// What git itself writes and this reader leaves to the tree walk: a
	// split index (its entries live in a shared file) and a sparse index.
	gitIn(t, dir, "update-index", "--split-index")
	if b, _ := os.ReadFile(path); b != nil {
		if _, err := parseIndex(b); err == nil {
			t.Error("a split index: accepted")
		}
	}
	gitIn(t, dir, "update-index", "--no-split-index")
	gitIn(t, dir, "sparse-checkout", "init", "--cone", "--sparse-index")
	gitIn(t, dir, "sparse-checkout", "set", "abc")
	if b, _ := os.ReadFile(path); b != nil {
		idx, err := parseIndex(b)
		if err == nil {
			for _, e := range idx.entries {
				if !e.skipWorktree && !strings.HasPrefix(e.name, "abc/") && strings.Contains(e.name, "/") {
					t.Errorf("sparse index read as if whole: %s", e.name)
				}
			}
		}
	}
}
