package git

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// indexStat is what the index recorded about a file when it last matched
// its blob; a file whose stat still says the same holds the same bytes
// (git's own rule, including its "racy" exception). It is kept beside the
// listing's entry (path and blob), compact: one for each file of a large
// repository, alive for the whole scan.
type indexStat struct {
	// mtime is in Unix nanoseconds; untrusted when the entry's stat
	// proves nothing (a submodule, no recorded time, racily clean).
	mtime       int64
	size, inode uint32
}

// untrusted marks an indexStat that vouches for nothing.
const untrusted = math.MinInt64

// IndexFiles lists the files of tree from the index instead of from tree
// objects, which is far cheaper on a large repository. It answers only when
// the index provably holds exactly tree: its cache-tree extension says the
// root of the index hashes to tree, and no entry is conflicted, sparse or
// intent-to-add. Otherwise ok is false and the caller walks the tree.
func (r *Repo) IndexFiles(tree Hash) (entries []Entry, ok bool) {
	r.mu.Lock()
	pending := r.indexListing
	r.indexListing = nil
	r.mu.Unlock()
	var l indexListing
	if pending != nil {
		l = pending()
	} else {
		l = listIndex(filepath.Join(r.gitDir, "index"))
	}
	if !l.ok || l.tree != tree {
		return nil, false
	}
	r.mu.Lock()
	r.indexEntries, r.indexStats = l.entries, l.stats
	r.mu.Unlock()
	return l.entries, true
}

// PrefetchIndex starts reading and decoding the index in the background,
// for the next IndexFiles call to use: a caller that will list the index
// and has other work to do first (resolving the commits) overlaps the two.
// The listing is what the index said when it was read, which IndexFiles
// then checks against its tree as usual.
func (r *Repo) PrefetchIndex() {
	path := filepath.Join(r.gitDir, "index")
	pending := sync.OnceValue(func() indexListing { return listIndex(path) })
	r.mu.Lock()
	if r.indexListing != nil {
		r.mu.Unlock()
		return
	}
	r.indexListing = pending
	r.mu.Unlock()
	go pending()
}

// indexListing is the index as a listing of one tree: ok when it holds
// exactly the tree it names.
type indexListing struct {
	ok      bool
	tree    Hash
	entries []Entry
	// stats[i] is the stat data of entries[i].
	stats []indexStat
}

func listIndex(path string) indexListing {
	idx, err := readIndexFile(path)
	if err != nil || !idx.treeOK || idx.treeEntries != len(idx.entries) {
		return indexListing{}
	}
	stats := make([]indexStat, 0, len(idx.entries))
	entries := make([]Entry, 0, len(idx.entries))
	for i := range idx.entries {
		e := &idx.entries[i]
		// An unsafe name is reported by the walk of the tree objects.
		if e.stage != 0 || e.skipWorktree || e.intentToAdd || !validPath(e.name) {
			return indexListing{}
		}
		mode := filemode.FileMode(e.mode)
		if mode == filemode.Submodule {
			entries = append(entries, Entry{Path: e.name, Blob: e.hash, Gitlink: true})
			stats = append(stats, indexStat{mtime: untrusted})
			continue
		}
		entries = append(entries, Entry{Path: e.name, Blob: e.hash, Symlink: mode == filemode.Symlink, Executable: mode == filemode.Executable})
		// Racily clean entries (modified in the same instant the index was
		// written) cannot be trusted by stat; they are hashed instead. No
		// recorded time (the zero time) matches no file's.
		st := indexStat{mtime: untrusted}
		if !e.mtime.IsZero() && e.mtime.Before(idx.modTime) {
			st = indexStat{mtime: e.mtime.UnixNano(), size: e.size, inode: e.inode}
		}
		stats = append(stats, st)
	}
	return indexListing{ok: true, tree: idx.treeHash, entries: entries, stats: stats}
}

// statMatches reports whether the index vouches that the file holds blob h.
func (r *Repo) statMatches(p string, h Hash, st *syscall.Stat_t) bool {
	r.mu.Lock()
	entries, stats := r.indexEntries, r.indexStats
	r.mu.Unlock()
	i, found := slices.BinarySearchFunc(entries, p, func(e Entry, p string) int { return strings.Compare(e.Path, p) })
	if !found {
		return false
	}
	is := stats[i]
	return is.mtime != untrusted && entries[i].Blob == h && int64(is.size) == st.Size && is.mtime == mtime(st).UnixNano() &&
		(is.inode == 0 || uint32(st.Ino) == is.inode)
}

// readWorktree returns the work-tree copy of p when it provably holds blob
// h: the index vouches for it by stat, or its bytes hash to h. It is the
// hot path of a cold scan (one call per Terraform file), so it makes the
// four system calls directly, without an *os.File.
func (r *Repo) readWorktree(p string, h Hash) ([]byte, bool) {
	// O_NOFOLLOW: a symlink in the work tree is never read through;
	// O_NONBLOCK: a FIFO there never blocks the open.
	fd, err := openNoEINTR(filepath.Join(r.Root, filepath.FromSlash(p)), syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || uint32(st.Mode)&syscall.S_IFMT != syscall.S_IFREG {
		return nil, false
	}
	b := make([]byte, st.Size)
	for n := 0; n < len(b); {
		m, err := syscall.Read(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m == 0 {
			return nil, false // shrank or failed while read: hash nothing
		}
		n += m
	}
	if r.statMatches(p, h, &st) {
		return b, true
	}
	if fromPlumbing(plumbing.ComputeHash(plumbing.BlobObject, b)) == h {
		return b, true
	}
	return nil, false
}

func openNoEINTR(p string, flags int) (int, error) {
	for {
		fd, err := syscall.Open(p, flags, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// IndexSize is the size of the index file in bytes (0 without one): a
// measure of the work tree's size known before anything is read.
func (r *Repo) IndexSize() int64 {
	var st syscall.Stat_t
	if syscall.Stat(filepath.Join(r.gitDir, "index"), &st) != nil {
		return 0
	}
	return st.Size
}
