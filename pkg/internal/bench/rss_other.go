//go:build !linux

package bench

import "os"

// maxRSS is unknown here: only Linux's unit for Maxrss is relied on.
func maxRSS(*os.ProcessState) int64 { return 0 }

// minorFaults is unknown here.
func minorFaults(*os.ProcessState) int64 { return 0 }
