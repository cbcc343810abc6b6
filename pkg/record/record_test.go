package record

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newPlan(t *testing.T, s Store) *Plan {
	t.Helper()
	planFile := filepath.Join(t.TempDir(), "plan.tfplan")
	if err := os.WriteFile(planFile, []byte("binary plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ := FileSHA256(planFile)
	return &Plan{Project: "vpc", Dir: "conf/prod/vpc", Head: "abc", BaseRef: "refs/remotes/origin/main", BaseSHA: "def",
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Counts: Counts{Add: 1}, HasChanges: true, PlanFile: planFile, PlanSHA256: sum}
}

func TestPlanRoundTripAndTamperDetection(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	p := newPlan(t, s)
	path, err := s.SavePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadPlan("conf/prod/vpc", "abc")
	if err != nil || got.Counts.Add != 1 || got.BaseSHA != "def" {
		t.Fatalf("LoadPlan = %+v, %v", got, err)
	}
	if _, err := s.LoadPlan("conf/prod/vpc", "other"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing record: %v", err)
	}

	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), `"add": 1`, `"add": 0`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	var te *TamperedError
	if _, err := s.LoadPlan("conf/prod/vpc", "abc"); !errors.As(err, &te) {
		t.Errorf("edited record: err = %v", err)
	}
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadPlan("conf/prod/vpc", "abc"); !errors.As(err, &te) {
		t.Errorf("truncated record: err = %v", err)
	}

	if _, err := s.SavePlan(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.PlanFile, []byte("another plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadPlan("conf/prod/vpc", "abc"); !errors.As(err, &te) || !strings.Contains(err.Error(), "plan file was altered") {
		t.Errorf("altered plan file: err = %v", err)
	}
}

func TestAppliesNewestFirstAndSealed(t *testing.T) {
	t.Parallel()
	s := Store{Root: t.TempDir()}
	for i, ok := range []bool{true, false} {
		at := time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)
		if _, err := s.SaveApply(&Apply{Dir: "conf/a", Head: "h", Success: ok, Started: at, Finished: at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Applies("conf/a")
	if err != nil || len(got) != 2 || got[0].Success {
		t.Fatalf("Applies = %+v, %v; want the failed (newest) first", got, err)
	}
	if none, err := s.Applies("conf/never"); err != nil || len(none) != 0 {
		t.Errorf("no records: %v, %v", none, err)
	}
	m, _ := filepath.Glob(filepath.Join(s.Root, "applies", "*", "*.json"))
	if err := os.WriteFile(m[0], []byte(`{"success": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var te *TamperedError
	if _, err := s.Applies("conf/a"); !errors.As(err, &te) {
		t.Errorf("forged record: err = %v", err)
	}
}

func TestSlugIsUniqueAndReadable(t *testing.T) {
	t.Parallel()
	a, b := Slug("conf/a-b"), Slug("conf-a/b")
	if a == b || !strings.HasPrefix(a, "conf-a-b-") {
		t.Errorf("slugs %q %q", a, b)
	}
}

// An apply that consumed its plan after the newest apply record finished,
// and left none of its own, has an unknown outcome; an apply record
// written after it settles it.
func TestOutcome(t *testing.T) {
	t.Parallel()
	at := func(min int) time.Time { return time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	applyAt := func(s Store, head string, start, end int) {
		t.Helper()
		if _, err := s.SaveApply(&Apply{Project: "vpc", Dir: "conf/prod/vpc", Head: head, Success: true, Started: at(start), Finished: at(end)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(s Store, p *Plan)
		want  *Unfinished
	}{
		{"never planned nor applied", func(s Store, p *Plan) {}, nil},
		{"planned, not applied", func(s Store, p *Plan) { s.SavePlan(p) }, nil},
		{"consumed, then recorded", func(s Store, p *Plan) {
			p.Consumed, p.ConsumedAt = true, ptr(at(2))
			s.SavePlan(p)
			applyAt(s, "abc", 1, 3)
		}, nil},
		{"no changes: consumed and recorded at once", func(s Store, p *Plan) {
			p.Consumed, p.ConsumedAt = true, ptr(at(2))
			s.SavePlan(p)
			applyAt(s, "abc", 2, 2)
		}, nil},
		{"consumed, no record at all", func(s Store, p *Plan) {
			p.Consumed, p.ConsumedAt = true, ptr(at(2))
			s.SavePlan(p)
		}, &Unfinished{Head: "abc", Started: at(2)}},
		{"consumed after an older record", func(s Store, p *Plan) {
			applyAt(s, "abc", 0, 1)
			p.Consumed, p.ConsumedAt = true, ptr(at(2))
			s.SavePlan(p)
		}, &Unfinished{Head: "abc", Started: at(2)}},
		{"refused as stale by Terraform", func(s Store, p *Plan) {
			applyAt(s, "abc", 0, 1)
			p.Consumed, p.ConsumedAt, p.NotApplied = true, ptr(at(2)), true
			s.SavePlan(p)
		}, nil},
		{"re-planned after the unfinished apply", func(s Store, p *Plan) {
			applyAt(s, "abc", 0, 1)
			p.Unfinished = &Unfinished{Head: "abc", Started: at(2)}
			s.SavePlan(p)
		}, &Unfinished{Head: "abc", Started: at(2)}},
		{"re-planned and applied since", func(s Store, p *Plan) {
			p.Unfinished = &Unfinished{Head: "abc", Started: at(2)}
			p.Consumed, p.ConsumedAt = true, ptr(at(4))
			s.SavePlan(p)
			applyAt(s, "abc", 3, 5)
		}, nil},
		{"two unfinished applies: the one that started last", func(s Store, p *Plan) {
			applyAt(s, "abc", 0, 1)
			// The newer plan (listed first) was applied first.
			q := *p
			q.Head, q.Time = "def", p.Time.Add(time.Hour)
			q.Consumed, q.ConsumedAt = true, ptr(at(3))
			s.SavePlan(&q)
			p.Consumed, p.ConsumedAt = true, ptr(at(5))
			s.SavePlan(p)
		}, &Unfinished{Head: "abc", Started: at(5)}},
		{"two unfinished applies, the later one carried over by a re-plan", func(s Store, p *Plan) {
			q := *p
			q.Head, q.Time = "def", p.Time.Add(time.Hour)
			q.Consumed, q.ConsumedAt = true, ptr(at(3))
			s.SavePlan(&q)
			p.Unfinished = &Unfinished{Head: "old", Started: at(4)}
			s.SavePlan(p)
		}, &Unfinished{Head: "old", Started: at(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Store{Root: t.TempDir()}
			tc.setup(s, newPlan(t, s))
			out, err := s.Outcome("conf/prod/vpc")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && out.Unfinished != nil:
				t.Errorf("Unfinished = %+v, want none", out.Unfinished)
			case tc.want != nil && (out.Unfinished == nil || *out.Unfinished != *tc.want):
				t.Errorf("Unfinished = %+v, want %+v", out.Unfinished, tc.want)
			}
		})
	}
}

// Records, plan files and locks that are not regular files (a FIFO, a link
// to /dev/zero) are refused as tampered, without blocking or reading
// without end.
func TestRecordsThatAreNotFilesAreRefused(t *testing.T) {
	t.Parallel()
	plants := map[string]func(p string) error{
		"fifo":              func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"link to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
	}
	for name, plant := range plants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			replace := func(p string) {
				t.Helper()
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := plant(p); err != nil {
					t.Fatal(err)
				}
			}
			s := Store{Root: t.TempDir()}
			p := newPlan(t, s)
			recPath, err := s.SavePlan(p)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			applyPath, err := s.SaveApply(&Apply{Dir: "conf/a", Head: "h", Started: at, Finished: at})
			if err != nil {
				t.Fatal(err)
			}
			lockPath := filepath.Join(s.PlanDir("conf/b", "h"), ".lock")
			if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := plant(lockPath); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var te *TamperedError
			go func() {
				defer close(done)
				replace(p.PlanFile)
				if _, err := s.LoadPlan(p.Dir, p.Head); !errors.As(err, &te) {
					t.Errorf("plan file: LoadPlan = %v, want TamperedError", err)
				}
				replace(recPath)
				if _, err := s.LoadPlan(p.Dir, p.Head); !errors.As(err, &te) {
					t.Errorf("plan record: LoadPlan = %v, want TamperedError", err)
				}
				replace(applyPath)
				if _, err := s.Applies("conf/a"); !errors.As(err, &te) {
					t.Errorf("apply record: Applies = %v, want TamperedError", err)
				}
				if unlock, err := s.LockPlan("conf/b", "h"); err == nil {
					unlock()
					t.Error("a lock that is not a file was taken")
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("reading a record blocked")
			}
		})
	}
}
