package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlock pseudo-terminal: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("pseudo-terminal number: %v", errno)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// terminalQueries are the escape sequences a program writes to ask the
// terminal something (background colour, cursor position, device
// attributes, capabilities); each one makes the program wait for an
// answer that a CI log or a pipe never sends.
var terminalQueries = []string{"\x1b]", "\x1b[6n", "\x1b[c", "\x1b[>c", "\x1bP", "\x1b[?u"}

// TestNoTerminalQueries runs commands with a terminal on stdin, stdout
// and stderr, in colour, and fails if atoll asks the terminal anything:
// lipgloss and termenv query the background colour the first time an
// adaptive colour is rendered, and wait up to seconds for the reply.
// atoll's styles use fixed colours and set the colour profile from the
// environment, so nothing is asked, at start-up or when rendering.
func TestNoTerminalQueries(t *testing.T) {
	for _, args := range [][]string{
		{"version"},
		{"--help"},
		{"changed", "--no-such-flag"},  // a styled usage error
		{"-C", t.TempDir(), "changed"}, // a styled error: not a repository
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			master, tty := openPTY(t)
			cmd := atoll(t, args...)
			cmd.Env = append(cmd.Env, "TERM=xterm-256color", "COLORTERM=truecolor", "NO_COLOR=", "ATOLL_FORCE_TTY=")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			tty.Close() // the child holds its own copy; EOF on master when it exits
			var out bytes.Buffer
			read := make(chan error, 1)
			go func() { _, err := io.Copy(&out, master); read <- err }()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("atoll %s did not finish within 20 s (waiting for a terminal reply?); output so far: %q", strings.Join(args, " "), out.Bytes())
			}
			select {
			case <-read: // EIO once the last holder of the tty is gone
			case <-time.After(5 * time.Second):
				t.Fatal("output of the pseudo-terminal did not end")
			}
			if out.Len() == 0 {
				t.Fatal("no output on the terminal")
			}
			for _, q := range terminalQueries {
				if i := bytes.Index(out.Bytes(), []byte(q)); i >= 0 {
					t.Errorf("atoll %s asked the terminal %q at byte %d of its output:\n%q", strings.Join(args, " "), q, i, out.Bytes())
				}
			}
		})
	}
}
