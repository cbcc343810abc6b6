//go:build !linux

package hugeheap

func advise([]byte) bool { return false }
