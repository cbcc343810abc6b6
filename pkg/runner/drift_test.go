package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// driftFixture is a base branch of four projects, none applied: conf/res
// would create a resource, conf/out only an output, conf/none nothing,
// conf/bad fails to plan. It returns the fixture and the targets at the
// base's commit, sorted by directory.
func driftFixture(t *testing.T) (*fixture, []runner.Target) {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	f := newFixture(t, map[string]string{
		"conf/res/backend.tf": backend(state, "res"), "conf/res/main.tf": "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
		"conf/out/backend.tf": backend(state, "out"), "conf/out/main.tf": "output \"o\" {\n  value = 1\n}\n",
		"conf/none/backend.tf": backend(state, "none"), "conf/none/main.tf": "",
		"conf/bad/backend.tf": backend(state, "bad"), "conf/bad/main.tf": "locals {\n  x = unknown_function()\n}\n",
	}, map[string]string{"README.md": "feature\n"})
	ps, err := scan.Projects(f.opts.Repo, f.opts.Config, f.opts.Comparison.Base.SHA, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var targets []runner.Target
	for _, p := range ps.Projects {
		targets = append(targets, runner.Target{Project: p})
	}
	if len(targets) != 4 {
		t.Fatalf("targets %+v", targets)
	}
	return f, targets
}

// Drift plans the base's commit: Terraform's verdict per project, counts,
// outputs and resources, a log of its own, and nothing an apply could use.
func TestDrift(t *testing.T) {
	t.Parallel()
	f, targets := driftFixture(t)
	commit := f.opts.Comparison.Base.SHA
	rep, err := runner.Drift(context.Background(), f.opts, commit, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Projects) != 4 {
		t.Fatalf("results %+v", rep.Projects)
	}
	got := map[string]runner.DriftResult{}
	for i, r := range rep.Projects {
		if r.Dir != targets[i].Project.Dir {
			t.Errorf("result %d is %s, want %s (the targets' order)", i, r.Dir, targets[i].Project.Dir)
		}
		got[r.Dir] = r
	}
	res := got["conf/res"]
	if res.Status != runner.StatusPlanned || !res.HasChanges || res.Counts.Add != 1 || res.Counts.Change+res.Counts.Destroy != 0 ||
		len(res.Resources) != 1 || res.Resources[0].Address != "terraform_data.x" || res.Outputs != 0 || res.Error != "" {
		t.Errorf("conf/res: %+v", res)
	}
	if out := got["conf/out"]; out.Status != runner.StatusPlanned || !out.HasChanges || out.Outputs != 1 || out.Counts.Add != 0 || len(out.Resources) != 0 {
		t.Errorf("conf/out: %+v", out)
	}
	if none := got["conf/none"]; none.Status != runner.StatusNoChanges || none.HasChanges || none.Outputs != 0 || len(none.Resources) != 0 {
		t.Errorf("conf/none: %+v", none)
	}
	if bad := got["conf/bad"]; bad.Status != runner.StatusFailed || bad.Error == "" || bad.HasChanges {
		t.Errorf("conf/bad: %+v", bad)
	}
	store := runner.Store(f.opts.Workdir, f.opts.Repo)
	for dir, r := range got {
		logDir := runner.DriftDir(f.opts.Workdir, f.opts.Repo, dir, commit)
		if r.LogFile != filepath.Join(logDir, runner.DriftLogFile) || !strings.HasPrefix(logDir, filepath.Join(store.Root, "drift")+"/") {
			t.Errorf("%s: log %s (drift dir %s)", dir, r.LogFile, logDir)
		}
		if b, err := os.ReadFile(r.LogFile); err != nil || len(b) == 0 {
			t.Errorf("%s: no log: %v", dir, err)
		}
		entries, _ := os.ReadDir(logDir)
		if len(entries) != 1 {
			t.Errorf("%s: the drift dir holds %d files (the plan file is kept?)", dir, len(entries))
		}
		if r.Workdir == "" || !strings.HasSuffix(r.Workdir, "/"+dir) || r.Duration <= 0 {
			t.Errorf("%s: workdir %q, duration %v", dir, r.Workdir, r.Duration)
		}
		if ps, _ := store.Plans(dir); len(ps) != 0 {
			t.Errorf("%s: drift left a plan record", dir)
		}
	}
	if b, _ := os.ReadFile(got["conf/bad"].LogFile); !strings.Contains(string(b), "unknown_function") {
		t.Errorf("the failing plan's log: %s", b)
	}

	// Run again: the log is of this run only.
	if err := os.WriteFile(got["conf/none"].LogFile, []byte("OLD RUN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var none []runner.Target
	for _, tg := range targets {
		if tg.Project.Dir == "conf/none" {
			none = append(none, tg)
		}
	}
	if _, err := runner.Drift(context.Background(), f.fresh(nil), commit, none); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got["conf/none"].LogFile); strings.Contains(string(b), "OLD RUN") || len(b) == 0 {
		t.Errorf("the log of the run before is kept: %q", b)
	}
}

// A commit that cannot be checked out fails every project; a cancelled run
// starts none.
func TestDriftFailures(t *testing.T) {
	t.Parallel()
	f, targets := driftFixture(t)
	base := f.opts.Comparison.Base.SHA
	// No targets: nothing to check out.
	rep, err := runner.Drift(context.Background(), f.opts, base, nil)
	if err != nil || len(rep.Projects) != 0 {
		t.Fatalf("no targets: %+v %v", rep, err)
	}
	if _, err := os.Lstat(filepath.Join(runner.Store(f.opts.Workdir, f.opts.Repo).Root, base.String()[:8])); !os.IsNotExist(err) {
		t.Errorf("a checkout was made for no targets: %v", err)
	}
	missing, _ := git.ParseHash(strings.Repeat("e", 40))
	rep, err = runner.Drift(context.Background(), f.opts, missing, targets)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Projects {
		if r.Status != runner.StatusFailed || r.Error == "" || r.LogFile != "" {
			t.Errorf("%s at a missing commit: %+v", r.Dir, r)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = runner.Drift(ctx, f.fresh(nil), f.opts.Comparison.Base.SHA, targets)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for _, r := range rep.Projects {
		if r.Status != runner.StatusSkipped || r.Error != "not started: interrupted" {
			t.Errorf("%s cancelled: %+v", r.Dir, r)
		}
	}
}
