package safefs_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// TestExecutableRunsRightAfterWriteWhileOthersFork: scripts written through
// a Tree run at once, even while other goroutines start processes all the
// time (as parallel Terraform runs do). Without HoldForks a child forked
// mid-write keeps the script open for writing and running it fails with
// "text file busy".
func TestExecutableRunsRightAfterWriteWhileOthersFork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, err := safefs.OpenTree(dir)
	must(t, err)
	defer tr.Close()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = exec.Command("/bin/true").Run()
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	for i := range 150 {
		rel := fmt.Sprintf("s%d.sh", i)
		must(t, tr.WriteFile(rel, []byte("#!/bin/sh\nexit 0\n"), 0o700))
		if out, err := exec.Command(filepath.Join(dir, rel)).CombinedOutput(); err != nil {
			t.Fatalf("running %s right after writing it: %v %s", rel, err, out)
		}
	}
}
