package tf

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestWorkspace creates a workspace on first use, selects it after, and
// plans against its own state.
func TestWorkspace(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := t.TempDir()
	dir := filepath.Join(root, "project")
	wsDir := filepath.Join(root, "workspaces")
	writeFile(t, filepath.Join(dir, "main.tf"), "terraform {\n  backend \"local\" {\n    path          = \""+filepath.Join(root, "default.tfstate")+"\"\n    workspace_dir = \""+wsDir+"\"\n  }\n}\n\nresource \"terraform_data\" \"x\" {\n  input = terraform.workspace\n}\n")
	mustInit(t, r, dir)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := r.Workspace(ctx, dir, "staging"); err != nil {
			t.Fatalf("Workspace (%d): %v", i, err)
		}
	}
	got := mustPlan(t, r, dir, "ws.tfplan", PlanOptions{})
	mustApply(t, r, dir, got.PlanFile)
	if _, err := os.Stat(filepath.Join(wsDir, "staging", "terraform.tfstate")); err != nil {
		t.Errorf("the staging workspace's state is not where workspace_dir says: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "default.tfstate")); err == nil {
		t.Error("the apply wrote the default workspace's state")
	}
}
