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
