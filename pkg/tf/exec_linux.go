package tf

import "syscall"

// sysProcAttr: Terraform in its own process group (a terminal's Ctrl-C is
// atoll's to pass on), killed if atoll dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
