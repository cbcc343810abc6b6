package record

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Pins from issue 12.

// reseal rewrites a record file with one field changed and a valid
// checksum, as another version of atoll would have written it.
func reseal(t *testing.T, path string, edit func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	// Round-trip through the typed struct so the seal is computed the way
	// the store computes it.
	raw, _ := json.Marshal(m)
	var v any = &Plan{}
	if strings.Contains(path, string(filepath.Separator)+"applies"+string(filepath.Separator)) {
		v = &Apply{}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
	var sum *string
	switch r := v.(type) {
	case *Plan:
		sum = &r.Checksum
	case *Apply:
		sum = &r.Checksum
	}
	s, err := seal(v, sum)
	if err != nil {
		t.Fatal(err)
	}
	*sum = s
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecordsOfAnotherFormatAreRefused(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	p := newPlan(t, s)
	path, err := s.SavePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []int{FormatVersion + 1, FormatVersion - 1} {
		reseal(t, path, func(m map[string]any) { m["format"] = f })
		var te *TamperedError
		if _, err := s.LoadPlan(p.Dir, p.Head); !errors.As(err, &te) || !strings.Contains(err.Error(), "format") {
			t.Errorf("plan record of format %d: err = %v, want a refusal naming the format", f, err)
		}
		if got, _ := s.Plans(p.Dir); len(got) != 0 {
			t.Errorf("Plans lists a record of format %d", f)
		}
	}
	reseal(t, path, func(m map[string]any) { m["format"] = FormatVersion })
	if _, err := s.LoadPlan(p.Dir, p.Head); err != nil {
		t.Errorf("resealed at the current format: %v", err)
	}

	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apath, err := s.SaveApply(&Apply{Dir: "conf/a", Head: "h", Success: true, Started: at, Finished: at})
	if err != nil {
		t.Fatal(err)
	}
	reseal(t, apath, func(m map[string]any) { m["format"] = FormatVersion + 1 })
	var te *TamperedError
	if _, err := s.Applies("conf/a"); !errors.As(err, &te) || !strings.Contains(err.Error(), "format") {
		t.Errorf("apply record of another format: err = %v, want a refusal naming the format", err)
	}
}

func TestPlansNewestFirst(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	// Head names sort against and with time, so neither directory order
	// nor its reverse gives newest first by accident.
	heads := map[string]int{"bbb": 0, "aaa": 1, "ccc": 2, "ddd": 3}
	for h, hour := range heads {
		p := newPlan(t, s)
		p.Head, p.Time = h, time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC)
		if _, err := s.SavePlan(p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Plans("conf/prod/vpc")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, p := range got {
		order = append(order, p.Head)
	}
	if strings.Join(order, ",") != "ddd,ccc,aaa,bbb" {
		t.Errorf("Plans order = %v, want newest first: ddd,ccc,aaa,bbb", order)
	}
}

func TestAppliesNewestFirstByFinishTime(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	for i, h := range []string{"h0", "h1", "h2"} {
		at := time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)
		if _, err := s.SaveApply(&Apply{Dir: "conf/a", Head: h, Started: at, Finished: at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Applies("conf/a")
	if err != nil || len(got) != 3 || got[0].Head != "h2" || got[1].Head != "h1" || got[2].Head != "h0" {
		t.Errorf("Applies = %+v, %v; want h2, h1, h0", got, err)
	}
}

func TestCountsAny(t *testing.T) {
	if (Counts{}).Any() {
		t.Error("no counts: Any")
	}
	for _, c := range []Counts{{Add: 1}, {Change: 1}, {Replace: 1}, {Destroy: 1}, {Import: 1}} {
		if !c.Any() {
			t.Errorf("%+v: not Any", c)
		}
	}
}

func TestLockPlanExcludes(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	unlock, err := s.LockPlan("conf/a", "abc")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := s.LockPlan("conf/a", "abc")
		if err == nil {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second LockPlan got the lock while the first held it")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	<-got
	// Another commit's plan is another lock.
	u2, err := s.LockPlan("conf/a", "def")
	if err != nil {
		t.Fatal(err)
	}
	u2()
	if _, err := os.Stat(filepath.Join(s.PlanDir("conf/a", "abc"), ".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

// A record that cannot be put in place is an error, and leaves no
// temporary file behind.
func TestSaveThatCannotRenameFails(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	p := newPlan(t, s)
	recPath, err := s.SavePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	// record.json is now a directory that is not empty.
	if err := os.Remove(recPath); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(recPath, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePlan(p); err == nil {
		t.Fatal("saved over a directory")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(recPath), ".tmp-record-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestPrunePlans(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	old := time.Now().Add(-48 * time.Hour)
	mk := func(dir, head string, at time.Time, withRecord bool) string {
		t.Helper()
		d := s.PlanDir(dir, head)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "plan.log"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if withRecord {
			if err := os.WriteFile(filepath.Join(d, "record.json"), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(d, "record.json"), at, at); err != nil {
				t.Fatal(err)
			}
			// The directory is new; its record says when the plan was made.
			return d
		}
		if err := os.Chtimes(d, at, at); err != nil {
			t.Fatal(err)
		}
		return d
	}
	oldRec := mk("conf/a", "h1", old, true)
	newRec := mk("conf/a", "h2", time.Now(), true)
	oldDir := mk("conf/b", "h3", old, false)
	kept := mk("conf/c", "h4", old, true)
	locked := mk("conf/d", "h5", old, true)
	unlock, err := s.LockPlan("conf/d", "h5")
	if err != nil {
		t.Fatal(err)
	}
	// A file where a plan directory would be is not one.
	if err := os.WriteFile(filepath.Join(s.Root, "plans", Slug("conf/a"), "stray"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := s.PrunePlans(24*time.Hour, func(head string) bool { return head == "h4" })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{oldRec, oldDir}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, d := range []string{newRec, kept, locked} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if _, err := os.Stat(filepath.Dir(oldDir)); !os.IsNotExist(err) {
		t.Errorf("the emptied project directory is left: %v", err)
	}
	// All of them, once unlocked, with nothing kept.
	unlock()
	removed, err = s.PrunePlans(0, nil)
	if err != nil || len(removed) != 3 {
		t.Errorf("all: %v %v", removed, err)
	}
}

func TestAlteredApplyRecordIsRefused(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	path, err := s.SaveApply(&Apply{Dir: "conf/a", Head: "h", Success: false, Started: at, Finished: at})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"success": false`, `"success": true`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var te *TamperedError
	if _, err := s.Applies("conf/a"); !errors.As(err, &te) || !strings.Contains(te.What, "altered") {
		t.Errorf("an altered apply record: %v", err)
	}
}

// TestEncodePlanIsWhatSavePlanWrites: the bytes EncodePlan returns are the
// record SavePlan writes, and they decode to the same plan.
func TestEncodePlanIsWhatSavePlanWrites(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	p := newPlan(t, s)
	b, err := EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	path, err := s.SavePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(written) {
		t.Errorf("EncodePlan:\n%s\nSavePlan wrote:\n%s", b, written)
	}
	got, err := DecodePlan(path, b)
	if err != nil || got.Checksum == "" || got.Format != FormatVersion || got.InputsHash != p.InputsHash || got.Head != p.Head || !got.Time.Equal(p.Time) {
		t.Errorf("DecodePlan(EncodePlan) = %+v, %v", got, err)
	}
	// An edit after encoding is caught by the seal.
	if _, err := DecodePlan(path, []byte(strings.Replace(string(b), `"head": "abc"`, `"head": "abd"`, 1))); err == nil {
		t.Error("an edited encoded plan decoded")
	}
}

// TestPruneAllRemovesEvenFutureTimestamps: olderThan 0 means every plan
// directory, also one whose times lie ahead of this machine's clock
// (written by a machine whose clock is fast); with an age, such a plan is
// young and stays.
func TestPruneAllRemovesEvenFutureTimestamps(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	d := s.PlanDir("conf/a", "h1")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(d, RecordFile)
	if err := os.WriteFile(rec, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	for _, p := range []string{rec, d} {
		if err := os.Chtimes(p, future, future); err != nil {
			t.Fatal(err)
		}
	}
	if removed, err := s.PrunePlans(time.Minute, nil); err != nil || len(removed) != 0 {
		t.Errorf("older than a minute: removed %v, %v", removed, err)
	}
	if removed, err := s.PrunePlans(0, nil); err != nil || !slices.Equal(removed, []string{d}) {
		t.Errorf("all: removed %v, %v; want %s", removed, err, d)
	}
}

// TestSlugsOfLongDirectoriesStayShortAndUnique: a slug keeps at most 80
// characters of the directory, and the hash keeps directories that share
// them apart.
func TestSlugsOfLongDirectoriesStayShortAndUnique(t *testing.T) {
	t.Parallel()
	long := "conf/" + strings.Repeat("x", 100)
	a, b := Slug(long+"/a"), Slug(long+"/b")
	if a == b || len(a) != 80+1+6 || !strings.HasPrefix(a, "conf-xxx") {
		t.Errorf("slugs %q %q", a, b)
	}
	for n := 78; n <= 82; n++ {
		if s := Slug(strings.Repeat("d", n)); len(s) != min(n, 80)+1+6 {
			t.Errorf("a %d-character directory: slug %q (%d characters)", n, s, len(s))
		}
	}
	if s := Slug("conf/prod vpc"); !strings.HasPrefix(s, "conf-prod_vpc-") || len(s) != len("conf/prod vpc")+1+6 {
		t.Errorf("short slug %q", s)
	}
}
