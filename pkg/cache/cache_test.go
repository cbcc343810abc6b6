package cache

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
)

var graph = &project.Graph{Projects: []project.Project{{Name: "a", Dir: "conf/a", Modules: []project.ModuleUse{{Dir: "m", Chain: []string{"conf/a", "m"}}}}}}

// setGraph saves a graph and waits for it to be written.
func setGraph(s *Store, key string, g *project.Graph) error {
	return errors.Join(s.SetGraph(key, g), s.Flush())
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	if err := s.SetGraph("k", graph); err != nil {
		t.Fatal(err)
	}
	s.SetCalls("blob", []project.Call{{Name: "m", Source: "../m", Line: 2}})
	a, b, mb := git.Hash{1}, git.Hash{2}, git.Hash{3}
	s.SetMergeBase(a, b, mb)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	fresh := Open(dir, "v1")
	if g, ok := fresh.Graph("k"); !ok || !reflect.DeepEqual(g, graph) {
		t.Errorf("graph = %+v, %v", g, ok)
	}
	if c, ok := fresh.Calls("blob"); !ok || c[0].Source != "../m" {
		t.Errorf("calls = %v, %v", c, ok)
	}
	if got, ok := fresh.MergeBase(a, b); !ok || got != mb {
		t.Errorf("merge-base = %v, %v", got, ok)
	}
	if _, ok := fresh.Graph("other"); ok {
		t.Error("a missing key was found")
	}
}

func TestUntrustworthyEntriesAreIgnoredAndRemoved(t *testing.T) {
	t.Parallel()
	tests := map[string]func(path string){
		"truncated":   func(p string) { b, _ := os.ReadFile(p); _ = os.WriteFile(p, b[:len(b)/2], 0o644) },
		"bit flipped": func(p string) { b, _ := os.ReadFile(p); b[len(b)-5] ^= 0xff; _ = os.WriteFile(p, b, 0o644) },
		"garbage":     func(p string) { _ = os.WriteFile(p, []byte("not a cache file"), 0o644) },
		"empty":       func(p string) { _ = os.WriteFile(p, nil, 0o644) },
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := Open(dir, "v1")
			if err := s.SetGraph("k", graph); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "graph-k")
			damage(p)
			if g, ok := Open(dir, "v1").Graph("k"); ok {
				t.Fatalf("damaged entry was trusted: %+v", g)
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Error("damaged entry was left behind")
			}
		})
	}
}

func TestOtherVersionAndRenamedEntriesAreIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := setGraph(Open(dir, "v1"), "k", graph); err != nil {
		t.Fatal(err)
	}
	if _, ok := Open(dir, "v2").Graph("k"); ok {
		t.Error("an entry written by another version was trusted")
	}
	if err := setGraph(Open(dir, "v1"), "k", graph); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "graph-k"), filepath.Join(dir, "graph-j")); err != nil {
		t.Fatal(err)
	}
	if _, ok := Open(dir, "v1").Graph("j"); ok {
		t.Error("an entry stored under another key was trusted")
	}
}

func TestNilStoreCachesNothing(t *testing.T) {
	t.Parallel()
	var s *Store
	if err := s.SetGraph("k", graph); err != nil {
		t.Fatal(err)
	}
	s.SetCalls("x", nil)
	if _, ok := s.Calls("x"); ok {
		t.Error("nil store returned a value")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestPruneKeepsABoundedNumber(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	for i := 0; i < keepEntries+10; i++ {
		if err := s.Save("result", string(rune('a'+i%26))+string(rune('a'+i/26)), i); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "result-*"))
	if len(m) != keepEntries {
		t.Errorf("%d entries kept, want %d", len(m), keepEntries)
	}
}

// An entry that is not a regular file (a FIFO, a link to /dev/zero or to a
// huge file) is a miss, read without blocking or exhausting memory, and is
// replaced by the next save.
func TestEntriesThatAreNotFilesAreMisses(t *testing.T) {
	t.Parallel()
	huge := filepath.Join(t.TempDir(), "huge")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 1<<30); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(path string) error{
		"fifo":              func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"link to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"link to a file":    func(p string) error { return os.Symlink(huge, p) },
		"directory":         func(p string) error { return os.Mkdir(p, 0o700) },
	}
	for name, plant := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := Open(dir, "v1")
			if err := plant(filepath.Join(dir, "graph-k")); err != nil {
				t.Fatal(err)
			}
			done := make(chan bool)
			go func() {
				_, ok := s.Graph("k")
				done <- ok
			}()
			select {
			case ok := <-done:
				if ok {
					t.Error("a planted entry was a hit")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading the entry blocked")
			}
			if err := setGraph(s, "k", graph); err != nil {
				t.Fatal(err)
			}
			if g, ok := Open(dir, "v1").Graph("k"); !ok || !reflect.DeepEqual(g, graph) {
				t.Errorf("after a save: %+v, %v", g, ok)
			}
		})
	}
}

