package git

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// indexFile is what atoll needs of a git index (.git/index): its entries
// and the root of its cache-tree extension. go-git's decoder reads each
// field through reflection and allocates per entry, which made decoding
// the index a tenth of a cold `atoll changed` on a large repository; this
// reader makes one pass over the bytes, and names of version 2 and 3
// entries are substrings of one string of names.
type indexFile struct {
	entries []indexEntry
	// modTime is the index file's own mtime (for the racy-clean rule).
	modTime time.Time
	// treeOK says the cache-tree extension has a valid root: treeHash is
	// the tree the whole index hashes to, covering treeEntries entries.
	treeOK      bool
	treeHash    Hash
	treeEntries int
}

type indexEntry struct {
	name  string
	hash  Hash
	mode  uint32
	size  uint32
	inode uint32
	mtime time.Time
	stage int
	// skipWorktree and intentToAdd are the extended flags git sets for
	// sparse checkouts and `git add -N`.
	skipWorktree, intentToAdd bool
}

const (
	indexExtended     = 0x4000
	indexStageMask    = 0x3000
	indexSkipWorktree = 0x4000
	indexIntentToAdd  = 0x2000
)

var errIndexFormat = errors.New("unsupported or corrupt git index")

// readIndexFile reads and checks the index at path. Any index it does not
// fully understand (another version, a split index, a sparse-directory
// index, a bad checksum) is an error: the caller then reads tree objects.
func readIndexFile(path string) (*indexFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, err
	}
	idx.modTime = fi.ModTime()
	return idx, nil
}

// parseIndex decodes an index file's bytes (see git's
// Documentation/gitformat-index.txt).
func parseIndex(data []byte) (*indexFile, error) {
	const hashLen = 20
	if len(data) < 12+hashLen || string(data[:4]) != "DIRC" {
		return nil, errIndexFormat
	}
	body, sum := data[:len(data)-hashLen], data[len(data)-hashLen:]
	// index.skipHash writes a zero checksum.
	if !bytes.Equal(sum, make([]byte, hashLen)) {
		if got := sha1.Sum(body); !bytes.Equal(got[:], sum) {
			return nil, errIndexFormat
		}
	}
	version := binary.BigEndian.Uint32(body[4:8])
	if version < 2 || version > 4 {
		return nil, errIndexFormat
	}
	n := binary.BigEndian.Uint32(body[8:12])
	if uint64(n) > uint64(len(body))/62 {
		return nil, errIndexFormat
	}
	// Names of v2/v3 entries point into one copy of the bytes.
	text := string(body)
	idx := &indexFile{entries: make([]indexEntry, n)}
	pos := 12
	prev := ""
	for i := range idx.entries {
		start := pos
		if pos+62 > len(body) {
			return nil, errIndexFormat
		}
		b := body[pos:]
		e := &idx.entries[i]
		// No recorded time (git add -N) is the zero time, which no
		// file's matches.
		if sec, nsec := binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16]); sec != 0 || nsec != 0 {
			e.mtime = time.Unix(int64(sec), int64(nsec))
		}
		e.inode = binary.BigEndian.Uint32(b[20:24])
		e.mode = binary.BigEndian.Uint32(b[24:28])
		e.size = binary.BigEndian.Uint32(b[36:40])
		copy(e.hash[:], b[40:60])
		flags := binary.BigEndian.Uint16(b[60:62])
		e.stage = int(flags&indexStageMask) >> 12
		pos += 62
		if flags&indexExtended != 0 {
			if version < 3 || pos+2 > len(body) {
				return nil, errIndexFormat
			}
			ext := binary.BigEndian.Uint16(body[pos : pos+2])
			e.skipWorktree, e.intentToAdd = ext&indexSkipWorktree != 0, ext&indexIntentToAdd != 0
			pos += 2
		}
		if version == 4 {
			strip, w := binary.Uvarint(body[pos:])
			if w <= 0 || strip > uint64(len(prev)) {
				return nil, errIndexFormat
			}
			pos += w
			end := bytes.IndexByte(body[pos:], 0)
			if end < 0 {
				return nil, errIndexFormat
			}
			e.name = prev[:len(prev)-int(strip)] + text[pos:pos+end]
			pos += end + 1
		} else {
			end := bytes.IndexByte(body[pos:], 0)
			if end < 0 {
				return nil, errIndexFormat
			}
			e.name = text[pos : pos+end]
			// Entries are padded with 1-8 NULs to a multiple of 8 bytes.
			pos = start + (pos-start+end+8)&^7
			if pos > len(body) {
				return nil, errIndexFormat
			}
		}
		if e.name == "" || (i > 0 && !indexOrdered(prev, idx.entries[i-1].stage, e.name, e.stage)) {
			return nil, errIndexFormat
		}
		prev = e.name
	}
	if version < 4 {
		compactNames(idx.entries)
	}
	for pos < len(body) {
		if pos+8 > len(body) {
			return nil, errIndexFormat
		}
		sig := body[pos : pos+4]
		size := int(binary.BigEndian.Uint32(body[pos+4 : pos+8]))
		pos += 8
		if size < 0 || size > len(body)-pos {
			return nil, errIndexFormat
		}
		ext := body[pos : pos+size]
		pos += size
		switch {
		case string(sig) == "TREE":
			idx.treeOK, idx.treeHash, idx.treeEntries = cacheTreeRoot(ext)
		case sig[0] >= 'A' && sig[0] <= 'Z':
			// An optional extension atoll does not need.
		default:
			// A required one (a split index's "link", sparse
			// directories' "sdir") changes what the entries mean.
			return nil, errIndexFormat
		}
	}
	return idx, nil
}

// compactNames moves the entries' names, substrings of a copy of the whole
// index, into one string of just the names: the listing keeps them for the
// whole scan, and the rest of the index (62 bytes and the padding of each
// entry) is more than the names themselves.
func compactNames(entries []indexEntry) {
	n := 0
	for i := range entries {
		n += len(entries[i].name)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range entries {
		b.WriteString(entries[i].name)
	}
	all := b.String()
	off := 0
	for i := range entries {
		l := len(entries[i].name)
		entries[i].name = all[off : off+l]
		off += l
	}
}

// indexOrdered reports whether entry (b, sb) may follow (a, sa): by name,
// then by stage.
func indexOrdered(a string, sa int, b string, sb int) bool {
	return a < b || (a == b && sa < sb)
}

// cacheTreeRoot reads the root entry of a TREE extension: an empty path,
// the number of index entries it covers (-1 when invalidated), its number
// of subtrees, and the tree's hash.
func cacheTreeRoot(ext []byte) (ok bool, h Hash, entries int) {
	if len(ext) == 0 || ext[0] != 0 {
		return false, h, 0
	}
	rest := ext[1:]
	sp := bytes.IndexByte(rest, ' ')
	nl := bytes.IndexByte(rest, '\n')
	if sp <= 0 || nl <= sp {
		return false, h, 0
	}
	n, err := strconv.Atoi(string(rest[:sp]))
	if err != nil || n < 0 {
		return false, h, 0
	}
	if _, err := strconv.Atoi(string(rest[sp+1 : nl])); err != nil {
		return false, h, 0
	}
	rest = rest[nl+1:]
	if len(rest) < len(h) {
		return false, h, 0
	}
	copy(h[:], rest[:len(h)])
	return true, h, n
}
