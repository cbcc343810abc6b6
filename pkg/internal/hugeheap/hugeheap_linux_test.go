package hugeheap

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// advisedRanges lists the mappings of this process that carry the huge
// page advice ("hg" in smaps' VmFlags).
func advisedRanges(t *testing.T) [][2]uintptr {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]uintptr
	var cur [2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-"); ok && !strings.HasSuffix(line, ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				cur = [2]uintptr{uintptr(a), uintptr(b)}
				continue
			}
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && strings.Contains(" "+flags+" ", " hg ") {
			out = append(out, cur)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGrowAdvisesTheMemoryTheNextAllocationsGet(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		// A kernel without transparent huge pages refuses the advice.
		if Grow(64 << 20) {
			t.Fatal("Grow reported advice taken on a kernel without transparent huge pages")
		}
		return
	}
	if !Grow(64 << 20) {
		t.Fatal("Grow: the kernel refused MADV_HUGEPAGE")
	}
	// What the scan allocates next: many small objects and a few large.
	var keep [][]byte
	for i := 0; i < 8000; i++ {
		keep = append(keep, make([]byte, 4096))
	}
	for i := 0; i < 4; i++ {
		keep = append(keep, make([]byte, 1<<20))
	}
	ranges := advisedRanges(t)
	in := 0
	for _, b := range keep {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		for _, r := range ranges {
			if p >= r[0] && p < r[1] {
				in++
				break
			}
		}
	}
	t.Logf("%d of %d allocations in advised memory", in, len(keep))
	// Some may fill holes the heap had before; most must be advised.
	if in < len(keep)/2 {
		t.Fatalf("%d of %d allocations after Grow are in advised memory (%d advised ranges)", in, len(keep), len(ranges))
	}
}

func TestGrowIgnoresSmallRequests(t *testing.T) {
	if Grow(Page) {
		t.Fatal("Grow advised less than two huge pages")
	}
}

func TestGrowHonoursGODEBUGDisablethp(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"disablethp=1", true},
		{"gctrace=1, disablethp=1", true},
		{"disablethp=0", false},
		{"disablethp=1,disablethp=0", false},
		{"xdisablethp=1", false},
	} {
		if got := thpDisabled(tc.godebug); got != tc.want {
			t.Errorf("thpDisabled(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
	t.Setenv("GODEBUG", "disablethp=1")
	if Grow(64 << 20) {
		t.Error("Grow advised huge pages under GODEBUG=disablethp=1")
	}
}
