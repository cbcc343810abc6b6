package bench

import (
	"strings"
	"testing"
	"time"
)

func TestReplaceSection(t *testing.T) {
	doc := "# Perf\n\n<!-- bench:changed:start -->\nold\n<!-- bench:changed:end -->\n\n<!-- bench:plan:start -->\nplan\n<!-- bench:plan:end -->\n"
	got, err := ReplaceSection([]byte(doc), "changed", "new\ntable\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Perf\n\n<!-- bench:changed:start -->\nnew\ntable\n<!-- bench:changed:end -->\n\n<!-- bench:plan:start -->\nplan\n<!-- bench:plan:end -->\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{"no markers", "<!-- bench:changed:end --> <!-- bench:changed:start -->"} {
		if _, err := ReplaceSection([]byte(bad), "changed", "x"); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	series := func(ms ...int) Series {
		var s Series
		for _, m := range ms {
			s = append(s, Sample{Wall: time.Duration(m) * time.Millisecond})
		}
		return s
	}
	tests := []struct {
		s    Series
		want time.Duration
	}{
		{series(), 0},
		{series(7), 7 * time.Millisecond},
		{series(9, 1, 5), 5 * time.Millisecond},
		{series(4, 1, 9, 2), 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.s.Median(); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.s, got, tt.want)
		}
	}
	if lo, hi := series(4, 1, 9, 2).Range(); lo != time.Millisecond || hi != 9*time.Millisecond {
		t.Errorf("Range = %v, %v; want 1ms, 9ms", lo, hi)
	}
}

func TestSelectSizes(t *testing.T) {
	all, err := SelectSizes("")
	if err != nil || len(all) != len(Sizes) {
		t.Errorf(`SelectSizes("") = %v, %v; want all sizes`, all, err)
	}
	some, err := SelectSizes("5000, 100")
	if err != nil || len(some) != 2 || some[0].Name() != "r5000" || some[1].Name() != "r100" {
		t.Errorf("SelectSizes(5000, 100) = %v, %v", some, err)
	}
	if _, err := SelectSizes("42"); err == nil {
		t.Error("SelectSizes(42): want an error")
	}
}

// The targets of issue 11: each is checked against its own limit, on the
// size it belongs to, and only the missed ones are returned.
func TestChangedTargets(t *testing.T) {
	ms := func(wall time.Duration, rss int64, n int) Series {
		var s Series
		for range n {
			s = append(s, Sample{Wall: wall * time.Millisecond, MaxRSS: rss})
		}
		return s
	}
	r5000 := changedRow{Size: Size{Projects: 5000}, Floor: ms(10, 1e6, 3), Warm: ms(19, 20e6, 3), Cold: ms(140, 60e6, 3)}
	r5000.Cold = append(r5000.Cold, Sample{Wall: 210 * time.Millisecond, MaxRSS: 60e6}) // one slow round
	r20000 := changedRow{Size: Size{Projects: 20000}, Floor: ms(10, 1e6, 3), Cold: ms(700, 90e6, 3)}
	table, failed := changedTargets([]changedRow{r5000, r20000})
	want := []string{
		"r5000: cold, slowest round 210.0 ms, want ≤ 200.0 ms",
		"r20000: cold median 700.0 ms (70.0×), want ≤ 600.0 ms",
	}
	if strings.Join(failed, "\n") != strings.Join(want, "\n") {
		t.Errorf("missed targets:\n%s\nwant:\n%s\ntable:\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"), table)
	}
	if _, failed := changedTargets(nil); failed != nil {
		t.Errorf("no rows measured: %v", failed)
	}
}
