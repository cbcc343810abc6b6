package runner

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/env"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/safefs"
	"github.com/atoll-tf/atoll/pkg/tf"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

func TestWithinAndCheckoutRoot(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p, dir string
		want   bool
	}{
		{"/w/co", "/w/co", true}, {"/w/co/a/b", "/w/co", true}, {"/w/co/../co/a", "/w/co", true},
		{"/w/co2", "/w/co", false}, {"/w", "/w/co", false}, {"/w/co/..", "/w/co", false}, {"/other", "/w/co", false},
		{"/w/co/..a", "/w/co", true},
	} {
		if got := within(c.p, c.dir); got != c.want {
			t.Errorf("within(%s, %s) = %v", c.p, c.dir, got)
		}
	}
	if got := checkoutRoot("/w/sha/conf/prod/vpc", "conf/prod/vpc"); got != "/w/sha" {
		t.Errorf("checkoutRoot = %s", got)
	}
	if got := checkoutRoot("/w/sha/a", "a"); got != "/w/sha" {
		t.Errorf("checkoutRoot = %s", got)
	}
}

func TestSourceFromEnvrc(t *testing.T) {
	t.Parallel()
	for from, want := range map[string]bool{
		"conf/a/.envrc:3": true, "conf/.envrc:1": true, "conf/a/terraform.envrc:2": true, "atoll.yaml:7": false, "": false,
		"conf/a/.envrc.d/x:1": false,
	} {
		if got := sourceFromEnvrc(project.Project{SourceFrom: from}); got != want {
			t.Errorf("sourceFromEnvrc(%q) = %v", from, got)
		}
	}
}

