package tf

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sort"
	"time"
)

// run runs Terraform with args in c's directory and environment, without
// terraform-exec (see command). It behaves as terraform-exec does:
// Terraform gets SIGINT when ctx is cancelled and is killed InterruptGrace
// later, runs in its own process group, and dies with atoll. A non-zero
// exit status is an error, except 2 when detailed (-detailed-exitcode):
// then the result is true, "there are changes".
func (r *Runner) run(ctx context.Context, c *command, stdout io.Writer, detailed bool, args ...string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	cmd.Dir = c.dir
	cmd.Env = c.environ
	cmd.Stdout = stdout
	cmd.Stderr = writers(r.Stderr, c.stderr)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = r.InterruptGrace
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = 60 * time.Second
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var ee *exec.ExitError
	if detailed && errors.As(err, &ee) && ee.ExitCode() == 2 {
		return true, nil
	}
	return false, err
}

// envList is vars as KEY=VALUE entries, sorted.
func envList(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
