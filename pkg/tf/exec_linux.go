package tf

import (
	"fmt"
	"os"
	"syscall"
)

// sysProcAttr: Terraform in its own process group (a terminal's Ctrl-C is
// atoll's to pass on), killed if atoll dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// fileIdentity is the inode and change time of fi, for binaryKey.
func fileIdentity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("\x00%d\x00%d.%d", st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}
