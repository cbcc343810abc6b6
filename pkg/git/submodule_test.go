package git_test

import (
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// TestSubmodulesAreEntries: a submodule (gitlink) is listed, from the tree
// and from the index, as one entry at its directory's path, flagged, with
// the submodule's commit as its hash; a bump of that commit is a change at
// that path, and so are adding and removing the submodule.
func TestSubmodulesAreEntries(t *testing.T) {
	t.Parallel()
	s := sandbox.New(t, map[string]string{"conf/app/main.tf": ""})
	before := s.Git("rev-parse", "HEAD")
	added := s.Submodule("modules/x", map[string]string{"main.tf": "# v1\n"})
	pinned := s.Git("rev-parse", "HEAD:modules/x")
	bumped := s.BumpSubmodule("modules/x", map[string]string{"main.tf": "# v2\n"})
	r := open(t, s.Work)

	find := func(es []git.Entry, p string) (git.Entry, bool) {
		for _, e := range es {
			if e.Path == p {
				return e, true
			}
		}
		return git.Entry{}, false
	}
	tree := func(sha string) git.Hash {
		c, err := r.Commit(hash(t, sha))
		if err != nil {
			t.Fatal(err)
		}
		return c.Tree
	}
	files, err := r.Files(tree(added), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := find(files, "modules/x")
	if !ok || !e.Gitlink || e.Blob != hash(t, pinned) || e.Symlink {
		t.Errorf("modules/x = %+v (found %v), want a gitlink to %s", e, ok, pinned)
	}
	if _, ok := find(files, ".gitmodules"); !ok {
		t.Errorf("files = %+v, want .gitmodules", files)
	}

	// The index holds HEAD (bumped) after the commit.
	idx, ok := r.IndexFiles(tree(bumped))
	if !ok {
		t.Fatal("the index does not answer for HEAD")
	}
	if e, ok := find(idx, "modules/x"); !ok || !e.Gitlink || e.Blob != hash(t, s.Git("rev-parse", "HEAD:modules/x")) {
		t.Errorf("index: modules/x = %+v (found %v)", e, ok)
	}

	changes := func(a, b string) []git.Change {
		d, err := r.DiffTrees(tree(a), tree(b))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := changes(added, bumped)
	if len(d) != 1 || d[0].Path != "modules/x" || d[0].Action != git.Modified || !d[0].Old.Gitlink || !d[0].New.Gitlink || d[0].Old.Blob == d[0].New.Blob {
		t.Errorf("bump: changes = %+v, want modules/x modified", d)
	}
	d = changes(before, added)
	if c, ok := findChange(d, "modules/x"); !ok || c.Action != git.Added || !c.New.Gitlink {
		t.Errorf("add: changes = %+v, want modules/x added", d)
	}
	d = changes(added, before)
	if c, ok := findChange(d, "modules/x"); !ok || c.Action != git.Deleted || !c.Old.Gitlink {
		t.Errorf("remove: changes = %+v, want modules/x deleted", d)
	}
}

func findChange(cs []git.Change, p string) (git.Change, bool) {
	for _, c := range cs {
		if c.Path == p {
			return c, true
		}
	}
	return git.Change{}, false
}