// A graph is written in the background: not before SetGraph returns
// necessarily, but always by the time Flush does, with what failed.
func TestFlushWaitsForGraphsAndReportsTheirErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	for i := range 8 {
		if err := s.SetGraph(fmt.Sprint("k", i), graph); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if g, ok := Open(dir, "v1").Graph(fmt.Sprint("k", i)); !ok || !reflect.DeepEqual(g, graph) {
			t.Errorf("k%d after Flush: %+v, %v", i, g, ok)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := Open(filepath.Join(blocked, "cache"), "v1") // a directory under a file
	if err := bad.SetGraph("k", graph); err != nil {
		t.Fatal(err)
	}
	if err := bad.Flush(); err == nil {
		t.Error("Flush hid the failed write")
	}
	if err := bad.Flush(); err != nil {
		t.Errorf("a second Flush reported the old failure again: %v", err)
	}
}

// A graph is written as chunks of projects: one larger than a chunk reads
// back whole and in order, and an entry whose chunks disagree with its
// count is a miss, removed.
func TestLargeGraphsRoundTripInChunks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := &project.Graph{Warnings: []string{"w"}, TerraformDirs: []string{"conf/a"}}
	for i := range 2*graphChunk + 3 {
		big.Projects = append(big.Projects, project.Project{Name: fmt.Sprint("p", i), Dir: fmt.Sprint("conf/p", i), Modules: []project.ModuleUse{{Dir: "m", Chain: []string{fmt.Sprint("conf/p", i), "m"}}}})
	}
	if err := setGraph(Open(dir, "v1"), "big", big); err != nil {
		t.Fatal(err)
	}
	if g, ok := Open(dir, "v1").Graph("big"); !ok || !reflect.DeepEqual(g, big) {
		t.Fatalf("large graph: ok=%v, %d projects, want %d", ok, len(g.Projects), len(big.Projects))
	}

	for name, encode := range map[string]func(*gob.Encoder) error{
		"fewer projects than counted": func(enc *gob.Encoder) error {
			return errors.Join(enc.Encode(graphEntry{Projects: 5}), enc.Encode(big.Projects[:3]))
		},
		"more projects than counted": func(enc *gob.Encoder) error {
			return errors.Join(enc.Encode(graphEntry{Projects: 2}), enc.Encode(big.Projects[:3]))
		},
		"an empty chunk": func(enc *gob.Encoder) error {
			return errors.Join(enc.Encode(graphEntry{Projects: 2}), enc.Encode([]project.Project{}))
		},
		"a negative count": func(enc *gob.Encoder) error {
			return enc.Encode(graphEntry{Projects: -1})
		},
	} {
		s := Open(dir, "v1")
		if err := s.saveWith("graph", "bad", encode); err != nil {
			t.Fatal(err)
		}
		if g, ok := s.Graph("bad"); ok {
			t.Errorf("%s: trusted: %+v", name, g)
		}
		if _, err := os.Stat(filepath.Join(dir, "graph-bad")); !os.IsNotExist(err) {
			t.Errorf("%s: the entry was not removed (%v)", name, err)
		}
	}
}

// Peeled commits are kept beside the merge-bases: both survive a later
// run that records more (without reading first), and neither is taken for
// the other.
func TestPeelsAndMergeBasesAccumulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b, mb, tag, commit := git.Hash{1}, git.Hash{2}, git.Hash{3}, git.Hash{4}, git.Hash{5}
	first := Open(dir, "v1")
	first.SetMergeBase(a, b, mb)
	if err := first.Flush(); err != nil {
		t.Fatal(err)
	}
	second := Open(dir, "v1")
	second.SetPeeled(tag, commit) // the first thing this run does
	if err := second.Flush(); err != nil {
		t.Fatal(err)
	}
	fresh := Open(dir, "v1")
	if got, ok := fresh.MergeBase(a, b); !ok || got != mb {
		t.Errorf("merge-base after a later run = %v, %v; want %v", got, ok, mb)
	}
	if got, ok := fresh.Peeled(tag); !ok || got != commit {
		t.Errorf("peeled = %v, %v; want %v", got, ok, commit)
	}
	if _, ok := fresh.Peeled(a); ok {
		t.Error("a hash never peeled was found")
	}
	if _, ok := fresh.MergeBase(git.Hash{}, tag); ok {
		t.Error("a peel was taken for a merge-base")
	}
	var nilStore *Store
	nilStore.SetPeeled(tag, commit)
	if _, ok := nilStore.Peeled(tag); ok {
		t.Error("a nil store remembered a peel")
	}
}

