package git_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

type rawEntry struct{ mode, name, hash string }

// rawTree writes a tree object byte by byte, the way git mktree or
// hash-object --literally let a branch author, with no check on names.
func rawTree(t *testing.T, dir string, entries ...rawEntry) string {
	t.Helper()
	var b bytes.Buffer
	for _, e := range entries {
		h, err := hex.DecodeString(e.hash)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.mode + " " + e.name + "\x00")
		b.Write(h)
	}
	cmd := exec.Command("git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, sandbox.Env(), &b
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hash-object: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestUnsafeTreeEntriesAreRefused(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/a/main.tf": "# a\n"})
	base := s.Git("rev-parse", "HEAD")
	blob := s.Git("rev-parse", "HEAD:conf/a/main.tf")
	project := s.Git("rev-parse", "HEAD:conf/a")
	r := open(t, s.Work)
	baseCommit, err := r.Commit(hash(t, base))
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"..", ".", ".git", ".GIT", ".Git", ".git.", ".git ", ".git. .", "git~1", ".g\u200cit", ".git::$INDEX_ALLOCATION", "", "a/b", "a\x00b", "a"} {
		conf := []rawEntry{{"40000", "a", project}, {"40000", name, project}}
		if name == "a" {
			// The same name twice in one directory.
			conf[1] = rawEntry{"100644", "a", blob}
		}
		root := rawTree(t, s.Work, rawEntry{"40000", "conf", rawTree(t, s.Work, conf...)})
		commit := s.Git("commit-tree", "-p", base, "-m", "hostile", root)
		c, err := r.Commit(hash(t, commit))
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			t.Helper()
			var ue *git.UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Errorf("%s of a tree holding %q: err = %v, want an UnsafeEntryError", what, name, err)
				return
			}
			wantName := name
			if strings.Contains(name, "\x00") {
				wantName = "" // the object cannot even be decoded
			}
			if ue.Commit.String() != commit || ue.Dir != "conf" || ue.Name != wantName {
				t.Errorf("%s of a tree holding %q: %+v, want commit %s, dir conf", what, name, ue, commit[:8])
			}
			if !strings.Contains(ue.Error(), "commit "+commit[:8]) || !strings.Contains(ue.Error(), "in conf") {
				t.Errorf("%s: message %q names neither commit nor directory", what, ue.Error())
			}
		}
		_, err = r.Files(c.Tree, nil)
		check("Files", err)
		_, err = r.DiffTrees(baseCommit.Tree, c.Tree)
		check("DiffTrees", err)
		_, err = r.DiffTrees(c.Tree, baseCommit.Tree)
		check("DiffTrees reversed", err)
	}
}

func TestOrdinaryDotNamesAreKept(t *testing.T) {
	t.Parallel()
	files := map[string]string{"conf/a/main.tf": "", "conf/a/.gitignore": "", "conf/a/..b/x.tf": "", "conf/a/git/x.tf": "", "conf/a/.github/x": "", "conf/a/.gitx/y": ""}
	s := sandbox.New(t, files)
	r := open(t, s.Work)
	c, err := r.Commit(hash(t, s.Git("rev-parse", "HEAD")))
	if err != nil {
		t.Fatal(err)
	}
	es, err := r.Files(c.Tree, nil)
	if err != nil || len(es) != len(files) {
		t.Fatalf("Files = %d entries, %v; want %d", len(es), err, len(files))
	}
}
