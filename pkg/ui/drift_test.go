package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/drift"
	"github.com/atoll-tf/atoll/pkg/ledger"
)

// driftReport has one project of each verdict and cause.
func driftReport() *drift.Report {
	when := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	rep := &drift.Report{Command: "drift", Base: "main", BaseRef: "refs/remotes/origin/main", BaseSHA: "0f1e2d3c4b5a6978", Fetched: true, Ledger: "origin"}
	feature := &drift.Apply{ID: "1234", Branch: "feat/vpc", Head: "a1b2c3d4e5f60718", Who: ledger.Identity{User: "ana", Host: "laptop"}, Time: when, Result: ledger.Success}
	onMain := &drift.Apply{ID: "5678", Branch: "main", Head: "0f1e2d3c4b5a6978", Who: ledger.Identity{User: "ci", CI: "github"}, Time: when, Result: ledger.Success, OnBase: true}
	changes := func(a, c int, rs ...drift.Resource) drift.Plan {
		return drift.Plan{HasChanges: true, Changes: drift.Changes{Add: a, Change: c}, Resources: rs}
	}
	rep.Projects = []drift.Project{
		drift.Classify(drift.Project{Name: "conf/prod/vpc", Dir: "conf/prod/vpc", Workspace: "default"},
			changes(0, 1, drift.Resource{Address: "module.net.aws_subnet.a", Action: "update"}), feature, true, "main"),
		drift.Classify(drift.Project{Name: "conf/prod/app", Dir: "conf/prod/app", Workspace: "default"},
			changes(1, 0, drift.Resource{Address: "aws_iam_role.x", Action: "create"}), onMain, true, "main"),
		drift.Classify(drift.Project{Name: "conf/staging/app", Dir: "conf/staging/app", Workspace: "default"}, drift.Plan{}, onMain, true, "main"),
		drift.Classify(drift.Project{Name: "conf/staging/vpc", Dir: "conf/staging/vpc", Workspace: "default"},
			drift.Plan{Err: "Error: No value for required variable", Hint: "Terraform's full output is in /w/drift.log", LogFile: "/w/drift.log"}, nil, true, "main"),
	}
	rep.Summarize()
	return rep
}

func TestDriftTable(t *testing.T) {
	var buf bytes.Buffer
	if err := DriftTable(&buf, NewStyles(&buf, false), driftReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "drift.golden", buf.String())
}

func TestDriftMarkdown(t *testing.T) {
	golden(t, "drift.md.golden", DriftMarkdown(driftReport()))
}
