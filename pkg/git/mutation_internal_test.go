package git

import (
	"container/heap"
	"math"
	"strings"
	"testing"
)

// h is a hash whose every byte is b: h(1) < h(2) < ...
func h(b byte) Hash {
	var x Hash
	for i := range x {
		x[i] = b
	}
	return x
}

// answerNeedsMissing, the shallow clone's "would the missing history
// change the merge-base?", case by case: missing commits (When ==
// MinInt64) reached from one side, the other or both, stale or not, with
// no, one or several candidates; the smallest hash is the one named.
func TestAnswerNeedsMissing(t *testing.T) {
	t.Parallel()
	const missing = math.MinInt64
	type c struct {
		b    byte
		when int64
		flag int
	}
	for _, tc := range []struct {
		name    string
		best    []Hash
		commits []c
		want    Hash
		needs   bool
	}{
		{"nothing missing, one candidate", []Hash{h(9)}, []c{{9, 100, fromOne | fromTwo}}, Hash{}, false},
		{"nothing missing, no candidate", nil, []c{{9, 100, fromOne}}, Hash{}, false},
		{"missing from both sides: the smallest", []Hash{h(9)}, []c{{5, missing, fromOne | fromTwo}, {3, missing, fromOne | fromTwo}, {1, 100, fromOne | fromTwo}}, h(3), true},
		{"missing from each side", []Hash{h(9)}, []c{{6, missing, fromOne}, {4, missing, fromTwo}, {2, missing, fromTwo}}, h(2), true},
		{"missing from one side, one candidate", []Hash{h(9)}, []c{{6, missing, fromOne}}, Hash{}, false},
		{"missing from the other side, one candidate", []Hash{h(9)}, []c{{6, missing, fromTwo}}, Hash{}, false},
		{"missing from one side, no candidate", nil, []c{{6, missing, fromOne}, {7, missing, fromOne}}, h(6), true},
		{"missing from the other side, no candidate", nil, []c{{7, missing, fromTwo}, {6, missing, fromTwo}}, h(6), true},
		{"stale missing commits do not count", []Hash{h(9)}, []c{{6, missing, fromOne | fromTwo | stale}, {5, missing, fromOne | stale}}, Hash{}, false},
		{"several candidates: the smallest missing commit", []Hash{h(8), h(9)}, []c{{1, 100, fromOne}, {6, missing, fromOne | stale}, {4, missing, fromTwo | stale}}, h(4), true},
	} {
		flags, commits := map[Hash]int{}, map[Hash]Commit{}
		for _, x := range tc.commits {
			flags[h(x.b)] = x.flag
			commits[h(x.b)] = Commit{SHA: h(x.b), When: x.when}
		}
		got, needs := answerNeedsMissing(tc.best, flags, commits)
		if got != tc.want || needs != tc.needs {
			t.Errorf("%s: %s %v, want %s %v", tc.name, got.Short(), needs, tc.want.Short(), tc.needs)
		}
	}
}

// The walk's queue pops the newest commit first, ties by hash.
func TestCommitQueueOrder(t *testing.T) {
	t.Parallel()
	q := &commitQueue{}
	for _, x := range []Commit{{SHA: h(5), When: 10}, {SHA: h(1), When: 10}, {SHA: h(3), When: 30}, {SHA: h(2), When: 20}, {SHA: h(4), When: 5}} {
		heap.Push(q, queued{c: x})
	}
	var got []byte
	for q.Len() > 0 {
		got = append(got, heap.Pop(q).(queued).c.SHA[0])
	}
	if string(got) != "\x03\x02\x01\x05\x04" {
		t.Errorf("pop order %v, want [3 2 1 5 4]", got)
	}
}

// HFS+ ignores some Unicode code points in names: exactly those ranges
// make a name .git.
func TestIsGitDirIgnorableRanges(t *testing.T) {
	t.Parallel()
	for r, ignored := range map[rune]bool{
		0x200b: false, 0x200c: true, 0x200f: true, 0x2010: false,
		0x2029: false, 0x202a: true, 0x202e: true, 0x202f: false,
		0x2069: false, 0x206a: true, 0x206f: true, 0x2070: false,
		0xfefe: false, 0xfeff: true,
	} {
		name := ".g" + string(r) + "it"
		if got := isGitDir(name); got != ignored {
			t.Errorf("isGitDir(.g U+%04X it) = %v, want %v", r, got, ignored)
		}
	}
}

func TestUnsafeEntryErrorWording(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		e    UnsafeEntryError
		want string
	}{
		{UnsafeEntryError{Name: "", Why: "cannot decode"}, "holds a malformed tree in the root directory: cannot decode"},
		{UnsafeEntryError{Name: "", Why: whyEmpty}, `holds an unsafe tree entry "" in the root directory: the name is empty`},
		{UnsafeEntryError{Name: "..", Dir: "conf", Why: "x"}, `holds an unsafe tree entry ".." in conf: x`},
	} {
		if got := c.e.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}

// inDir names the directory of an unsafe entry found below it, once: a
// directory named already stays, and other errors pass unchanged.
func TestInDir(t *testing.T) {
	t.Parallel()
	other := &ShallowError{}
	if got := inDir(other, "conf"); got != error(other) {
		t.Errorf("another error: %v", got)
	}
	if got := inDir(&UnsafeEntryError{Name: ".."}, "conf").(*UnsafeEntryError); got.Dir != "conf" {
		t.Errorf("named: %+v", got)
	}
	if got := inDir(&UnsafeEntryError{Name: "..", Dir: "conf/a"}, "conf").(*UnsafeEntryError); got.Dir != "conf/a" {
		t.Errorf("already named: %+v", got)
	}
	if got := inDir(&UnsafeEntryError{Name: ".."}, "").(*UnsafeEntryError); got.Dir != "" {
		t.Errorf("at the root: %+v", got)
	}
}

func TestQuoteRevisionCutsPastSixty(t *testing.T) {
	t.Parallel()
	sixty := strings.Repeat("a", 60)
	if got := quoteRevision(sixty); got != `"`+sixty+`"` {
		t.Errorf("60 bytes: %s", got)
	}
	if got := quoteRevision(sixty + "b"); got != `"`+sixty+`"... (61 bytes)` {
		t.Errorf("61 bytes: %s", got)
	}
}

func TestNormalizeURLEdges(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		":o/r.git":             ":o/r", // no host before the colon: a local path
		"@example.com:o/r.git": "example.com/o/r",
		"a@b@example.com:o/r":  "example.com/o/r",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
