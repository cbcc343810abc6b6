// Package hugeheap lets a command that is about to allocate tens of
// megabytes have them backed by transparent huge pages.
//
// The Go heap grows in 4 KiB pages, and the first write to each one is a
// page fault. On the virtual machines CI runs on that fault is expensive:
// about 12 µs here, so a cold scan of a 5,000-project monorepo, which
// touches ~45 MB, spent a third of its CPU time in ~11,000 faults. A 2 MiB
// huge page costs one fault for 512 pages. Linux gives them to a mapping
// that asked with madvise(MADV_HUGEPAGE) when transparent huge pages are in
// "madvise" mode (the default of most distributions); in "always" mode the
// heap has them already, in "never" mode nobody does.
//
// Go does not ask for the heap, and the runtime maps heap memory as it
// grows, so advising an address range before the runtime maps it has no
// effect. Grow therefore makes the runtime map the memory first: it
// allocates one large block, advises its range, and frees it again. The
// runtime's page allocator hands out the lowest free addresses first, so
// the allocations that follow land in that range. The advice changes only
// the page size; if the runtime's behaviour changes, the effect fades and
// nothing else does.
package hugeheap

import (
	"os"
	"runtime"
	"strings"
)

// Page is the huge page size Grow aligns to.
const Page = 2 << 20

// Grow advises n bytes of new heap for huge pages, and reports whether the
// kernel took the advice (false off Linux, and where transparent huge
// pages are not built in). It costs about a millisecond: a garbage
// collection of the heap as it is, so call it early, before the large
// allocations start, and only when they are about to (the memory is not
// touched, so it costs no RSS until used).
func Grow(n int) bool {
	if n < 2*Page || thpDisabled(os.Getenv("GODEBUG")) {
		return false
	}
	b := make([]byte, n)
	ok := advise(b)
	runtime.KeepAlive(b)
	b = nil
	// Free the block now: its range is then the heap's free memory that
	// the next allocations take from.
	runtime.GC()
	return ok
}

// thpDisabled reports whether GODEBUG asks the Go runtime to keep huge
// pages off the heap (disablethp=1): then atoll does not ask for them
// either.
func thpDisabled(godebug string) bool {
	disabled := false
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "disablethp" {
			disabled = v == "1" // the last setting wins, as in the runtime
		}
	}
	return disabled
}
