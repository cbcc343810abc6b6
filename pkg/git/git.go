// Package git is atoll's only door to go-git: it opens a repository, resolves
// refs, finds merge-bases, diffs trees and reads the files of a commit, all
// in-process. Only Fetch runs the git binary, so that fetching uses the
// user's credentials, helpers and ssh configuration.
package git

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// Hash is a git object id.
type Hash [20]byte

// String returns the full hex form.
func (h Hash) String() string {
	// One allocation, the string's: discovery names every listed file's
	// blob this way.
	var b [2 * len(Hash{})]byte
	hex.Encode(b[:], h[:])
	return string(b[:])
}

// Short returns the first 8 hex digits.
func (h Hash) Short() string { return h.String()[:8] }

// IsZero reports whether h is the zero hash (no object).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses a 40-digit hex object id.
func ParseHash(s string) (Hash, bool) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

func toPlumbing(h Hash) plumbing.Hash   { return plumbing.Hash(h) }
func fromPlumbing(h plumbing.Hash) Hash { return Hash(h) }

// Repo is an opened repository with a work tree.
type Repo struct {
	repo *gogit.Repository
	// Root is the absolute path of the work tree.
	Root string
	// CommonDir is the absolute path of the shared git directory (where
	// atoll keeps its cache; shared by linked worktrees).
	CommonDir string
	storage   *filesystem.Storage
	// gitDir is this work tree's own git directory (its index is there).
	gitDir string
	trees  sync.Map // Hash -> *object.Tree, decoded trees shared by walks
	// mu serialises object reads: go-git's pack reader shares file offsets.
	mu sync.Mutex
	// indexEntries are the entries IndexFiles listed, sorted by path;
	// indexStats[i] is the stat data of indexEntries[i], which proves a
	// work-tree file's content.
	indexEntries []Entry
	indexStats   []indexStat
	// indexListing, when set, is a listing PrefetchIndex started.
	indexListing func() indexListing
	// MergeBases, when set, memoises MergeBase lookups of ResolveBase.
	MergeBases MergeBaseCache
	// Peels, when set, memoises commitOf.
	Peels PeelCache
	// BaseHint, when set, is the base the environment names for this
	// change (a CI's pull-request target): with no explicit base it is
	// tried before the default rules.
	BaseHint *BaseHint
	// shallow is the set of shallow boundary commits, read on first use.
	shallow map[Hash]bool
	commits commitsByTree
	// head, when set, is what Head returns instead of HEAD (SetHead).
	head *Head
}

// ErrNoCommits says HEAD does not point at a commit yet.
var ErrNoCommits = errors.New("HEAD does not point at a commit yet (a repository with no commits)")

// ErrNotRepository is returned by Open when no repository encloses dir.
var ErrNotRepository = errors.New("not a git repository")

// Open finds the repository that contains dir (walking up like git does).
// Close it when done: it keeps pack files open, which makes reading many
// objects an order of magnitude cheaper than reopening them for each one.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, dot, err := findDotGit(abs)
	if err != nil {
		return nil, err
	}
	gitdir := dot
	if fi, err := os.Stat(dot); err == nil && !fi.IsDir() {
		gitdir, err = readGitFile(root, dot)
		if err != nil {
			return nil, err
		}
	}
	common := commonDir(gitdir)
	var fs billy.Filesystem = osfs.New(gitdir)
	if common != gitdir {
		fs = dotgit.NewRepositoryFilesystem(fs, osfs.New(common))
	}
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(64*cache.MiByte), filesystem.Options{KeepDescriptors: true})
	r, err := gogit.Open(st, osfs.New(root))
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	return &Repo{repo: r, storage: st, Root: root, CommonDir: common, gitDir: gitdir}, nil
}

// Close releases the open pack files.
func (r *Repo) Close() error { return r.storage.Close() }

// findDotGit walks up from dir to the first directory holding .git.
func findDotGit(dir string) (root, dot string, err error) {
	for cur := dir; ; cur = filepath.Dir(cur) {
		p := filepath.Join(cur, ".git")
		if _, err := os.Stat(p); err == nil {
			return cur, p, nil
		}
		if filepath.Dir(cur) == cur {
			return "", "", fmt.Errorf("%w (or any parent up to /): %s", ErrNotRepository, dir)
		}
	}
}

