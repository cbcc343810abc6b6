package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

func refStore(t *testing.T, r *git.Repo, remote string) *git.RefStore {
	t.Helper()
	st, err := r.RefStore(remote, remote != "", "entry.json")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRefStoreOpensOnTheRemoteOrLocally(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	r := open(t, s.Work)

	st := refStore(t, r, "origin")
	if st.Remote != "origin" || st.Where() != "origin ("+s.Origin+")" {
		t.Errorf("on origin: remote %q, where %q", st.Remote, st.Where())
	}
	_, err := r.RefStore("upstream", true, "entry.json")
	var missing *git.RemoteMissingError
	if !errors.As(err, &missing) || missing.Remote != "upstream" || !strings.Contains(err.Error(), `"upstream"`) {
		t.Errorf("a configured remote that does not exist: err = %v", err)
	}
	st, err = r.RefStore("upstream", false, "entry.json")
	if err != nil || st.Remote != "" || st.Where() != "this repository (no remote)" {
		t.Errorf("no such remote, not configured: %+v, %v", st, err)
	}
}

// Where names the remote's URL without its password, and leaves URLs
// that hold none as they are.
func TestRefStoreWhereHidesPasswords(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	for url, want := range map[string]string{
		"https://ci:s3cret@example.invalid/o/r.git":  "https://ci:***@example.invalid/o/r.git",
		"https://ci:a@b@example.invalid/o/r.git":     "https://ci:***@example.invalid/o/r.git",
		"https://ci@example.invalid/o/r.git":         "https://ci@example.invalid/o/r.git",
		"https://example.invalid/o/a:b@c.git":        "https://example.invalid/o/a:b@c.git",
		"git@example.invalid:o/r.git":                "git@example.invalid:o/r.git",
		"ssh://git:pw@example.invalid:22/o/r.git":    "ssh://git:***@example.invalid:22/o/r.git",
		"https://example.invalid/o/r.git":            "https://example.invalid/o/r.git",
		"https://tok:x-oauth@example.invalid/r?a=:@": "https://tok:***@example.invalid/r?a=:@",
		"file:///srv/a:b@c/repo.git":                 "file:///srv/a:b@c/repo.git",
	} {
		s.Git("remote", "remove", "origin")
		s.Git("remote", "add", "origin", url)
		st := refStore(t, open(t, s.Work), "origin")
		if got := st.Where(); got != "origin ("+want+")" {
			t.Errorf("Where() for %s = %q, want origin (%s)", url, got, want)
		}
	}
}

// What Write stores is an ordinary commit git reads back the same way:
// one file, the message, the parents.
func TestRefStoreWriteAndRead(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	st := refStore(t, open(t, s.Work), "")
	first, err := st.Write([]byte("one\n"), nil, "first entry")
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.Write([]byte("two"), []string{first}, "second entry")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Git("show", second+":entry.json"); got != "two" {
		t.Errorf("git show %s:entry.json = %q", second, got)
	}
	if got := s.Git("ls-tree", "--name-only", second); got != "entry.json" {
		t.Errorf("the tree holds %q, want only entry.json", got)
	}
	if got := s.Git("log", "--format=%s %p", "--abbrev=40", second); got != "second entry "+first+"\nfirst entry" {
		t.Errorf("git log = %q", got)
	}
	data, parents, err := st.Read(second)
	if err != nil || string(data) != "two" || !reflect.DeepEqual(parents, []string{first}) {
		t.Errorf("Read(second) = %q, %v, %v", data, parents, err)
	}
	data, parents, err = st.Read(first)
	if err != nil || string(data) != "one\n" || len(parents) != 0 {
		t.Errorf("Read(first) = %q, %v, %v", data, parents, err)
	}

	if _, err := st.Write([]byte("x"), []string{"not-a-sha"}, "bad parent"); err == nil || !strings.Contains(err.Error(), "not-a-sha") {
		t.Errorf("Write with a malformed parent: err = %v", err)
	}
	if _, _, err := st.Read("not-a-sha"); err == nil || !strings.Contains(err.Error(), "not-a-sha") {
		t.Errorf("Read of a malformed id: err = %v", err)
	}
	head := s.Git("rev-parse", "HEAD")
	if _, _, err := st.Read(head); err == nil || !strings.Contains(err.Error(), "holds no entry.json") {
		t.Errorf("Read of a commit without the file: err = %v", err)
	}
	if _, _, err := st.Read(strings.Repeat("ab", 20)); err == nil {
		t.Error("Read of a missing commit: no error")
	}
	tree := s.Git("rev-parse", "HEAD^{tree}")
	if _, _, err := st.Read(tree); err == nil {
		t.Error("Read of a tree: no error")
	}
}

// Local updates are one transaction: every compare must hold or nothing
// changes.
func TestRefStoreUpdateLocal(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	st := refStore(t, open(t, s.Work), "")
	ctx := context.Background()
	a, _ := st.Write([]byte("a"), nil, "a")
	b, _ := st.Write([]byte("b"), nil, "b")
	ref := func(name string) string {
		out, _ := sandbox.Git(s.Work, "rev-parse", "-q", "--verify", name)
		return out
	}

	if err := st.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/x", New: a}, {Ref: "refs/atoll/y", New: b}}); err != nil {
		t.Fatal(err)
	}
	if ref("refs/atoll/x") != a || ref("refs/atoll/y") != b {
		t.Fatalf("after create: x=%s y=%s", ref("refs/atoll/x"), ref("refs/atoll/y"))
	}
	for what, ups := range map[string][]git.RefUpdate{
		"create over an existing ref": {{Ref: "refs/atoll/x", New: b}},
		"update from a stale value":   {{Ref: "refs/atoll/z", New: a}, {Ref: "refs/atoll/x", Old: b, New: a}},
		"delete from a stale value":   {{Ref: "refs/atoll/y", Old: a}},
	} {
		if err := st.Update(ctx, ups); !errors.Is(err, git.ErrRefConflict) {
			t.Errorf("%s: err = %v, want ErrRefConflict", what, err)
		}
	}
	if ref("refs/atoll/x") != a || ref("refs/atoll/y") != b || ref("refs/atoll/z") != "" {
		t.Fatalf("a refused update changed refs: x=%s y=%s z=%s", ref("refs/atoll/x"), ref("refs/atoll/y"), ref("refs/atoll/z"))
	}
	if err := st.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/x", Old: a, New: b}, {Ref: "refs/atoll/y", Old: b}}); err != nil {
		t.Fatal(err)
	}
	if ref("refs/atoll/x") != b || ref("refs/atoll/y") != "" {
		t.Errorf("after update and delete: x=%s y=%s", ref("refs/atoll/x"), ref("refs/atoll/y"))
	}
	cached, err := st.Cached()
	if err != nil || !reflect.DeepEqual(cached, map[string]string{"refs/atoll/x": b}) {
		t.Errorf("Cached() = %v, %v", cached, err)
	}
	atoll, branches, err := st.Fetch(ctx)
	if err != nil || !reflect.DeepEqual(atoll, map[string]string{"refs/atoll/x": b}) || !reflect.DeepEqual(branches, map[string]bool{"main": true}) {
		t.Errorf("Fetch() on the local store = %v, %v, %v", atoll, branches, err)
	}
	if err := st.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/bad name", New: a}}); err == nil || errors.Is(err, git.ErrRefConflict) {
		t.Errorf("an invalid ref name: err = %v, want an error that is no conflict", err)
	}
}

