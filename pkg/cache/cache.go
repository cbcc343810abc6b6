// Package cache keeps atoll's derived data under the repository's git
// directory. Every entry is keyed by git object hashes (and the settings
// that shaped it), so an entry can never be stale; a file that is corrupt,
// truncated or written by another atoll version is ignored and rebuilt,
// never trusted.
package cache

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// format changes whenever the layout of an entry or a payload changes.
// 2: header, payload and the trailing sum in one stream, encoded once.
// 3: a graph's projects in chunks, each its own gob message.
// 4: the parse cache as columns (callsTable), not a map.
const format = 4

const (
	magic = "atoll-cache"
	// keepEntries bounds the number of graph and result files.
	keepEntries = 64
	// maxCalls bounds the parsed-file cache (about 100 bytes an entry).
	maxCalls = 200_000
	// maxEntryBytes bounds what is read of one entry: far above what
	// maxCalls and keepEntries let a real entry grow to.
	maxEntryBytes = 256 << 20
	// graphChunk is how many projects one gob message of a graph holds:
	// gob builds each message in memory before writing it, so one message
	// for 20,000 projects grew a buffer of several megabytes (and copied
	// it at each doubling) where a chunk reuses one of tens of kilobytes.
	graphChunk = 256
)

// graphEntry is what precedes a graph's project chunks: the graph without
// its projects, and how many there are.
type graphEntry struct {
	Rest     project.Graph
	Projects int
}

// An entry's file is a gob stream of a header and the payload, followed by
// the SHA-256 of both: what a crash, a truncation or another writer leaves
// is recognised and rebuilt.
type header struct {
	Magic   string
	Format  int
	Version string
	Kind    string
	Key     string
}

// Store is a cache directory. A nil *Store caches nothing.
type Store struct {
	dir     string
	version string

	mu         sync.Mutex
	calls      map[string][]project.Call
	callsDirty bool
	mbs        map[string]git.Hash
	mbsDirty   bool

	// writes are the graphs and StartFlush's entries being saved in the
	// background; writeErrs what they failed with, for Flush.
	writes    sync.WaitGroup
	writeErrs []error
	// flushed is closed when the latest StartFlush has written.
	flushed chan struct{}
}

// Open returns the store at dir for an atoll build version. Nothing is read
// until asked for.
func Open(dir, version string) *Store {
	return &Store{dir: dir, version: version}
}

// Dir is where the store keeps its files.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(kind, key string) string {
	return filepath.Join(s.dir, kind+"-"+key)
}

// load decodes the entry kind/key into v; false when absent or
// untrustworthy. Only a regular file is read, never through a symlink nor
// from a FIFO or device, and at most maxEntryBytes of it; anything else at
// the entry's path is removed (unlinked, not followed) and rebuilt.
func (s *Store) load(kind, key string, v any) bool {
	return s.loadWith(kind, key, func(dec *gob.Decoder) error { return dec.Decode(v) })
}

// loadWith reads an entry whose payload decode reads.
func (s *Store) loadWith(kind, key string, decode func(*gob.Decoder) error) bool {
	if s == nil {
		return false
	}
	p := s.path(kind, key)
	b, err := safefs.ReadFile(p, maxEntryBytes)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(p)
		}
		return false
	}
	n := len(b) - sha256.Size
	if n <= 0 || sha256.Sum256(b[:n]) != [sha256.Size]byte(b[n:]) {
		_ = os.Remove(p)
		return false
	}
	dec := gob.NewDecoder(bytes.NewReader(b[:n]))
	var h header
	if err := dec.Decode(&h); err != nil || h != (header{magic, format, s.version, kind, key}) {
		_ = os.Remove(p)
		return false
	}
	if err := decode(dec); err != nil {
		_ = os.Remove(p)
		return false
	}
	return true
}

// save writes an entry atomically: a reader sees the old file or the new
// one, never half of one.
func (s *Store) save(kind, key string, v any) error {
	return s.saveWith(kind, key, func(enc *gob.Encoder) error { return enc.Encode(v) })
}

// saveWith writes an entry whose payload encode writes.
func (s *Store) saveWith(kind, key string, encode func(*gob.Encoder) error) error {
	if s == nil {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+kind+"-*")
	if err != nil {
		return err
	}
	// Encoded once, straight into the file and the hash: no copy of the
	// payload is held.
	sum := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, sum), 64<<10)
	enc := gob.NewEncoder(w)
	err = enc.Encode(header{magic, format, s.version, kind, key})
	if err == nil {
		err = encode(enc)
	}
	if err != nil {
		err = fmt.Errorf("encode cache %s: %w", kind, err)
	} else if err = w.Flush(); err == nil {
		_, err = tmp.Write(sum.Sum(nil))
	}
	if err := errors.Join(err, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), s.path(kind, key)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Graph returns the cached discovery result for key.
func (s *Store) Graph(key string) (*project.Graph, bool) {
	var g project.Graph
	if !s.loadWith("graph", key, func(dec *gob.Decoder) error { return decodeGraph(dec, &g) }) {
		return nil, false
	}
	return &g, true
}

