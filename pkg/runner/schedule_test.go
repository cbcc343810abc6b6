package runner

import (
	"context"
	"os"
	"path/filepath"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/record"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduleOrderAndFailures(t *testing.T) {
	t.Parallel()
	jobs := []Job{
		{Dir: "vpc"},
		{Dir: "eks", DependsOn: []string{"vpc"}},
		{Dir: "app", DependsOn: []string{"eks"}},
		{Dir: "dns"},
		{Dir: "mail", DependsOn: []string{"dns", "outside-the-run"}},
	}
	var mu sync.Mutex
	var order []string
	out := Schedule(context.Background(), jobs, 2, false, func(_ context.Context, dir string) bool {
		mu.Lock()
		order = append(order, dir)
		mu.Unlock()
		return dir != "eks"
	})
	pos := map[string]int{}
	for i, d := range order {
		pos[d] = i
	}
	if pos["eks"] < pos["vpc"] || pos["mail"] < pos["dns"] {
		t.Errorf("order %v breaks depends_on", order)
	}
	if !out["vpc"].OK || out["eks"].OK || !out["eks"].Ran || out["app"].Ran || !out["mail"].OK {
		t.Errorf("outcomes %+v", out)
	}
	if !strings.Contains(out["app"].Reason, "depends on eks, which failed") {
		t.Errorf("app reason %q", out["app"].Reason)
	}
}

func TestScheduleFailFastAndParallelism(t *testing.T) {
	t.Parallel()
	var running, peak int32
	jobs := []Job{{Dir: "a"}, {Dir: "b"}, {Dir: "c"}, {Dir: "d"}, {Dir: "e"}}
	out := Schedule(context.Background(), jobs, 2, true, func(_ context.Context, dir string) bool {
		n := atomic.AddInt32(&running, 1)
		for {
			p := atomic.LoadInt32(&peak)
			if n <= p || atomic.CompareAndSwapInt32(&peak, p, n) {
				break
			}
		}
		// Each job holds its slot until two ran at once (or 10 s passed):
		// on a loaded machine the second worker may start late, and a
		// job that ended first would make the peak 1.
		for wait := time.Now().Add(10 * time.Second); atomic.LoadInt32(&peak) < 2 && time.Now().Before(wait); {
			time.Sleep(time.Millisecond)
		}
		atomic.AddInt32(&running, -1)
		return dir != "a"
	})
	if peak != 2 {
		t.Errorf("peak concurrency %d, want 2", peak)
	}
	started := 0
	for _, o := range out {
		if o.Ran {
			started++
		} else if !strings.Contains(o.Reason, "--fail-fast after a failed") {
			t.Errorf("reason %q", o.Reason)
		}
	}
	if started > 3 {
		t.Errorf("%d jobs started after a failure with --fail-fast", started)
	}
}

func TestScheduleInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	out := Schedule(ctx, []Job{{Dir: "a"}, {Dir: "b", DependsOn: []string{"a"}}}, 1, false, func(context.Context, string) bool {
		cancel()
		return true
	})
	if !out["a"].Ran || out["b"].Ran || !strings.Contains(out["b"].Reason, "interrupted") {
		t.Errorf("outcomes %+v", out)
	}
}

// TestConsumeRefusesAPlanThatChangedAfterTheCheck: an apply consumes the
// plan it checked, or nothing: a re-plan or another apply in between is a
// refusal, and the private copy it applies is the checked file.
func TestConsumeRefusesAPlanThatChangedAfterTheCheck(t *testing.T) {
	t.Parallel()
	repo, err := git.Open(sandbox.New(t, map[string]string{"conf/a/main.tf": ""}).Work)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	o := &Options{Workdir: t.TempDir(), Repo: repo}
	store := Store(o.Workdir, repo)
	planDir := store.PlanDir("conf/a", "abc")
	if err := os.MkdirAll(planDir, 0o755); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(planDir, "plan.tfplan")
	write := func(content string) *record.Plan {
		if err := os.WriteFile(planFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		sum, _ := record.FileSHA256(planFile)
		rec := &record.Plan{Dir: "conf/a", Head: "abc", PlanFile: planFile, PlanSHA256: sum, Time: time.Now()}
		if _, err := store.SavePlan(rec); err != nil {
			t.Fatal(err)
		}
		checked, err := store.LoadPlan("conf/a", "abc")
		if err != nil {
			t.Fatal(err)
		}
		return checked
	}
	checked := write("reviewed")
	write("re-planned meanwhile")
	private, err := o.consume(checked)
	if err == nil || !strings.Contains(err.Error(), "changed or was used") {
		t.Fatalf("consume of a replaced plan: %v", err)
	}

	checked = write("reviewed")
	private, err = o.consume(checked)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(private); string(b) != "reviewed" {
		t.Errorf("private copy holds %q", b)
	}
	if _, err := o.consume(checked); err == nil {
		t.Error("a second apply consumed the same plan")
	}
}
