package scan

import (
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

func TestPauseGCRestoresAfterTheLastOverlappingScan(t *testing.T) {
	percent, limit := gcPercent(), memoryLimit()
	first := pauseGC(64<<20, false)
	if p, l := gcPercent(), memoryLimit(); p != -1 || l != 64<<20+gcSlack {
		t.Fatalf("paused: GC percent %d, limit %d; want -1, %d", p, l, 64<<20+gcSlack)
	}
	second := pauseGC(100<<20, false)
	if l := memoryLimit(); l != 100<<20+gcSlack {
		t.Errorf("an overlapping scan with a larger budget: limit %d, want %d", l, 100<<20+gcSlack)
	}
	first()
	first() // a second call is no second release
	if p := gcPercent(); p != -1 {
		t.Errorf("the collector ran again (percent %d) while a scan was still paused", p)
	}
	second()
	if p, l := gcPercent(), memoryLimit(); p != percent || l != limit {
		t.Errorf("after the last scan: GC percent %d, limit %d; want %d, %d", p, l, percent, limit)
	}
}

func TestPauseGCLeavesLargeBudgetsAndUserSettingsAlone(t *testing.T) {
	percent, limit := gcPercent(), memoryLimit()
	for _, tc := range []struct {
		budget    int64
		userTuned bool
	}{{maxPausedGC + 1, false}, {8 << 20, true}} {
		restore := pauseGC(tc.budget, tc.userTuned)
		if p, l := gcPercent(), memoryLimit(); p != percent || l != limit {
			t.Errorf("pauseGC(%d, %v) changed the collector: percent %d, limit %d", tc.budget, tc.userTuned, p, l)
		}
		restore()
	}
}

func TestSettlesOnlyScansTooLargeToPause(t *testing.T) {
	large := int64(maxPausedGC/heapPerIndexByte + 1)
	for _, tc := range []struct {
		indexSize int64
		paused    int
		want      bool
	}{
		{large, 0, true},
		// pauseGC took it: the collector is off within the budget.
		{maxPausedGC / heapPerIndexByte, 0, false},
		{1 << 10, 0, false},
		// Another scan of this process paused the collector.
		{large, 1, false},
	} {
		if got := settles(tc.indexSize, tc.paused); got != tc.want {
			t.Errorf("settles(%d, %d) = %v, want %v", tc.indexSize, tc.paused, got, tc.want)
		}
	}
}
