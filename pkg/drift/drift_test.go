package drift

import (
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/ledger"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	unmerged := &Apply{Branch: "feature/x", Head: "0123456789abcdef", Who: ledger.Identity{User: "ana", Host: "laptop"}, Time: when, Result: ledger.Success}
	onBase := &Apply{Branch: "main", Head: "fedcba9876543210", Result: ledger.Success, OnBase: true}
	unknownOutcome := *unmerged
	unknownOutcome.Result = ledger.Started
	changes := Plan{HasChanges: true, Changes: Changes{Change: 1}, Resources: []Resource{{Address: "terraform_data.a", Action: "update"}}}
	for _, tc := range []struct {
		name       string
		plan       Plan
		last       *Apply
		ledgerRead bool
		status     Status
		cause      Cause
		why        []string
	}{
		{"no changes", Plan{}, nil, true, InSync, "", []string{"changes nothing"}},
		{"no changes, unmerged apply", Plan{}, unmerged, true, InSync, "", nil},
		{"outputs only", Plan{HasChanges: true, Changes: Changes{Outputs: 1}}, onBase, true, Drift, OutsideAtoll, nil},
		{"unmerged apply", changes, unmerged, true, Drift, UnmergedApply, []string{"branch feature/x", "01234567", "ana@laptop", "2026-11-30 09:15:00Z", "main does not contain"}},
		{"outcome unknown", changes, &unknownOutcome, true, Drift, UnmergedApply, []string{"outcome is unknown", "started"}},
		{"latest apply on base", changes, onBase, true, Drift, OutsideAtoll, []string{"latest apply through atoll is on main"}},
		{"never applied", changes, nil, true, Drift, OutsideAtoll, []string{"holds no apply"}},
		{"ledger unreadable", changes, nil, false, Drift, Unknown, []string{"could not be read"}},
		{"ledger unreadable, no changes", Plan{}, nil, false, InSync, "", nil},
		{"plan failed", Plan{Err: "boom", HasChanges: true}, unmerged, true, Error, "", []string{"could not be planned"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(Project{Dir: "conf/a"}, tc.plan, tc.last, tc.ledgerRead, "main")
			if got.Status != tc.status || got.Cause != tc.cause {
				t.Fatalf("status %q cause %q, want %q %q (why: %s)", got.Status, got.Cause, tc.status, tc.cause, got.Why)
			}
			for _, w := range tc.why {
				if !strings.Contains(got.Why, w) {
					t.Errorf("why %q lacks %q", got.Why, w)
				}
			}
			if got.Resources == nil {
				t.Error("resources is null in JSON; want []")
			}
			if tc.status == Error && got.Error != tc.plan.Err {
				t.Errorf("error %q, want %q", got.Error, tc.plan.Err)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	r := &Report{Projects: []Project{{Dir: "conf/b", Status: Drift}, {Dir: "conf/a", Workspace: "prod", Status: Error}, {Dir: "conf/a", Workspace: "default", Status: InSync}}}
	r.Summarize()
	if r.Summary != (Summary{Total: 3, InSync: 1, Drift: 1, Error: 1}) {
		t.Errorf("summary %+v", r.Summary)
	}
	if r.Projects[0].Workspace != "default" || r.Projects[2].Dir != "conf/b" {
		t.Errorf("not sorted by dir, workspace: %+v", r.Projects)
	}
}