// readGitFile follows a ".git" file (linked worktrees, submodules).
func readGitFile(root, dot string) (string, error) {
	b, err := os.ReadFile(dot)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, "gitdir:") {
		return "", fmt.Errorf("%s: not a gitdir file", dot)
	}
	gitdir := strings.TrimSpace(strings.TrimPrefix(line, "gitdir:"))
	if !filepath.IsAbs(gitdir) {
		gitdir = filepath.Join(root, gitdir)
	}
	return filepath.Clean(gitdir), nil
}

// commonDir finds the directory that holds objects and refs: the git
// directory itself, or for a linked worktree the one its commondir names.
func commonDir(gitdir string) string {
	c, err := os.ReadFile(filepath.Join(gitdir, "commondir"))
	if err != nil {
		return gitdir
	}
	cd := strings.TrimSpace(string(c))
	if !filepath.IsAbs(cd) {
		cd = filepath.Join(gitdir, cd)
	}
	return filepath.Clean(cd)
}

// Head describes what HEAD points at.
type Head struct {
	// Branch is the short branch name, empty when HEAD is detached.
	Branch string
	SHA    Hash
	// MergeCommit is set when the head is a parent of the commit checked
	// out (SetHead): the merge commit a CI builds a pull request on.
	MergeCommit Hash
}

// SetHead makes Head answer h instead of HEAD: CI checks out a merge
// commit of the branch and its base, and the branch's own head is what
// atoll examines.
func (r *Repo) SetHead(h Head) { r.head = &h }

// Head resolves HEAD (or what SetHead set).
func (r *Repo) Head() (Head, error) {
	if r.head != nil {
		return *r.head, nil
	}
	ref, err := r.repo.Head()
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return Head{}, ErrNoCommits
		}
		return Head{}, fmt.Errorf("resolve HEAD: %w", err)
	}
	h := Head{SHA: fromPlumbing(ref.Hash())}
	if ref.Name().IsBranch() {
		h.Branch = ref.Name().Short()
	}
	return h, nil
}

// Ref is a resolved reference.
type Ref struct {
	// Name is the full reference name, e.g. refs/remotes/origin/main, or the
	// revision the user gave when it is not a reference.
	Name string
	SHA  Hash
}

// ResolveRef resolves a full reference name (following symbolic refs) to a
// commit. It returns ok=false when the reference does not exist.
func (r *Repo) ResolveRef(name string) (Ref, bool, error) {
	ref, err := r.repo.Reference(plumbing.ReferenceName(name), true)
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return Ref{}, false, nil
		}
		return Ref{}, false, fmt.Errorf("read ref %s: %w", name, err)
	}
	return Ref{Name: ref.Name().String(), SHA: fromPlumbing(ref.Hash())}, true, nil
}

// SymbolicTarget returns the target of a symbolic ref (e.g. origin/HEAD ->
// refs/remotes/origin/main), or ok=false.
func (r *Repo) SymbolicTarget(name string) (string, bool) {
	ref, err := r.repo.Reference(plumbing.ReferenceName(name), false)
	if err != nil || ref.Type() != plumbing.SymbolicReference {
		return "", false
	}
	return ref.Target().String(), true
}

// ResolveRevision resolves what a user typed: a branch, a remote branch, a
// tag, a full or abbreviated SHA, or an expression like HEAD~2, to a
// commit. A malformed revision, or one naming a tree or blob, is a
// *RevisionError; a well-formed one that names nothing is ok=false.
func (r *Repo) ResolveRevision(rev string) (Ref, bool, error) {
	if err := CheckRevision(rev); err != nil {
		return Ref{}, false, err
	}
	for _, full := range []string{rev, "refs/heads/" + rev, "refs/remotes/" + rev, "refs/remotes/origin/" + rev, "refs/tags/" + rev} {
		if !strings.HasPrefix(full, "refs/") && full != "HEAD" {
			continue
		}
		ref, ok, err := r.ResolveRef(full)
		if err != nil {
			return Ref{}, false, err
		}
		if ok {
			c, err := r.commitOf(ref.SHA)
			if err != nil {
				return Ref{}, false, err
			}
			ref.SHA = c
			return ref, true, nil
		}
	}
	if sha, ok := ParseHash(rev); ok && r.Peels != nil {
		if c, ok := r.Peels.Peeled(sha); ok {
			return Ref{Name: rev, SHA: c}, true, nil
		}
	}
	r.mu.Lock()
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	r.mu.Unlock()
	if err != nil {
		if sha, ok := ParseHash(rev); ok && r.hasObject(sha) {
			_, err := r.commitOf(sha) // a tree or a blob: say which
			return Ref{}, false, &RevisionError{Rev: rev, Reason: err.Error()}
		}
		return Ref{}, false, nil
	}
	c, err := r.commitOf(fromPlumbing(*h))
	if err != nil {
		return Ref{}, false, &RevisionError{Rev: rev, Reason: err.Error()}
	}
	return Ref{Name: rev, SHA: c}, true, nil
}