func encodeGraph(enc *gob.Encoder, g *project.Graph) error {
	rest := *g
	rest.Projects = nil
	if err := enc.Encode(graphEntry{Rest: rest, Projects: len(g.Projects)}); err != nil {
		return err
	}
	for i := 0; i < len(g.Projects); i += graphChunk {
		if err := enc.Encode(g.Projects[i:min(i+graphChunk, len(g.Projects))]); err != nil {
			return err
		}
	}
	return nil
}

func decodeGraph(dec *gob.Decoder, g *project.Graph) error {
	var e graphEntry
	if err := dec.Decode(&e); err != nil {
		return err
	}
	if e.Projects < 0 {
		return errors.New("negative project count")
	}
	*g = e.Rest
	if e.Projects > 0 {
		// The count is checked against what the chunks hold, never
		// trusted for an allocation beyond what the file could hold.
		g.Projects = make([]project.Project, 0, min(e.Projects, maxEntryBytes/64))
	}
	for len(g.Projects) < e.Projects {
		var chunk []project.Project
		if err := dec.Decode(&chunk); err != nil {
			return err
		}
		if len(chunk) == 0 || len(g.Projects)+len(chunk) > e.Projects {
			return errors.New("project chunks do not match the count")
		}
		g.Projects = append(g.Projects, chunk...)
	}
	return nil
}

// HasGraph reports whether a graph is cached under key, without reading
// it (Graph still checks the entry).
func (s *Store) HasGraph(key string) bool { return s.has("graph", key) }

// HasCalls reports whether a parse cache entry exists, without reading
// it: a store without one has never finished a scan, so the next scan is
// cold.
func (s *Store) HasCalls() bool { return s.has("calls", "all") }

// has reports whether an entry's file exists; what it holds is checked
// when it is read.
func (s *Store) has(kind, key string) bool {
	if s == nil {
		return false
	}
	_, err := os.Lstat(s.path(kind, key))
	return err == nil
}

// SetGraph caches a discovery result. The entry is encoded and written in
// the background, off the scan's critical path (a large graph takes tens
// of milliseconds to encode); Flush waits for it. The caller must not
// change the graph's projects afterwards (replacing its slices is fine).
func (s *Store) SetGraph(key string, g *project.Graph) error {
	if s == nil {
		return nil
	}
	snapshot := *g
	s.writes.Add(1)
	go func() {
		defer s.writes.Done()
		err := s.saveWith("graph", key, func(enc *gob.Encoder) error { return encodeGraph(enc, &snapshot) })
		if err == nil {
			err = s.prune("graph-")
		}
		if err != nil {
			s.mu.Lock()
			s.writeErrs = append(s.writeErrs, err)
			s.mu.Unlock()
		}
	}()
	return nil
}

// Load decodes a cached value of any gob-encodable type.
func (s *Store) Load(kind, key string, v any) bool { return s.load(kind, key, v) }

// Save caches a value of any gob-encodable type under kind/key and keeps
// at most a bounded number of entries of that kind.
func (s *Store) Save(kind, key string, v any) error {
	if err := s.save(kind, key, v); err != nil {
		return err
	}
	return s.prune(kind + "-")
}

// prune removes the oldest entries of one kind beyond keepEntries.
func (s *Store) prune(prefix string) error {
	if s == nil {
		return nil
	}
	matches, err := filepath.Glob(filepath.Join(s.dir, prefix+"*"))
	if err != nil || len(matches) <= keepEntries {
		return err
	}
	type aged struct {
		p string
		t int64
	}
	var files []aged
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil {
			files = append(files, aged{m, fi.ModTime().UnixNano()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].t > files[j].t })
	for _, f := range files[min(keepEntries, len(files)):] {
		_ = os.Remove(f.p)
	}
	return nil
}

// Calls implements project.Cache.
func (s *Store) Calls(id string) ([]project.Call, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string][]project.Call{}
		s.loadWith("calls", "all", func(dec *gob.Decoder) error { return decodeCalls(dec, s.calls) })
	}
	c, ok := s.calls[id]
	return c, ok
}

// SetCalls implements project.Cache.
func (s *Store) SetCalls(id string, calls []project.Call) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string][]project.Call{}
	}
	if len(s.calls) >= maxCalls {
		// Old blobs accumulate as history moves; start over rather than grow.
		s.calls = map[string][]project.Call{}
	}
	if calls == nil {
		calls = []project.Call{}
	}
	s.calls[id] = calls
	s.callsDirty = true
}

// callsTable is the parse cache as written: one column per field, which
// gob encodes as a few long slices instead of one reflected value per map
// entry (the map of r5000's 5,600 files took 4-12 ms to encode, at the end
// of every cold scan).
type callsTable struct {
	IDs []string
	// Counts is how many calls each ID has; its calls follow those of the
	// IDs before it in Names, Sources and Lines.
	Counts         []uint32
	Names, Sources []string
	Lines          []int32
}

