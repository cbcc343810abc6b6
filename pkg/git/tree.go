package git

import (
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Entry is one file of a tree, at its repository-relative slash path.
type Entry struct {
	Path    string
	Blob    Hash
	Symlink bool
	// Executable is true for mode 100755.
	Executable bool
	// Gitlink is a submodule (mode 160000): a directory whose content is
	// a commit of another repository, whose hash Blob then holds. It has
	// no bytes in this repository: never read it as a blob.
	Gitlink bool
}

// tree reads one tree object; the zero hash is the empty tree.
func (r *Repo) tree(h Hash) (*object.Tree, error) {
	if h.IsZero() {
		return &object.Tree{}, nil
	}
	if t, ok := r.trees.Load(h); ok {
		return t.(*object.Tree), nil
	}
	r.mu.Lock()
	t, err := object.GetTree(r.repo.Storer, toPlumbing(h))
	r.mu.Unlock()
	if errors.Is(err, object.ErrMalformedTree) {
		return nil, &UnsafeEntryError{Why: fmt.Sprintf("tree object %s cannot be decoded (%v)", h.Short(), err)}
	}
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h.Short(), err)
	}
	// Checked once, before any name becomes a path: only valid trees are
	// ever cached.
	if err := validTree(t); err != nil {
		return nil, err
	}
	r.trees.Store(h, t)
	return t, nil
}

// Files lists every file under the tree, depth first in tree order. skipDir
// is asked about each directory (slash path) and prunes it when it says yes.
// A submodule (gitlink) is listed as one entry with Gitlink set, at the
// path of its directory, like a file of the directory that holds it.
func (r *Repo) Files(treeHash Hash, skipDir func(dir string) bool) ([]Entry, error) {
	var out []Entry
	err := r.walk(treeHash, "", skipDir, func(e Entry) { out = append(out, e) })
	return out, r.inCommit(err, treeHash)
}

func (r *Repo) walk(h Hash, prefix string, skipDir func(string) bool, emit func(Entry)) error {
	t, err := r.tree(h)
	if err != nil {
		return inDir(err, prefix)
	}
	for _, e := range t.Entries {
		p := path.Join(prefix, e.Name)
		switch e.Mode {
		case filemode.Dir:
			if skipDir != nil && skipDir(p) {
				continue
			}
			if err := r.walk(fromPlumbing(e.Hash), p, skipDir, emit); err != nil {
				return err
			}
		default:
			emit(entryOf(e, p))
		}
	}
	return nil
}

// ReadBlob returns the bytes of a blob.
func (r *Repo) ReadBlob(h Hash) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, toPlumbing(h))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h.Short(), err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h.Short(), err)
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// ReadCommitted returns the committed bytes of the file at path whose blob
// is h. It reads the work-tree copy when that copy provably holds h (the
// common case, and far cheaper than inflating packed objects) and the object
// database otherwise, so uncommitted edits never leak into the answer.
func (r *Repo) ReadCommitted(p string, h Hash) ([]byte, error) {
	if b, ok := r.readWorktree(p, h); ok {
		return b, nil
	}
	return r.ReadBlob(h)
}

// HasDir reports whether the root of a tree holds a directory named name.
func (r *Repo) HasDir(tree Hash, name string) (bool, error) {
	t, err := r.tree(tree)
	if err != nil {
		return false, r.inCommit(err, tree)
	}
	for _, e := range t.Entries {
		if e.Name == name && e.Mode == filemode.Dir {
			return true, nil
		}
	}
	return false, nil
}