// commitOf peels annotated tags down to the commit they name.
func (r *Repo) commitOf(h Hash) (Hash, error) {
	if r.Peels != nil {
		if c, ok := r.Peels.Peeled(h); ok {
			return c, nil
		}
	}
	c, err := r.peel(h)
	if err == nil && r.Peels != nil {
		r.Peels.SetPeeled(h, c)
	}
	return c, err
}

func (r *Repo) peel(h Hash) (Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	obj, err := r.repo.Object(plumbing.AnyObject, toPlumbing(h))
	if err != nil {
		return Hash{}, fmt.Errorf("read object %s: %w", h.Short(), err)
	}
	for {
		switch o := obj.(type) {
		case *object.Commit:
			return fromPlumbing(o.Hash), nil
		case *object.Tag:
			obj, err = o.Object()
			if err != nil {
				return Hash{}, fmt.Errorf("peel tag %s: %w", o.Name, err)
			}
		default:
			return Hash{}, fmt.Errorf("%s is a %s, not a commit", h.Short(), obj.Type())
		}
	}
}

// IsShallow reports whether the repository is a shallow clone.
func (r *Repo) IsShallow() bool {
	return len(r.boundary()) > 0
}

// boundary is the set of commits in .git/shallow: present in the clone,
// their parents not. Read once; Fetch forgets it.
func (r *Repo) boundary() map[Hash]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shallow == nil {
		r.shallow = map[Hash]bool{}
		if s, err := r.repo.Storer.Shallow(); err == nil {
			for _, h := range s {
				r.shallow[fromPlumbing(h)] = true
			}
		}
	}
	return r.shallow
}

// isBoundary reports whether h is a shallow boundary commit.
func (r *Repo) isBoundary(h Hash) bool { return r.boundary()[h] }

// HasObject reports whether the object h is in the repository (a shallow
// clone may lack a commit it names).
func (r *Repo) HasObject(h Hash) bool { return r.hasObject(h) }

// hasObject reports whether the object h is in the repository.
func (r *Repo) hasObject(h Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repo.Storer.HasEncodedObject(toPlumbing(h)) == nil
}

// Commit is the part of a commit object atoll needs.
type Commit struct {
	SHA     Hash
	Tree    Hash
	Parents []Hash
	Subject string
	When    int64
}

// Commit reads one commit object.
func (r *Repo) Commit(h Hash) (Commit, error) {
	r.mu.Lock()
	c, err := object.GetCommit(r.repo.Storer, toPlumbing(h))
	r.mu.Unlock()
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) && r.IsShallow() {
			return Commit{}, &ShallowError{Missing: h}
		}
		return Commit{}, fmt.Errorf("read commit %s: %w", h.Short(), err)
	}
	out := Commit{SHA: h, Tree: fromPlumbing(c.TreeHash), When: c.Committer.When.Unix()}
	r.commits.note(out.Tree, h)
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, fromPlumbing(p))
	}
	out.Subject, _, _ = strings.Cut(c.Message, "\n")
	return out, nil
}

// ShallowError says history needed for an answer is missing from a shallow clone.
type ShallowError struct {
	Missing Hash
	// Need says what the commit was needed for; empty means the merge-base.
	Need string
}

func (e *ShallowError) Error() string {
	need := e.Need
	if need == "" {
		need = "to find the merge-base"
	}
	return fmt.Sprintf("this is a shallow clone and commit %s, needed %s, is not in it", e.Missing.Short(), need)
}

// Branches lists local and remote-tracking branch names (main, origin/main).
func (r *Repo) Branches() ([]string, error) {
	refs, err := r.repo.References()
	if err != nil {
		return nil, err
	}
	var out []string
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		n := ref.Name()
		if (n.IsBranch() || n.IsRemote()) && !strings.HasSuffix(n.String(), "/HEAD") {
			out = append(out, n.Short())
		}
		return nil
	})
	return out, err
}
