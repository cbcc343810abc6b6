package git

import (
	"syscall"
	"time"
)

// mtime is a stat's modification time.
func mtime(st *syscall.Stat_t) time.Time { return time.Unix(st.Mtim.Sec, st.Mtim.Nsec) }
