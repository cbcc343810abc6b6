//go:build !linux

package tf

import (
	"os"
	"syscall"
)

// sysProcAttr: Terraform in its own process group (a terminal's Ctrl-C is
// atoll's to pass on).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// fileIdentity is empty where binaryKey has only size and times.
func fileIdentity(os.FileInfo) string { return "" }
