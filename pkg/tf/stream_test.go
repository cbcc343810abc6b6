package tf

import (
	"reflect"
	"strings"
	"testing"
)

// Lines as `terraform plan -json` (1.11) writes them, shortened.
func plannedLine(addr, action, extra string) string {
	return `{"@level":"info","@message":"` + addr + `: Plan to ` + action + `","change":{"resource":{"addr":"` + addr + `","resource_key":null},"action":"` + action + `"` + extra + `},"type":"planned_change"}`
}

const (
	linePlanSummary = `{"@level":"info","@message":"Plan: 1 to import, 3 to add, 1 to change, 3 to destroy.","changes":{"add":3,"change":1,"import":1,"remove":3,"operation":"plan"},"type":"change_summary"}`
	lineOutputs     = `{"@level":"info","@message":"Outputs: 3","outputs":{"changed":{"sensitive":false,"action":"update"},"added":{"sensitive":true,"action":"create"},"same":{"sensitive":false,"action":"noop"}},"type":"outputs"}`
	lineDrift       = `{"@level":"info","@message":"terraform_data.x: Drift detected (update)","change":{"resource":{"addr":"terraform_data.x"},"action":"update"},"type":"resource_drift"}`
	lineRefresh     = `{"@level":"info","@message":"terraform_data.x: Refreshing state... [id=1]","hook":{"resource":{"addr":"terraform_data.x"},"id_key":"id","id_value":"1"},"type":"refresh_start"}`
	linePlanError   = `{"@level":"error","@message":"Error: Reference to undeclared resource","diagnostic":{"severity":"error","summary":"Reference to undeclared resource","detail":"A managed resource \"terraform_data\" \"missing\" has not been declared in the root module.","range":{"filename":"main.tf","start":{"line":8,"column":43,"byte":150},"end":{"line":8,"column":65,"byte":172}},"snippet":{"context":"resource \"terraform_data\" \"x\"","code":"resource \"terraform_data\" \"x\" { input = terraform_data.missing.id }","start_line":8,"highlight_start_offset":42,"highlight_end_offset":64,"values":[]}},"type":"diagnostic"}`
	lineLockHeld    = `{"@level":"error","@message":"Error: Error acquiring the state lock","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: resource temporarily unavailable\nLock Info:\n  ID:        c681\n  Who:       ana@laptop\n"},"type":"diagnostic"}`
)

// TestPlanEvents: the counts and changes of a plan come from the planned
// changes of Terraform's -json stream, counted as the plan's JSON would
// give them (a replacement once, import and move alongside the action),
// and every message reaches the log as text.
func TestPlanEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lines      []string
		want       *PlanResult
		wantErrors []string // summaries of the error diagnostics kept
		wantLog    []string // substrings of the readable log
		wantPassed bool
	}{
		{
			name: "every action",
			lines: []string{
				lineVersion, lineRefresh, lineDrift,
				plannedLine("x.update", "update", ""),
				plannedLine("x.create", "create", ""),
				plannedLine("x.replace", "replace", `,"reason":"cannot_update"`),
				plannedLine("x.delete", "delete", `,"reason":"delete_because_no_resource_config"`),
				plannedLine("data.x.read", "read", ""),
				plannedLine("x.import_only", "import", `,"importing":{"id":"i-1"}`),
				plannedLine("x.import_update", "update", `,"importing":{"id":"i-2"}`),
				plannedLine("x.moved", "move", `,"previous_resource":{"addr":"x.old"}`),
				plannedLine("x.moved_update", "update", `,"previous_resource":{"addr":"x.older"}`),
				plannedLine("x.forget", "remove", ""),
				plannedLine("x.later", "open", ""),
				linePlanSummary, lineOutputs, lineWarning,
			},
			want: &PlanResult{
				Add: 1, Change: 3, Replace: 1, Destroy: 1, Forget: 1, Import: 2, Move: 2, OutputChanges: 2,
				Changes: []ResourceChange{
					{Address: "x.create", Action: ActionCreate},
					{Address: "x.delete", Action: ActionDelete},
					{Address: "x.forget", Action: ActionForget},
					{Address: "x.import_only", Action: ActionNoOp, Importing: true},
					{Address: "x.import_update", Action: ActionUpdate, Importing: true},
					{Address: "x.moved", Action: ActionNoOp, PreviousAddress: "x.old"},
					{Address: "x.moved_update", Action: ActionUpdate, PreviousAddress: "x.older"},
					{Address: "x.replace", Action: ActionReplace},
					{Address: "x.update", Action: ActionUpdate},
				},
			},
			wantLog: []string{
				"Terraform 1.11.4\n", "terraform_data.x: Drift detected (update)\n", "x.create: Plan to create\n",
				"Plan: 1 to import, 3 to add, 1 to change, 3 to destroy.\n", "Warning: deprecated\n\nd\n",
			},
			wantPassed: true,
		},
		{
			name:    "no changes",
			lines:   []string{lineVersion, `{"@level":"info","@message":"Plan: 0 to add, 0 to change, 0 to destroy.","changes":{"add":0,"change":0,"import":0,"remove":0,"operation":"plan"},"type":"change_summary"}`},
			want:    &PlanResult{Changes: []ResourceChange{}},
			wantLog: []string{"Plan: 0 to add"},
			// The change summary: Terraform got past the lock.
			wantPassed: true,
		},
		{
			name:       "failed plan",
			lines:      []string{lineVersion, lineWarning, linePlanError},
			want:       &PlanResult{Changes: []ResourceChange{}},
			wantErrors: []string{"Reference to undeclared resource"},
			wantLog: []string{"Error: Reference to undeclared resource\n  on main.tf line 8, in resource \"terraform_data\" \"x\":\n" +
				"   8: resource \"terraform_data\" \"x\" { input = terraform_data.missing.id }\n\nA managed resource"},
			wantPassed: true,
		},
		{
			name:       "state locked",
			lines:      []string{lineVersion, lineLockHeld},
			want:       &PlanResult{Changes: []ResourceChange{}},
			wantErrors: []string{lockSummary},
			wantLog:    []string{"Who:       ana@laptop"},
		},
		{
			name:    "not JSON is passed through",
			lines:   []string{"panic: boom", plannedLine("x.a", "create", "")},
			want:    &PlanResult{Add: 1, Changes: []ResourceChange{{Address: "x.a", Action: ActionCreate}}},
			wantLog: []string{"panic: boom\n"},
			// A line that is no message says nothing about the lock.
			wantPassed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := strings.Join(tt.lines, "\n")
			for cut := 0; cut <= len(stream); cut += max(1, len(stream)/17) {
				var log strings.Builder
				passed := false
				ev := &planEvents{log: &log, passed: func() { passed = true }}
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
				if !reflect.DeepEqual(summaries, tt.wantErrors) {
					t.Fatalf("cut at %d: errors %q, want %q", cut, summaries, tt.wantErrors)
				}
				if passed != tt.wantPassed {
					t.Fatalf("cut at %d: passed the lock = %v, want %v", cut, passed, tt.wantPassed)
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
