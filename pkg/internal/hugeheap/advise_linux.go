package hugeheap

import (
	"syscall"
	"unsafe"
)

const madvHugepage = 14 // MADV_HUGEPAGE

// advise asks for huge pages in the whole 2 MiB pages b spans.
func advise(b []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	beg := (p + Page - 1) &^ (Page - 1)
	end := (p + uintptr(len(b))) &^ (Page - 1)
	if beg >= end {
		return false
	}
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, beg, end-beg, madvHugepage)
	return errno == 0
}