func TestFailureMapsEachKindOfError(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, c := range []struct {
		err    error
		status Status
		msg    string
		hint   string
	}{
		{&safefs.NotPrivateError{Path: "/w", Why: "is group-writable", Fix: "chmod 700 /w"}, StatusRefused, "/w is group-writable", "chmod 700 /w"},
		{wrap(&refusal{msg: "no plan", hint: "plan first"}), StatusRefused, "no plan", "plan first"},
		{&tf.ArgError{Command: "plan", Arg: env.Arg{Flag: "-chdir", Value: "x", HasValue: true, From: "TF_CLI_ARGS"}, Reason: "atoll chooses the directory"}, StatusRefused, "-chdir", "remove it from the .envrc"},
		{&envrcFailure{err: &env.EnvrcError{File: "conf/a/.envrc", Message: "boom"}, dir: "conf/a"}, StatusFailed, "conf/a/.envrc failed under direnv: boom", "cd conf/a && direnv allow"},
		{&tf.StalePlanError{PlanFile: "p.tfplan", Err: &tf.Error{Dir: "/co/conf/a"}}, StatusRefused, "saved plan p.tfplan is stale", "the state changed after the plan was made"},
		{&record.TamperedError{Path: "r.json", What: "checksum"}, StatusRefused, "r.json: checksum", "applied exactly as it was reviewed"},
		{&workspace.WorkdirError{Path: "/w/x", Cause: "disk full", Fix: "free space"}, StatusFailed, "cannot write /w/x: disk full", "free space"},
		{errors.New("  terraform crashed \n"), StatusFailed, "terraform crashed", ""},
	} {
		res := &ProjectResult{}
		failure(res, c.err)
		if res.Status != c.status || !strings.Contains(res.Error, c.msg) || !strings.Contains(res.Hint, c.hint) || (c.hint == "" && res.Hint != "") {
			t.Errorf("%T: %s %q hint %q; want %s %q hint %q", c.err, res.Status, res.Error, res.Hint, c.status, c.msg, c.hint)
		}
	}
	res := &ProjectResult{LogFile: "/w/plan.log"}
	failure(res, errors.New("exit status 1"))
	if res.Error != "exit status 1" || res.Hint != "Terraform's full output is in /w/plan.log" {
		t.Errorf("with a log: %+v", res)
	}
	if hint, input := EnvHint(&envrcFailure{err: &env.EnvrcError{File: "f"}, dir: "conf/a"}); !input || !strings.Contains(hint, "cd conf/a") {
		t.Errorf("EnvHint(.envrc) = %q %v", hint, input)
	}
	if hint, input := EnvHint(&refusal{msg: "m", hint: "h"}); input || hint != "h" {
		t.Errorf("EnvHint(refusal) = %q %v", hint, input)
	}
	if hint, input := EnvHint(errors.New("x")); input || hint != "" {
		t.Errorf("EnvHint(other) = %q %v", hint, input)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	r := &Report{}
	for _, s := range []Status{StatusPlanned, StatusPlanned, StatusNoChanges, StatusApplied, StatusFailed, StatusRefused, StatusRefused, StatusSkipped, StatusNeedsDestroy} {
		r.Projects = append(r.Projects, ProjectResult{Status: s})
	}
	r.Summarize()
	if want := (Summary{Total: 9, WithChanges: 2, NoChanges: 1, Applied: 1, Failed: 1, Refused: 2, Skipped: 2}); r.Summary != want {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}
}

func TestSmallHelpers(t *testing.T) {
	t.Parallel()
	if short("0123456789") != "01234567" || short("01234567") != "01234567" || short("abc") != "abc" {
		t.Error("short")
	}
	if workspaceName("") != "default" || workspaceName("prod") != "prod" || wsKey("default") != "" || wsKey("prod") != "prod" || wsKey("") != "" {
		t.Error("workspace names")
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if consumedAt(&record.Plan{}) != "an unknown time" || consumedAt(&record.Plan{ConsumedAt: &at}) != "2026-01-02 03:04:05Z" {
		t.Error("consumedAt")
	}
	h := noRollbackHint(nil, "/w/apply.log")
	if !strings.Contains(h, "reported no resource changed") || !strings.HasSuffix(h, "Full output: /w/apply.log") {
		t.Errorf("no changes: %q", h)
	}
	h = noRollbackHint([]string{"a (create)", "b (delete)"}, "l")
	if !strings.Contains(h, "These 2 resource(s) were changed and stay changed: a (create), b (delete).") {
		t.Errorf("changes: %q", h)
	}
	o := &Options{Jobs: 3}
	if o.jobs() != 3 || (&Options{}).jobs() < 1 {
		t.Error("jobs")
	}
	fixed := time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC)
	if (&Options{Now: func() time.Time { return fixed }}).now() != fixed || time.Since((&Options{}).now()) > time.Hour {
		t.Error("now")
	}
	// The ledger entry of a plan: the plan's branch, else the run's.
	rec := &record.Plan{Project: "a", Dir: "conf/a", Workspace: "default", Head: "h", BaseRef: "origin/main", BaseSHA: "b", InputsHash: "i",
		Destroy: true, Dirty: true, TerraformVersion: "1.9.0"}
	o = &Options{Branch: "from-ci", Force: "INC"}
	e := o.entry(rec, "success", "oops")
	if e.Branch != "from-ci" || e.Workspace != "" || e.Head != "h" || e.BaseRef != "origin/main" || e.BaseSHA != "b" || e.InputsHash != "i" ||
		!e.Destroy || !e.Dirty || e.TerraformVersion != "1.9.0" || e.Force != "INC" || e.Error != "oops" || e.Result != "success" || e.Dir != "conf/a" || e.Project != "a" {
		t.Errorf("entry %+v", e)
	}
	rec.Branch, rec.Workspace = "feature", "prod"
	if e := o.entry(rec, "started", ""); e.Branch != "feature" || e.Workspace != "prod" {
		t.Errorf("entry %+v", e)
	}
}

func TestCheckEnv(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	pe := func(v string) *Environment {
		p, err := env.ForProject(&env.Caller{Base: map[string]string{"PATH": "/bin"}}, map[string]*string{"TF_VAR_x": s(v)})
		if err != nil {
			t.Fatal(err)
		}
		return &Environment{Project: p}
	}
	planned, err := pe("1").record(&env.Caller{Dropped: []string{"TF_WORKSPACE"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(planned.Salt) != 32 || planned.Hash != env.Hash(planned.Digests) || planned.Dropped[0] != "TF_WORKSPACE" {
		t.Errorf("record %+v", planned)
	}
	rec := &record.Plan{Dir: "conf/a", Env: planned}
	if err := checkEnv(rec, pe("1")); err != nil {
		t.Errorf("same environment: %v", err)
	}
	err = checkEnv(rec, pe("2"))
	var r *refusal
	if !errors.As(err, &r) || !strings.Contains(r.msg, "TF_VAR_x changed since the plan") || !strings.Contains(r.hint, "atoll env conf/a") {
		t.Errorf("another environment: %v", err)
	}
	if err := checkEnv(&record.Plan{}, pe("1")); err == nil || !strings.Contains(err.Error(), "does not say which environment") {
		t.Errorf("no environment on record: %v", err)
	}
	// Two plans of one environment get different salts.
	again, _ := pe("1").record(&env.Caller{})
	if again.Salt == planned.Salt || again.Hash == planned.Hash {
		t.Error("two records share a salt")
	}
}

// What -from-module copied is checked for links out of the checkout; the
// project's own files are laid over it, never through a link.
func TestLinksStayInsideAndOverlay(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "conf", "a")
	mk := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(dir, "main.tf"), "")
	mk(filepath.Join(root, "modules", "m.tf"), "")
	link("../../modules/m.tf", filepath.Join(dir, "inside.tf"))
	link("not-yet", filepath.Join(dir, "dangling"))
	mk(filepath.Join(dir, ".terraform", "x"), "")
	link("/etc/passwd", filepath.Join(dir, ".terraform", "provider"))
	if err := linksStayInside(root, dir); err != nil {
		t.Fatalf("links inside: %v", err)
	}
	for _, bad := range []string{"/etc/passwd", "../../../outside", "../../.."} {
		d := filepath.Join(t.TempDir(), "conf", "b")
		mk(filepath.Join(d, "main.tf"), "")
		link(bad, filepath.Join(d, "out"))
		err := linksStayInside(filepath.Dir(filepath.Dir(d)), d)
		var r *refusal
		if !errors.As(err, &r) || !strings.Contains(r.msg, "conf/b/out is a symlink to "+bad+", which leads outside the checkout") {
			t.Errorf("link to %s: %v", bad, err)
		}
	}
	// Dangling, pointing outside as written.
	d := filepath.Join(t.TempDir(), "conf", "c")
	mk(filepath.Join(d, "main.tf"), "")
	link("../../../nowhere/x", filepath.Join(d, "later"))
	if err := linksStayInside(filepath.Dir(filepath.Dir(d)), d); err == nil {
		t.Error("a dangling link out of the checkout is accepted")
	}

	// Overlay: files (with their modes), directories and links.
	own := filepath.Join(t.TempDir(), "own")
	mk(filepath.Join(own, "terraform.tfvars"), "name = \"own\"\n")
	mk(filepath.Join(own, "sub", "x.auto.tfvars"), "x = 1\n")
	if err := os.Chmod(filepath.Join(own, "sub", "x.auto.tfvars"), 0o600); err != nil {
		t.Fatal(err)
	}
	link("terraform.tfvars", filepath.Join(own, "alias.tfvars"))
	if err := overlay(own, dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "terraform.tfvars")); string(b) != "name = \"own\"\n" {
		t.Errorf("tfvars %q", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub", "x.auto.tfvars")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sub file %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "alias.tfvars")); err != nil || target != "terraform.tfvars" {
		t.Errorf("link %q %v", target, err)
	}
	// Never through a link of the module.
	outside := t.TempDir()
	link(outside, filepath.Join(dir, "vars"))
	own2 := filepath.Join(t.TempDir(), "own")
	mk(filepath.Join(own2, "vars", "x.tfvars"), "x = 1\n")
	var le *safefs.LinkError
	if err := overlay(own2, dir); !errors.As(err, &le) {
		t.Errorf("overlay through a link: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written through the link: %v", entries)
	}
}

func TestCopyFileStaysInTheRepository(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	dst := t.TempDir()
	tree, err := safefs.OpenTree(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if err := os.MkdirAll(filepath.Join(repo, "conf/a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "conf/a/main.tf"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for target, rel := range map[string]string{"main.tf": "conf/a/in.tf", "/etc/passwd": "conf/a/abs.tf", "../../../x": "conf/a/up.tf"} {
		if err := os.Symlink(target, filepath.Join(repo, rel)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := copyFile(repo, filepath.Join(repo, "conf/a/main.tf"), tree, "conf/a/main.tf")
	if err != nil || string(b) != "x" {
		t.Fatalf("file: %q %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "conf/a/main.tf")); fi == nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v (group and others' bits are dropped)", fi)
	}
	if b, err := copyFile(repo, filepath.Join(repo, "conf/a/in.tf"), tree, "conf/a/in.tf"); err != nil || string(b) != "main.tf" {
		t.Errorf("inside link: %q %v", b, err)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "conf/a/in.tf")); target != "main.tf" {
		t.Errorf("link copied as %q", target)
	}
	for _, rel := range []string{"conf/a/abs.tf", "conf/a/up.tf"} {
		if b, err := copyFile(repo, filepath.Join(repo, rel), tree, rel); err != nil || b != nil {
			t.Errorf("%s: %q %v", rel, b, err)
		}
		if _, err := os.Lstat(filepath.Join(dst, rel)); !os.IsNotExist(err) {
			t.Errorf("%s was copied: %v", rel, err)
		}
	}
	if _, err := copyFile(repo, filepath.Join(repo, "missing"), tree, "missing"); err == nil {
		t.Error("a missing file copied")
	}
}

// A bundle's records name their files relative to the record store, and
// a record naming a file outside it is not bundled.
func TestBundleLayout(t *testing.T) {
	t.Parallel()
	head, mb := strings.Repeat("a", 40), strings.Repeat("b", 40)
	w, p, l := relativeLayout(&record.Plan{Dir: "conf/x", Head: head, MergeBase: mb})
	pd := "plans/" + record.Slug("conf/x") + "/" + head
	if w != "aaaaaaaa/conf/x" || p != pd+"/"+record.PlanFile || l != pd+"/"+record.PlanLogFile {
		t.Errorf("layout %s %s %s", w, p, l)
	}
	if w, _, _ := relativeLayout(&record.Plan{Dir: "conf/x", Head: head, MergeBase: mb, Destroy: true}); w != "bbbbbbbb/conf/x" {
		t.Errorf("a destroy's checkout %s, want the merge-base's", w)
	}
	if w, _, _ := relativeLayout(&record.Plan{Dir: "d", Head: "12345678"}); w != "12345678/d" {
		t.Errorf("short head: %s", w)
	}

	root := t.TempDir()
	store := record.Store{Root: filepath.Join(root, "repo")}
	planDir := store.PlanDir("conf/x", head)
	if err := os.MkdirAll(planDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{record.PlanFile, record.PlanLogFile, record.PlanTextFile} {
		if err := os.WriteFile(filepath.Join(planDir, name), []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A link where the JSON goes is not carried.
	if err := os.Symlink(filepath.Join(planDir, record.PlanFile), filepath.Join(planDir, record.PlanJSONFile)); err != nil {
		t.Fatal(err)
	}
	rec := func(workdir string) *record.Plan {
		return &record.Plan{Project: "x", Dir: "conf/x", Head: head, Workdir: workdir,
			PlanFile: filepath.Join(planDir, record.PlanFile), LogFile: filepath.Join(planDir, record.PlanLogFile)}
	}
	in, err := bundleInput(store, rec(filepath.Join(store.Root, "..aaaaaa", "conf/x")))
	if err != nil {
		t.Fatalf("a checkout named ..aaaaaa inside the store: %v", err)
	}
	var names []string
	for _, f := range in.Files {
		names = append(names, f.Name)
	}
	if in.Dir != "conf/x" || in.Project != "x" || strings.Join(names, " ") != "record.json plan.tfplan plan.txt plan.log" {
		t.Errorf("input %s %s %v", in.Project, in.Dir, names)
	}
	got, err := record.DecodePlan("r", in.Files[0].Data)
	if err != nil || got.Workdir != "..aaaaaa/conf/x" || got.PlanFile != pd[:len(pd)-len(head)]+head+"/plan.tfplan" {
		t.Errorf("bundled record %+v %v", got, err)
	}
	for _, out := range []string{root, filepath.Join(root, "other"), "/elsewhere/conf/x"} {
		if _, err := bundleInput(store, rec(out)); err == nil || !strings.Contains(err.Error(), "is outside the record store") {
			t.Errorf("workdir %s: %v", out, err)
		}
	}
	if (&Options{Config: &config.Config{}}).remoteName() != "origin" || (&Options{Config: &config.Config{LedgerRemote: "upstream"}}).remoteName() != "upstream" {
		t.Error("remoteName")
	}
}

// A -from-module path source must be one of the project's direct modules
// (discovery read it, the checkout holds it); the refusal says where
// discovery looked.
func TestCheckPathSource(t *testing.T) {
	t.Parallel()
	p := project.Project{Dir: "conf/a", SourceFrom: "conf/a/.envrc:2", Modules: []project.ModuleUse{
		{Dir: "modules/direct", Chain: []string{"conf/a", "modules/direct"}},
		{Dir: "modules/nested", Chain: []string{"conf/a", "modules/direct", "modules/nested"}},
	}}
	if err := checkPathSource(p, "../../modules/direct"); err != nil {
		t.Errorf("a direct module: %v", err)
	}
	if err := checkPathSource(p, "git::https://example.invalid/x.git?ref=v1"); err != nil {
		t.Errorf("a remote source: %v", err)
	}
	for src, want := range map[string]string{
		"../../modules/nested": "which change detection did not read from conf/a/.envrc:2",
		"../../modules/other":  `"../../modules/other" (modules/other), which change detection did not read from conf/a/.envrc:2`,
		"/opt/modules/x":       "is an absolute path",
		"../../../outside":     "outside the repository",
	} {
		var r *refusal
		if err := checkPathSource(p, src); !errors.As(err, &r) || !strings.Contains(r.msg, want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	p.SourceFrom = ""
	if err := checkPathSource(p, "../../modules/other"); err == nil || !strings.Contains(err.Error(), "did not read from its direnv files or atoll.yaml") {
		t.Errorf("no SourceFrom: %v", err)
	}
}

func TestWhoAndStateLockEvents(t *testing.T) {
	t.Parallel()
	if got := (&Options{Who: ledger.Identity{User: "ana"}}).who(); got != "ana" {
		t.Errorf("who with an identity: %q", got)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if got := (&Options{}).who(); got != u.Username+"@"+host {
		t.Errorf("who: %q, want %s@%s", got, u.Username, host)
	}
	var events []Event
	o := &Options{Events: func(e Event) { events = append(events, e) }}
	r := o.tfRunner(nil, "conf/a", PhasePlan)
	r.OnStateLock(&tf.LockInfo{Who: "bob@ci", ID: "1234"})
	r.OnStateLock(nil)
	if len(events) != 2 || events[0].Project != "conf/a" || events[0].Phase != PhasePlan ||
		!strings.Contains(events[0].Detail, "waiting for the state lock, held by bob@ci") || !strings.Contains(events[0].Detail, "(up to 10m0s)") || events[1].Detail != "" {
		t.Errorf("events %+v", events)
	}
	// No listener: nothing to call.
	(&Options{}).tfRunner(nil, "conf/a", PhasePlan).OnStateLock(&tf.LockInfo{})
}

// markNotApplied marks only the plan it was given: not one that replaced
// it meanwhile, nor one that is gone.
func TestMarkNotApplied(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(t, map[string]string{"conf/a/main.tf": ""})
	repo, err := git.Open(sb.Work)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	o := &Options{Workdir: t.TempDir(), Repo: repo}
	store := o.store()
	head := strings.Repeat("a", 40)
	if err := os.MkdirAll(store.PlanDir("conf/a", head), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := o.markNotApplied(&record.Plan{Dir: "conf/a", Head: head}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no plan: %v", err)
	}
	if _, err := store.LoadPlan("conf/a", head); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a plan was written: %v", err)
	}
	old := &record.Plan{Project: "a", Dir: "conf/a", Head: head, InputsHash: "old", Consumed: true}
	if _, err := store.SavePlan(old); err != nil {
		t.Fatal(err)
	}
	replaced := &record.Plan{Project: "a", Dir: "conf/a", Head: head, InputsHash: "new"}
	if _, err := store.SavePlan(replaced); err != nil {
		t.Fatal(err)
	}
	if err := o.markNotApplied(old); err != nil {
		t.Fatal(err)
	}
	if cur, err := store.LoadPlan("conf/a", head); err != nil || cur.InputsHash != "new" || cur.NotApplied {
		t.Errorf("the plan that replaced it: %+v %v", cur, err)
	}
	if err := o.markNotApplied(replaced); err != nil {
		t.Fatal(err)
	}
	if cur, err := store.LoadPlan("conf/a", head); err != nil || cur.InputsHash != "new" || !cur.NotApplied {
		t.Errorf("the plan itself: %+v %v", cur, err)
	}
}
