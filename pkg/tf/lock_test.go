package tf

import "testing"

// Terraform prints the lock's holder in a -json diagnostic's detail and,
// boxed, on stderr; both read the same.
func TestParseLockInfo(t *testing.T) {
	t.Parallel()
	want := LockInfo{ID: "c6817442-d9ee-1299-9cba-7480773fc9a2", Path: "/s/a.tfstate", Operation: "OperationTypeApply",
		Who: "ana@laptop", Version: "1.11.4", Created: "2026-12-01 21:16:05.467239749 +0000 UTC"}
	for name, text := range map[string]string{
		"json":   "Error: Error acquiring the state lock\n\nError message: resource temporarily unavailable\nLock Info:\n  ID:        c6817442-d9ee-1299-9cba-7480773fc9a2\n  Path:      /s/a.tfstate\n  Operation: OperationTypeApply\n  Who:       ana@laptop\n  Version:   1.11.4\n  Created:   2026-12-01 21:16:05.467239749 +0000 UTC\n  Info:      \n\n\nTerraform acquires a state lock to protect the state",
		"stderr": "╷\n│ Error: Error acquiring the state lock\n│ \n│ Error message: resource temporarily unavailable\n│ Lock Info:\n│   ID:        c6817442-d9ee-1299-9cba-7480773fc9a2\n│   Path:      /s/a.tfstate\n│   Operation: OperationTypeApply\n│   Who:       ana@laptop\n│   Version:   1.11.4\n│   Created:   2026-12-01 21:16:05.467239749 +0000 UTC\n│   Info:      \n│ \n╵",
	} {
		got, ok := parseLockInfo(text)
		if !ok || got != want {
			t.Errorf("%s: parseLockInfo = %+v, %v; want %+v", name, got, ok, want)
		}
	}
	if _, ok := parseLockInfo("Error: Saved plan is stale"); ok {
		t.Error("parseLockInfo found a lock in another error")
	}
	if got, want := want.String(), "held by ana@laptop (OperationTypeApply, since 2026-12-01 21:16:05.467239749 +0000 UTC, lock ID c6817442-d9ee-1299-9cba-7480773fc9a2)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
