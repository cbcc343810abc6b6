package git

import (
	"path"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Action says what happened to a path between two trees.
type Action string

const (
	Added    Action = "added"
	Deleted  Action = "deleted"
	Modified Action = "modified"
)

// Change is one file that differs between two trees. A rename shows as a
// deletion of the old path and an addition of the new one, so both sides
// of it are always seen. A submodule whose commit changed is a change at
// its directory's path (an Entry with Gitlink set).
type Change struct {
	Path   string
	Action Action
	// Old and New are the file on each side (Old is zero for an addition,
	// New for a deletion).
	Old, New Entry
}

// DiffTrees lists the files that differ between trees a and b (either may be
// the zero hash for the empty tree). Subtrees with equal hashes are skipped
// without being read, which is what makes a diff of two commits of a large
// monorepo cost as much as the change, not as much as the repository.
func (r *Repo) DiffTrees(a, b Hash) ([]Change, error) {
	var out []Change
	err := r.diff(a, b, "", &out)
	if e, ok := err.(*UnsafeEntryError); ok && e.side == 2 {
		return out, r.inCommit(err, b)
	}
	return out, r.inCommit(err, a)
}

func (r *Repo) diff(a, b Hash, prefix string, out *[]Change) error {
	if a == b {
		return nil
	}
	ta, err := r.tree(a)
	if err != nil {
		return onSide(inDir(err, prefix), 1)
	}
	tb, err := r.tree(b)
	if err != nil {
		return onSide(inDir(err, prefix), 2)
	}
	inB := make(map[string]object.TreeEntry, len(tb.Entries))
	for _, e := range tb.Entries {
		inB[e.Name] = e
	}
	for _, ea := range ta.Entries {
		p := path.Join(prefix, ea.Name)
		eb, ok := inB[ea.Name]
		delete(inB, ea.Name)
		if !ok {
			if err := r.side(ea, p, Deleted, out); err != nil {
				return err
			}
			continue
		}
		if ea.Hash == eb.Hash && ea.Mode == eb.Mode {
			continue
		}
		aDir, bDir := ea.Mode == filemode.Dir, eb.Mode == filemode.Dir
		if aDir && bDir {
			if err := r.diff(fromPlumbing(ea.Hash), fromPlumbing(eb.Hash), p, out); err != nil {
				return err
			}
		} else if !aDir && !bDir {
			*out = append(*out, Change{Path: p, Action: Modified, Old: entryOf(ea, p), New: entryOf(eb, p)})
		} else {
			if err := r.side(ea, p, Deleted, out); err != nil {
				return err
			}
			if err := r.side(eb, p, Added, out); err != nil {
				return err
			}
		}
	}
	// Entries only in b, in b's order.
	for _, eb := range tb.Entries {
		if _, ok := inB[eb.Name]; !ok {
			continue
		}
		if err := r.side(eb, path.Join(prefix, eb.Name), Added, out); err != nil {
			return err
		}
	}
	return nil
}

// side records every file under an entry that exists on one side only.
func (r *Repo) side(e object.TreeEntry, p string, act Action, out *[]Change) error {
	add := func(f Entry) {
		c := Change{Path: f.Path, Action: act}
		if act == Deleted {
			c.Old = f
		} else {
			c.New = f
		}
		*out = append(*out, c)
	}
	if e.Mode != filemode.Dir {
		add(entryOf(e, p))
		return nil
	}
	side := 2
	if act == Deleted {
		side = 1
	}
	return onSide(r.walk(fromPlumbing(e.Hash), p, nil, add), side)
}

func entryOf(e object.TreeEntry, p string) Entry {
	return Entry{Path: p, Blob: fromPlumbing(e.Hash), Symlink: e.Mode == filemode.Symlink, Executable: e.Mode == filemode.Executable, Gitlink: e.Mode == filemode.Submodule}
}
