package tf

import (
	"reflect"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	rc := func(addr string, actions ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Change: &tfjson.Change{Actions: actions}}
	}
	imported := func(c *tfjson.ResourceChange) *tfjson.ResourceChange {
		c.Change.Importing = &tfjson.Importing{ID: "i-1"}
		return c
	}
	moved := func(c *tfjson.ResourceChange, from string) *tfjson.ResourceChange {
		c.PreviousAddress = from
		return c
	}
	deposed := rc("x.deposed", tfjson.ActionDelete)
	deposed.DeposedKey = "abc"
	const (
		create = tfjson.ActionCreate
		update = tfjson.ActionUpdate
		del    = tfjson.ActionDelete
		read   = tfjson.ActionRead
		noop   = tfjson.ActionNoop
		forget = tfjson.ActionForget
	)

	plan := &tfjson.Plan{
		ResourceChanges: []*tfjson.ResourceChange{
			rc("x.create", create),
			rc("x.update", update),
			rc("x.replace_dbc", del, create),
			rc("x.replace_cbd", create, del),
			rc("x.delete", del),
			deposed,
			rc("data.x.read", read),
			rc("x.unchanged", noop),
			moved(rc("x.same_address", noop), "x.same_address"),
			imported(rc("x.import_only", noop)),
			imported(rc("x.import_update", update)),
			moved(rc("x.moved", noop), "x.old"),
			rc("x.forget", forget),
			{Address: "x.no_change_object"},
		},
		OutputChanges: map[string]*tfjson.Change{
			"changed":   {Actions: tfjson.Actions{update}},
			"unchanged": {Actions: tfjson.Actions{noop}},
		},
	}
	got := summarize(plan)

	want := &PlanResult{
		Add: 1, Change: 2, Replace: 2, Destroy: 2, Forget: 1, Import: 2, Move: 1, OutputChanges: 1,
		Changes: []ResourceChange{
			{Address: "x.create", Action: ActionCreate},
			{Address: "x.update", Action: ActionUpdate},
			{Address: "x.replace_dbc", Action: ActionReplace},
			{Address: "x.replace_cbd", Action: ActionReplace},
			{Address: "x.delete", Action: ActionDelete},
			{Address: "x.deposed", Action: ActionDelete, Deposed: "abc"},
			{Address: "x.import_only", Action: ActionNoOp, Importing: true},
			{Address: "x.import_update", Action: ActionUpdate, Importing: true},
			{Address: "x.moved", Action: ActionNoOp, PreviousAddress: "x.old"},
			{Address: "x.forget", Action: ActionForget},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize() =\n%+v\nwant\n%+v", got, want)
	}

	if empty := summarize(&tfjson.Plan{}); empty.Changes == nil || len(empty.Changes) != 0 {
		t.Errorf("summarize(empty plan).Changes = %#v, want an empty, non-nil list (JSON [])", empty.Changes)
	}
}

// Lines as `terraform apply -json` (1.11) writes them, shortened.
const (
	lineVersion   = `{"@level":"info","@message":"Terraform 1.11.4","type":"version","terraform":"1.11.4","ui":"1.2"}`
	lineAStart    = `{"@level":"info","@message":"terraform_data.a: Creating...","hook":{"resource":{"addr":"terraform_data.a"},"action":"create"},"type":"apply_start"}`
	lineAComplete = `{"@level":"info","@message":"terraform_data.a: Creation complete after 0s [id=1]","hook":{"resource":{"addr":"terraform_data.a"},"action":"create","id_key":"id","id_value":"1","elapsed_seconds":0},"type":"apply_complete"}`
	lineRDelete   = `{"@level":"info","@message":"terraform_data.r: Destruction complete after 0s","hook":{"resource":{"addr":"terraform_data.r"},"action":"delete","elapsed_seconds":0},"type":"apply_complete"}`
	lineRCreate   = `{"@level":"info","@message":"terraform_data.r: Creation complete after 0s [id=2]","hook":{"resource":{"addr":"terraform_data.r"},"action":"create","elapsed_seconds":0},"type":"apply_complete"}`
	lineUUpdate   = `{"@level":"info","@message":"terraform_data.u: Modifications complete after 0s [id=3]","hook":{"resource":{"addr":"terraform_data.u"},"action":"update","elapsed_seconds":0},"type":"apply_complete"}`
	lineBErrored  = `{"@level":"info","@message":"terraform_data.b: Creation errored after 0s","hook":{"resource":{"addr":"terraform_data.b"},"action":"create","elapsed_seconds":0},"type":"apply_errored"}`
	lineBDiag     = `{"@level":"error","@message":"Error: local-exec provisioner error","diagnostic":{"severity":"error","summary":"local-exec provisioner error","detail":"Error running command 'exit 1': exit status 1. Output: ","address":"terraform_data.b","range":{"filename":"main.tf","start":{"line":11,"column":30,"byte":286},"end":{"line":11,"column":31,"byte":287}}},"type":"diagnostic"}`
	lineWarning   = `{"@level":"warn","@message":"Warning: deprecated","diagnostic":{"severity":"warning","summary":"deprecated","detail":"d"},"type":"diagnostic"}`
	lineStale     = `{"@level":"error","@message":"Error: Saved plan is stale","diagnostic":{"severity":"error","summary":"Saved plan is stale","detail":"The given plan file can no longer be applied because the state was changed by another operation after the plan was created."},"type":"diagnostic"}`
	lineHalted    = `{"@level":"error","@message":"Error: execution halted","diagnostic":{"severity":"error","summary":"execution halted","detail":""},"type":"diagnostic"}`
)

func TestApplyEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lines      []string
		want       *ApplyResult
		wantErrors []string // summaries of the error diagnostics kept
		wantStale  bool
		wantLog    []string // substrings of the readable log
	}{
		{
			name:  "success with replace and update",
			lines: []string{lineVersion, lineAStart, lineAComplete, lineRDelete, lineUUpdate, lineRCreate},
			want: &ApplyResult{
				Changed: []ResourceChange{
					{Address: "terraform_data.a", Action: ActionCreate},
					{Address: "terraform_data.r", Action: ActionReplace},
					{Address: "terraform_data.u", Action: ActionUpdate},
				},
				Failed: []FailedChange{},
			},
			wantLog: []string{"Terraform 1.11.4\n", "terraform_data.a: Creating...\n"},
		},
		{
			name:  "fails midway",
			lines: []string{lineAComplete, lineBErrored, lineWarning, lineBDiag},
			want: &ApplyResult{
				Changed: []ResourceChange{{Address: "terraform_data.a", Action: ActionCreate}},
				Failed: []FailedChange{{
					Address: "terraform_data.b", Action: ActionCreate,
					Message: "local-exec provisioner error: Error running command 'exit 1': exit status 1. Output:",
				}},
			},
			wantErrors: []string{"local-exec provisioner error"},
			wantLog:    []string{"Error: local-exec provisioner error\n  on main.tf line 11\n  with terraform_data.b\n\nError running command", "Warning: deprecated"},
		},
		{
			name:       "stale plan",
			lines:      []string{lineVersion, lineStale},
			want:       &ApplyResult{Changed: []ResourceChange{}, Failed: []FailedChange{}},
			wantErrors: []string{"Saved plan is stale"},
			wantStale:  true,
		},
		{
			name:       "repeated diagnostics kept once",
			lines:      []string{lineHalted, lineHalted},
			want:       &ApplyResult{Changed: []ResourceChange{}, Failed: []FailedChange{}},
			wantErrors: []string{"execution halted"},
		},
		{
			name:    "not JSON is passed through",
			lines:   []string{"panic: boom", lineAComplete},
			want:    &ApplyResult{Changed: []ResourceChange{{Address: "terraform_data.a", Action: ActionCreate}}, Failed: []FailedChange{}},
			wantLog: []string{"panic: boom\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Split the stream at every possible point: Write must not
			// depend on getting whole lines.
			stream := strings.Join(tt.lines, "\n")
			for cut := 0; cut <= len(stream); cut += max(1, len(stream)/17) {
				var log strings.Builder
				ev := &applyEvents{log: &log}
				ev.Write([]byte(stream[:cut]))
				ev.Write([]byte(stream[cut:]))
				ev.flush()
				if got := ev.result(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("cut at %d: result() =\n%+v\nwant\n%+v", cut, got, tt.want)
				}
				var summaries []string
				for _, d := range ev.errors {
					summaries = append(summaries, d.Summary)
				}
				if !reflect.DeepEqual(summaries, tt.wantErrors) || ev.stale != tt.wantStale {
					t.Fatalf("cut at %d: errors %q stale %v, want %q stale %v", cut, summaries, ev.stale, tt.wantErrors, tt.wantStale)
				}
				for _, s := range tt.wantLog {
					if !strings.Contains(log.String(), s) {
						t.Fatalf("cut at %d: log lacks %q:\n%s", cut, s, log.String())
					}
				}
			}
		})
	}
}
