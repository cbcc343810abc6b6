package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// TestMain keeps Terraform away from the user's configuration and from the
// network: every test here runs the real binary on offline fixtures.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{"TF_CLI_CONFIG_FILE": os.DevNull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"} {
		os.Setenv(k, v)
	}
	os.Unsetenv("TF_PLUGIN_CACHE_DIR")
	os.Exit(m.Run())
}

// terraformBin fails the test, never skips it, when Terraform is missing:
// what these tests prove needs the real binary.
func terraformBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("terraform is not on PATH: install Terraform 1.5 or later to run these tests")
	}
	return bin
}

// fixture is a repository on a feature branch, opened, with the options of a
// run from it.
type fixture struct {
	sb      *sandbox.T
	state   string // directory of the state files
	opts    *runner.Options
	targets []runner.Target
}

// backend is a local backend writing to state/<name>.tfstate.
func backend(stateDir, name string) string {
	return fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", filepath.Join(stateDir, name+".tfstate"))
}

// newFixture commits the project files on main, then feature on a branch,
// and prepares a run of the affected projects.
func newFixture(t *testing.T, main, feature map[string]string) *fixture {
	t.Helper()
	bin := terraformBin(t)
	sb := sandbox.New(t, main)
	sb.Git("checkout", "-q", "-b", "feature")
	sb.Commit("feature", feature)
	f := &fixture{sb: sb, state: filepath.Join(t.TempDir(), "state")}
	repo, err := git.Open(sb.Work)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Changed(repo, cfg, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	head, err := scan.Projects(repo, cfg, res.Comparison.Head.SHA, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	affected := map[string]bool{}
	for _, p := range res.Projects {
		affected[p.Dir] = true
	}
	for _, p := range head.Projects {
		if affected[p.Dir] {
			f.targets = append(f.targets, runner.Target{Project: p})
		}
	}
	f.opts = &runner.Options{Repo: repo, Config: cfg, Comparison: res.Comparison, Workdir: filepath.Join(t.TempDir(), "atoll"),
		TerraformBin: bin, Jobs: 2, InterruptGrace: time.Minute}
	return f
}

// plan plans the targets and fails unless every one was planned.
func (f *fixture) plan(t *testing.T) *runner.Report {
	t.Helper()
	rep, err := runner.Plan(context.Background(), f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Projects {
		if p.Status != runner.StatusPlanned {
			t.Fatalf("%s: %s: %s", p.Dir, p.Status, p.Error)
		}
	}
	return rep
}

// waitFor polls until path exists, for at most d.
func waitFor(path string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
	}
	return false
}

// An apply interrupted while Terraform runs a 30 s provisioner stops within
// seconds, leaves the state unlocked and readable, the plan consumed and
// intact, and a valid apply record saying it failed and what it changed.
func TestApplyInterrupted(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "provisioner-started")
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/slow/backend.tf": backend(stateDir, "slow"),
		"conf/slow/main.tf":    "",
	}, map[string]string{
		"conf/slow/main.tf": fmt.Sprintf(`resource "terraform_data" "first" {}

resource "terraform_data" "slow" {
  depends_on = [terraform_data.first]
  provisioner "local-exec" {
    command = "touch %s && exec sleep 30"
  }
}
`, marker),
	})
	ls, err := gitstore.Open(f.opts.Repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Ledger = &ledger.Client{Store: ls}
	f.plan(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lockInfo := filepath.Join(stateDir, ".slow.tfstate.lock.info")
	lockedDuringApply := make(chan bool, 1)
	cancelled := make(chan time.Time, 1)
	go func() {
		started := waitFor(marker, 2*time.Minute)
		_, err := os.Stat(lockInfo)
		lockedDuringApply <- started && err == nil
		cancelled <- time.Now()
		cancel() // what Ctrl-C does through signal.NotifyContext
	}()
	rep, err := runner.Apply(ctx, f.opts, f.targets)
	if err != nil {
		t.Fatal(err)
	}
	// Timed from the interruption, not from the start: on a loaded machine
	// getting as far as the provisioner can itself take many seconds. Not
	// interrupted, the provisioner's sleep would run 30 s past this point.
	select {
	case at := <-cancelled:
		if took := time.Since(at); took > 20*time.Second {
			t.Errorf("the apply returned %s after the interruption: Terraform did not stop the provisioner", took)
		}
	default:
		t.Error("the apply returned before it was interrupted")
	}
	if !<-lockedDuringApply {
		t.Errorf("the provisioner did not start, or %s did not exist while it ran: the checks below prove nothing", lockInfo)
	}

	if len(rep.Projects) != 1 || rep.Projects[0].Status != runner.StatusFailed {
		t.Fatalf("report: %+v", rep.Projects)
	}
	res := rep.Projects[0]
	if !strings.Contains(res.Error, "was interrupted") {
		t.Errorf("error %q does not say the apply was interrupted", res.Error)
	}
	if _, err := os.Stat(lockInfo); !os.IsNotExist(err) {
		t.Errorf("the state lock was left behind: %s (%v)", lockInfo, err)
	}
	var state struct {
		Serial    int `json:"serial"`
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "slow.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatalf("the state is not valid JSON after the interruption: %v", err)
	}
	if len(state.Resources) == 0 || state.Resources[0].Name != "first" {
		t.Errorf("the state does not hold terraform_data.first, created before the interruption: %s", b)
	}

	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	head := f.opts.Comparison.Head.SHA.String()
	rec, err := store.LoadPlan("conf/slow", head)
	if err != nil {
		t.Fatalf("the plan record is damaged after the interruption: %v", err)
	}
	if !rec.Consumed || rec.ConsumedAt.IsZero() {
		t.Errorf("the plan was not marked consumed: %+v", rec)
	}
	applies, err := store.Applies("conf/slow")
	if err != nil {
		t.Fatalf("the apply record is damaged: %v", err)
	}
	if len(applies) != 1 {
		t.Fatalf("%d apply records, want 1", len(applies))
	}
	a := applies[0]
	if a.Success || a.Head != head || !strings.Contains(a.Error, "interrupted") {
		t.Errorf("apply record: success=%v head=%s error=%q", a.Success, a.Head, a.Error)
	}
	// first was created; slow was being created when Terraform stopped, so
	// it may exist, tainted: both must be on record.
	if len(a.Changed) != 2 || a.Changed[0] != "terraform_data.first (create)" || !strings.HasPrefix(a.Changed[1], "terraform_data.slow (create failed") {
		t.Errorf("apply record lists %q as changed, want first created and slow possibly tainted", a.Changed)
	}
	if res.Record != "" {
		if _, err := os.Stat(res.Record); err != nil {
			t.Errorf("the report names apply record %s: %v", res.Record, err)
		}
	}
	// The ledger says so too, although the run's context was cancelled.
	if hist := history(t, f.opts.Ledger, "conf/slow"); len(hist) != 2 || hist[0].Entry.Result != ledger.Interrupted || hist[0].Entry.Completes != hist[1].Entry.ID {
		t.Errorf("ledger %+v", hist)
	}
}

// A plan started while another run holds the project's state lock waits for
// it (as two branches planning the same project do) instead of failing.
func TestPlanWaitsForStateLock(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/vpc/backend.tf": backend(stateDir, "vpc"),
		"conf/vpc/main.tf":    "",
	}, map[string]string{
		"conf/vpc/main.tf": "resource \"terraform_data\" \"vpc\" {}\n",
	})
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Hold the lock as Terraform's local backend does: an fcntl lock on the
	// state file, and a lock info file next to it saying who holds it
	// (Terraform waits only for a lock whose holder it can name).
	state, err := os.OpenFile(filepath.Join(stateDir, "vpc.tfstate"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	info := filepath.Join(stateDir, ".vpc.tfstate.lock.info")
	lock := func(typ int16) {
		if err := syscall.FcntlFlock(state.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: typ}); err != nil {
			t.Error(err)
		}
	}
	lock(syscall.F_WRLCK)
	if err := os.WriteFile(info, []byte(`{"ID":"another-branch","Operation":"OperationTypePlan","Who":"test","Version":"1.11.0","Created":"2026-01-01T00:00:00Z","Path":"vpc.tfstate"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			if err := os.Remove(info); err != nil {
				t.Error(err)
			}
			lock(syscall.F_UNLCK)
		})
	}
	// Released before the deferred Close: a late timer must find it done,
	// not use a closed descriptor.
	defer unlock()
	// Should planning never start, Terraform must not wait its 10 minutes.
	defer time.AfterFunc(time.Minute, unlock).Stop()
	f.opts.Events = func(e runner.Event) {
		if e.Phase == runner.PhasePlan {
			// Held a while after Terraform starts planning, which locks
			// the state at once.
			time.AfterFunc(700*time.Millisecond, unlock)
		}
	}
	f.plan(t)
}