// Updates on a remote are compare-and-swap pushes; the local mirror
// follows an accepted one, and Fetch brings what others pushed.
func TestRefStoreOnARemote(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	ctx := context.Background()
	st := refStore(t, open(t, s.Work), "origin")
	a, _ := st.Write([]byte("a"), nil, "a")
	b, _ := st.Write([]byte("b"), nil, "b")
	remoteRef := func(name string) string {
		out, _ := sandbox.Git(s.Origin, "rev-parse", "-q", "--verify", name)
		return out
	}

	if err := st.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/x", New: a}}); err != nil {
		t.Fatal(err)
	}
	if remoteRef("refs/atoll/x") != a {
		t.Fatalf("the remote's refs/atoll/x = %q, want %s", remoteRef("refs/atoll/x"), a)
	}
	if cached, err := st.Cached(); err != nil || !reflect.DeepEqual(cached, map[string]string{"refs/atoll/x": a}) {
		t.Errorf("the mirror after a push: %v, %v", cached, err)
	}
	for what, ups := range map[string][]git.RefUpdate{
		"create over an existing ref": {{Ref: "refs/atoll/x", New: b}},
		"update from a stale value":   {{Ref: "refs/atoll/y", New: a}, {Ref: "refs/atoll/x", Old: b, New: b}},
	} {
		if err := st.Update(ctx, ups); !errors.Is(err, git.ErrRefConflict) {
			t.Errorf("%s: err = %v, want ErrRefConflict", what, err)
		}
	}
	if remoteRef("refs/atoll/x") != a || remoteRef("refs/atoll/y") != "" {
		t.Errorf("a refused push changed the remote: x=%s y=%s", remoteRef("refs/atoll/x"), remoteRef("refs/atoll/y"))
	}

	// Another clone moves the ref: Fetch sees it, and brings its objects.
	other := filepath.Join(t.TempDir(), "other")
	if _, err := sandbox.Git(filepath.Dir(other), "clone", "-q", s.Origin, other); err != nil {
		t.Fatal(err)
	}
	ost := refStore(t, open(t, other), "origin")
	c, err := ost.Write([]byte("c"), []string{}, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := ost.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/x", Old: a, New: c}}); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.PushTo(other, s.Origin, "HEAD:refs/heads/topic"); err != nil {
		t.Fatal(err)
	}
	atoll, branches, err := st.Fetch(ctx)
	if err != nil || !reflect.DeepEqual(atoll, map[string]string{"refs/atoll/x": c}) || !reflect.DeepEqual(branches, map[string]bool{"main": true, "topic": true}) {
		t.Fatalf("Fetch() = %v, %v, %v", atoll, branches, err)
	}
	if data, _, err := st.Read(c); err != nil || string(data) != "c" {
		t.Errorf("the fetched entry reads %q, %v", data, err)
	}
	if cached, _ := st.Cached(); !reflect.DeepEqual(cached, map[string]string{"refs/atoll/x": c}) {
		t.Errorf("the mirror after Fetch: %v", cached)
	}
	// Deleted on the remote: Fetch prunes the mirror.
	if err := ost.Update(ctx, []git.RefUpdate{{Ref: "refs/atoll/x", Old: c}}); err != nil {
		t.Fatal(err)
	}
	if atoll, _, err := st.Fetch(ctx); err != nil || len(atoll) != 0 {
		t.Errorf("Fetch() after the remote deleted the ref = %v, %v", atoll, err)
	}
	if cached, _ := st.Cached(); len(cached) != 0 {
		t.Errorf("the mirror after Fetch: %v", cached)
	}
}