func encodeCalls(enc *gob.Encoder, calls map[string][]project.Call) error {
	t := callsTable{IDs: make([]string, 0, len(calls)), Counts: make([]uint32, 0, len(calls))}
	for id, cs := range calls {
		t.IDs = append(t.IDs, id)
		t.Counts = append(t.Counts, uint32(len(cs)))
		for _, c := range cs {
			t.Names = append(t.Names, c.Name)
			t.Sources = append(t.Sources, c.Source)
			t.Lines = append(t.Lines, int32(c.Line))
		}
	}
	return enc.Encode(&t)
}

// decodeCalls adds the table's entries to calls. A table whose columns do
// not add up is an error (the entry is then dropped and rebuilt).
func decodeCalls(dec *gob.Decoder, calls map[string][]project.Call) error {
	var t callsTable
	if err := dec.Decode(&t); err != nil {
		return err
	}
	if len(t.Counts) != len(t.IDs) || len(t.Sources) != len(t.Names) || len(t.Lines) != len(t.Names) {
		return errors.New("calls table: columns of different lengths")
	}
	total := 0
	for _, n := range t.Counts {
		total += int(n)
	}
	if total != len(t.Names) {
		return errors.New("calls table: counts do not match the calls")
	}
	all := make([]project.Call, total)
	next := 0
	for i, id := range t.IDs {
		n := int(t.Counts[i])
		cs := all[next : next+n : next+n]
		for j := range cs {
			cs[j] = project.Call{Name: t.Names[next+j], Source: t.Sources[next+j], Line: int(t.Lines[next+j])}
		}
		next += n
		calls[id] = cs
	}
	return nil
}

func mbKey(a, b git.Hash) string { return a.String() + b.String() }

// peelKey keeps peeled commits in the merge-base entry, under keys that
// cannot be a pair of hashes.
func peelKey(h git.Hash) string { return "peel-" + h.String() }

// Peeled implements git.PeelCache.
func (s *Store) Peeled(h git.Hash) (git.Hash, bool) { return s.memo(peelKey(h)) }

// SetPeeled implements git.PeelCache.
func (s *Store) SetPeeled(h, commit git.Hash) { s.setMemo(peelKey(h), commit) }

// MergeBase implements git.MergeBaseCache.
func (s *Store) MergeBase(a, b git.Hash) (git.Hash, bool) { return s.memo(mbKey(a, b)) }

// SetMergeBase implements git.MergeBaseCache.
func (s *Store) SetMergeBase(a, b, mb git.Hash) { s.setMemo(mbKey(a, b), mb) }

// memo reads one fact of the merge-base entry, loading it on first use.
func (s *Store) memo(key string) (git.Hash, bool) {
	if s == nil {
		return git.Hash{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.memos()[key]
	return h, ok
}

// memos is the merge-base entry, read on first use; s.mu is held.
func (s *Store) memos() map[string]git.Hash {
	if s.mbs == nil {
		s.mbs = map[string]git.Hash{}
		s.load("mergebase", "all", &s.mbs)
	}
	return s.mbs
}

// setMemo records one fact of the merge-base entry, for Flush.
func (s *Store) setMemo(key string, h git.Hash) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.memos()[key]; ok && old == h {
		return
	}
	if len(s.mbs) > 4096 {
		s.mbs = map[string]git.Hash{}
	}
	s.mbs[key] = h
	s.mbsDirty = true
}

// StartFlush starts writing, in the background, what changed since Open:
// a scan calls it once its files are parsed, so that encoding the parsed-
// file cache overlaps the rest of the scan instead of delaying its answer.
// Flush is StartFlush followed by a wait for every background write.
func (s *Store) StartFlush() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var calls map[string][]project.Call
	var mbs map[string]git.Hash
	if s.callsDirty {
		calls, s.callsDirty = maps.Clone(s.calls), false
	}
	if s.mbsDirty {
		mbs, s.mbsDirty = maps.Clone(s.mbs), false
	}
	if calls == nil && mbs == nil {
		return
	}
	// Each background flush writes after the one before it, so that the
	// newest snapshot is the one left.
	prev, done := s.flushed, make(chan struct{})
	s.flushed = done
	s.writes.Add(1)
	go func() {
		defer s.writes.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		var errs []error
		if calls != nil {
			errs = append(errs, s.saveWith("calls", "all", func(enc *gob.Encoder) error { return encodeCalls(enc, calls) }))
		}
		if mbs != nil {
			errs = append(errs, s.save("mergebase", "all", mbs))
		}
		if err := errors.Join(errs...); err != nil {
			s.mu.Lock()
			s.writeErrs = append(s.writeErrs, err)
			s.mu.Unlock()
		}
	}()
}

// Flush writes what changed since Open, and waits for everything being
// written in the background (StartFlush's and the graphs').
func (s *Store) Flush() error {
	if s == nil {
		return nil
	}
	s.StartFlush()
	s.writes.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := s.writeErrs
	s.writeErrs = nil
	return errors.Join(errs...)
}
