package runner

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Job is one unit of scheduled work: a project and the projects (of the
// same run) that must succeed before it starts.
type Job struct {
	Dir       string
	DependsOn []string
}

// Outcome is what became of a job.
type Outcome struct {
	// Ran is false when the job was skipped; Reason says why.
	Ran    bool
	OK     bool
	Reason string
}

// Schedule runs jobs with at most workers at once, each after its
// dependencies succeeded. A failure skips the jobs that depend on it,
// transitively; with failFast it also stops starting any other job. A
// cancelled context stops starting jobs (running ones see the cancellation
// through ctx). Dependencies outside jobs are ignored: they are not part
// of this run.
func Schedule(ctx context.Context, jobs []Job, workers int, failFast bool, run func(ctx context.Context, dir string) bool) map[string]Outcome {
	if workers < 1 {
		workers = 1
	}
	inRun := map[string]bool{}
	for _, j := range jobs {
		inRun[j.Dir] = true
	}
	deps := map[string][]string{}
	dependents := map[string][]string{}
	for _, j := range jobs {
		for _, d := range j.DependsOn {
			if inRun[d] && d != j.Dir {
				deps[j.Dir] = append(deps[j.Dir], d)
				dependents[d] = append(dependents[d], j.Dir)
			}
		}
	}

	var (
		mu       sync.Mutex
		out      = map[string]Outcome{}
		waiting  = map[string]int{}
		ready    []string
		running  int
		stopping string // why no new job may start
		wg       sync.WaitGroup
		cond     = sync.NewCond(&mu)
	)
	for _, j := range jobs {
		waiting[j.Dir] = len(deps[j.Dir])
		if waiting[j.Dir] == 0 {
			ready = append(ready, j.Dir)
		}
	}
	sort.Strings(ready)

	var skip func(dir, reason string)
	skip = func(dir, reason string) {
		if _, done := out[dir]; done {
			return
		}
		out[dir] = Outcome{Reason: reason}
		for _, d := range dependents[dir] {
			skip(d, fmt.Sprintf("skipped: it depends on %s, which did not succeed", dir))
		}
	}
	finish := func(dir string, ok bool) {
		out[dir] = Outcome{Ran: true, OK: ok}
		if !ok {
			for _, d := range dependents[dir] {
				skip(d, fmt.Sprintf("skipped: it depends on %s, which failed", dir))
			}
			if failFast && stopping == "" {
				stopping = fmt.Sprintf("not started: --fail-fast after %s failed", dir)
			}
			return
		}
		for _, d := range dependents[dir] {
			waiting[d]--
			if waiting[d] == 0 {
				if _, done := out[d]; !done {
					ready = append(ready, d)
				}
			}
		}
		sort.Strings(ready)
	}

	mu.Lock()
	for {
		if ctx.Err() != nil && stopping == "" {
			stopping = "not started: interrupted"
		}
		if stopping != "" {
			for _, d := range ready {
				skip(d, stopping)
			}
			ready = nil
		}
		if len(ready) == 0 && running == 0 {
			break
		}
		if len(ready) == 0 || running >= workers {
			cond.Wait()
			continue
		}
		dir := ready[0]
		ready = ready[1:]
		running++
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := run(ctx, dir)
			mu.Lock()
			running--
			finish(dir, ok)
			cond.Broadcast()
			mu.Unlock()
		}()
	}
	mu.Unlock()
	wg.Wait()
	// Jobs never reached (a dependency cycle would leave them waiting).
	for _, j := range jobs {
		if _, done := out[j.Dir]; !done {
			out[j.Dir] = Outcome{Reason: "not started: its dependencies never completed"}
		}
	}
	return out
}