// A remote that cannot be reached is no conflict: the error says which
// remote and what git said, and an interrupted command says so.
func TestRefStoreUnreachableRemote(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	gone := filepath.Join(t.TempDir(), "gone.git")
	s.Git("remote", "add", "gone", gone)
	st := refStore(t, open(t, s.Work), "gone")
	a, _ := st.Write([]byte("a"), nil, "a")
	err := st.Update(context.Background(), []git.RefUpdate{{Ref: "refs/atoll/x", New: a}})
	var pe *git.PushError
	if !errors.As(err, &pe) || pe.Remote != "gone" || errors.Is(err, git.ErrRefConflict) || !strings.Contains(err.Error(), "push to gone failed: ") || !strings.Contains(err.Error(), gone) || strings.Contains(err.Error(), "\n") {
		t.Errorf("push to a missing remote: err = %v", err)
	}
	if _, _, err := st.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), gone) || strings.Contains(err.Error(), "\n") {
		t.Errorf("fetch from a missing remote: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := refStore(t, open(t, s.Work), "origin").Fetch(ctx); err == nil || !strings.HasPrefix(err.Error(), "interrupted") {
		t.Errorf("an interrupted fetch: err = %v", err)
	}
}

func TestRefStorePending(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	st := refStore(t, open(t, s.Work), "")
	if names, data, err := st.Pending(); err != nil || names != nil || data != nil {
		t.Errorf("nothing kept yet: %v, %v, %v", names, data, err)
	}
	for _, name := range []string{"2-b", "1-a", "3-c"} {
		if err := st.SavePending(name, []byte("data "+name)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(s.Work, ".git", "atoll", "pending")
	if err := os.WriteFile(filepath.Join(dir, ".tmp-4-d"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "0-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := st.DropPending("../pending/3-c"); err != nil {
		t.Fatal(err)
	}
	names, data, err := st.Pending()
	if err != nil || !reflect.DeepEqual(names, []string{"1-a", "2-b"}) || !reflect.DeepEqual(data, [][]byte{[]byte("data 1-a"), []byte("data 2-b")}) {
		t.Errorf("Pending() = %q, %q, %v", names, data, err)
	}
	if err := st.DropPending("3-c"); err == nil {
		t.Error("dropping a file already dropped: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("pending holds %d entries, want 4 (1-a, 2-b, the dot file, the directory)", len(entries))
	}
}

func TestConfigValue(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"f": "0"})
	s.Git("config", "atoll.remote", " upstream ")
	r := open(t, s.Work)
	if got := r.ConfigValue("atoll.remote"); got != "upstream" {
		t.Errorf("ConfigValue(atoll.remote) = %q", got)
	}
	if got := r.ConfigValue("atoll.unset"); got != "" {
		t.Errorf("ConfigValue(atoll.unset) = %q", got)
	}
}