// StartFlush writes the parsed-file and merge-base entries in the
// background; Flush waits for it and writes what came after, so the file
// ends up holding everything, whatever order the writes finish in.
func TestStartFlushThenFlushKeepsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	a, b, mb := git.Hash{1}, git.Hash{2}, git.Hash{3}
	s.SetMergeBase(a, b, mb)
	for i := range 200 {
		s.SetCalls(fmt.Sprint("before", i), []project.Call{{Name: "m", Source: fmt.Sprint("../m", i)}})
	}
	s.StartFlush()
	s.SetCalls("between", []project.Call{{Name: "n"}})
	s.StartFlush() // writes after the first: its snapshot is the newer
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, ok := Open(dir, "v1").Calls("between"); !ok {
		t.Error("an older snapshot was written last: the calls of between were lost")
	}
	s.SetCalls("after", []project.Call{{Name: "o"}})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	fresh := Open(dir, "v1")
	for _, id := range []string{"before0", "before199", "between", "after"} {
		if _, ok := fresh.Calls(id); !ok {
			t.Errorf("calls of %s were lost", id)
		}
	}
	if got, ok := fresh.MergeBase(a, b); !ok || got != mb {
		t.Errorf("merge-base = %v, %v; want %v", got, ok, mb)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// Nothing changed: nothing is written, and a nil store does nothing.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.StartFlush()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a flush with nothing changed wrote %s: %v", dir, err)
	}
	var nilStore *Store
	nilStore.StartFlush()

	// A failed background write is Flush's error, reported once.
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := Open(filepath.Join(blocked, "cache"), "v1")
	bad.SetCalls("x", nil)
	bad.StartFlush()
	if err := bad.Flush(); err == nil {
		t.Error("Flush hid the failed background write")
	}
	if err := bad.Flush(); err != nil {
		t.Errorf("a second Flush reported the old failure again: %v", err)
	}
}

// HasGraph answers from the entry's presence alone.
func TestHasGraph(t *testing.T) {
	t.Parallel()
	s := Open(t.TempDir(), "v1")
	if s.HasGraph("k") {
		t.Error("an empty store has a graph")
	}
	if err := setGraph(s, "k", graph); err != nil {
		t.Fatal(err)
	}
	if !s.HasGraph("k") || s.HasGraph("other") {
		t.Errorf("HasGraph(k) = %v, HasGraph(other) = %v", s.HasGraph("k"), s.HasGraph("other"))
	}
	var nilStore *Store
	if nilStore.HasGraph("k") {
		t.Error("a nil store has a graph")
	}
}

func TestHasCalls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	if s.HasCalls() {
		t.Error("an empty store has a parse cache")
	}
	s.SetCalls("blob:native", []project.Call{{Name: "m", Source: "../m", Line: 1}})
	if s.HasCalls() {
		t.Error("HasCalls saw an entry that was not written yet")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if !Open(dir, "v1").HasCalls() {
		t.Error("a flushed parse cache is not seen by the next run's store")
	}
	var nilStore *Store
	if nilStore.HasCalls() {
		t.Error("a nil store has a parse cache")
	}
}

func TestCallsTableRoundTripsEveryShape(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := Open(dir, "v1")
	want := map[string][]project.Call{
		"none:native": {},
		"one:native":  {{Name: "m", Source: "../m", Line: 2}},
		"two:json":    {{Name: "a", Source: "./a", Line: 1}, {Name: "b", Source: "git::file:///x", Line: 9}},
	}
	for id, cs := range want {
		s.SetCalls(id, cs)
	}
	s.SetCalls("nil:native", nil)
	want["nil:native"] = []project.Call{}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	fresh := Open(dir, "v1")
	for id, cs := range want {
		got, ok := fresh.Calls(id)
		if !ok || got == nil || !reflect.DeepEqual(got, cs) {
			t.Errorf("Calls(%q) = %#v, %v; want %#v", id, got, ok, cs)
		}
	}
	if _, ok := fresh.Calls("absent"); ok {
		t.Error("an ID never set was found")
	}
}

func TestCallsTableWithColumnsThatDoNotAddUpIsRefused(t *testing.T) {
	t.Parallel()
	for name, table := range map[string]callsTable{
		"counts short":   {IDs: []string{"a", "b"}, Counts: []uint32{1}, Names: []string{"m"}, Sources: []string{"../m"}, Lines: []int32{1}},
		"counts too big": {IDs: []string{"a"}, Counts: []uint32{2}, Names: []string{"m"}, Sources: []string{"../m"}, Lines: []int32{1}},
		"lines short":    {IDs: []string{"a"}, Counts: []uint32{1}, Names: []string{"m"}, Sources: []string{"../m"}},
	} {
		dir := t.TempDir()
		s := Open(dir, "v1")
		if err := s.saveWith("calls", "all", func(enc *gob.Encoder) error { return enc.Encode(&table) }); err != nil {
			t.Fatal(err)
		}
		fresh := Open(dir, "v1")
		if _, ok := fresh.Calls("a"); ok {
			t.Errorf("%s: a table whose columns do not add up was trusted", name)
		}
		if _, err := os.Stat(fresh.path("calls", "all")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused entry was not removed (%v)", name, err)
		}
	}
}
