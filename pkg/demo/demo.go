// Package demo builds atoll's embedded example: a throw-away sandbox with a
// bare origin and a geodesic-style clone, and a feature branch to examine.
package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

//go:embed all:example
var example embed.FS

// Files returns the example repository's files (slash paths -> contents).
func Files() (map[string]string, error) {
	files := map[string]string{}
	err := fs.WalkDir(example, "example", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := example.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("example", p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

// Step is one narrated step of the demo.
type Step struct {
	// Say explains the step; Cmd is the equivalent shell command, if any.
	Say, Cmd string
}

// Sandbox is a prepared demo.
type Sandbox struct {
	Root, Origin, Work string
	Branch             string
}

// Projects are the example's root projects.
var Projects = []string{"conf/prod/eks", "conf/prod/vpc", "conf/staging/app", "conf/staging/vpc"}

// FeatureBranch is the branch the demo creates.
const FeatureBranch = "feature/wider-subnets"

// Build creates the sandbox under root (created if missing) and calls
// narrate for each step as it happens.
func Build(root string, narrate func(Step)) (*Sandbox, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("the demo drives a real git repository and needs the git binary on PATH: %w", err)
	}
	files, err := Files()
	if err != nil {
		return nil, err
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// The stand-in for a remote backend: local state at an absolute path,
	// outside the repository and outside atoll's scratch checkouts.
	for _, p := range Projects {
		files[p+"/backend.tf"] = fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n",
			filepath.Join(root, "state", strings.ReplaceAll(p, "/", "-")+".tfstate"))
	}
	narrate(Step{Say: "Create a bare origin and a clone with a geodesic layout: projects under conf/, shared modules under modules/, first commit on main, pushed.",
		Cmd: "git init --bare origin.git && git clone origin.git work"})
	l, err := sandbox.Create(root, files)
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{Root: root, Origin: l.Origin, Work: l.Work, Branch: FeatureBranch}
	git := func(args ...string) error {
		_, err := sandbox.Git(l.Work, args...)
		return err
	}

	narrate(Step{Say: "Start a feature branch.", Cmd: "git checkout -b " + FeatureBranch})
	if err := git("checkout", "-q", "-b", FeatureBranch); err != nil {
		return nil, err
	}
	narrate(Step{Say: "Edit the shared subnets module (network uses it, and conf/prod/vpc and conf/staging/vpc use network) and one project's tfvars.",
		Cmd: "$EDITOR modules/subnets/main.tf conf/staging/app/terraform.tfvars && git commit -am 'Wider subnets; more replicas'"})
	edits := map[string]string{
		"modules/subnets/main.tf": `variable "cidr" {
  type = string
}

locals {
  # Three subnets per network instead of two.
  ids = [for i in range(3) : cidrsubnet(var.cidr, 8, i)]
}

resource "terraform_data" "subnets" {
  input = local.ids
}

output "ids" {
  value = local.ids
}
`,
		"conf/staging/app/terraform.tfvars": "replicas = 3\n",
	}
	if err := sandbox.WriteFiles(l.Work, edits); err != nil {
		return nil, err
	}
	if _, err := sandbox.Commit(l.Work, "Wider subnets; more replicas"); err != nil {
		return nil, err
	}
	narrate(Step{Say: "Meanwhile main moves on with an unrelated change: atoll compares with the merge-base, so it is not blamed on the branch.",
		Cmd: "(on main) edit conf/prod/eks/main.tf, commit, push"})
	if err := git("checkout", "-q", "main"); err != nil {
		return nil, err
	}
	if err := sandbox.WriteFiles(l.Work, map[string]string{"conf/prod/eks/main.tf": files["conf/prod/eks/main.tf"] + "\n# reviewed\n"}); err != nil {
		return nil, err
	}
	if _, err := sandbox.Commit(l.Work, "Review the cluster"); err != nil {
		return nil, err
	}
	if err := git("push", "-q", "origin", "main"); err != nil {
		return nil, err
	}
	if err := git("checkout", "-q", FeatureBranch); err != nil {
		return nil, err
	}
	return sb, nil
}

// CatchUp merges the base branch into the feature branch, as a person does
// when the branch is behind.
func CatchUp(sb *Sandbox) error {
	_, err := sandbox.Git(sb.Work, "merge", "-q", "--no-edit", "origin/main")
	return err
}

// Merge merges branch into main and pushes it.
func Merge(sb *Sandbox, branch string) error {
	for _, args := range [][]string{{"checkout", "-q", "main"}, {"merge", "-q", "--no-edit", branch}, {"push", "-q", "origin", "main"}} {
		if _, err := sandbox.Git(sb.Work, args...); err != nil {
			return err
		}
	}
	return nil
}

// Checkout switches the sandbox's work tree to a branch.
func Checkout(sb *Sandbox, branch string) error {
	_, err := sandbox.Git(sb.Work, "checkout", "-q", branch)
	return err
}

// SecondBranch is the branch that meets the first one's lock.
const SecondBranch = "feature/vpc-note"

// StartSecondBranch makes a second branch from main that changes
// conf/prod/vpc, a project the feature branch applied but has not merged.
func StartSecondBranch(sb *Sandbox) error {
	if _, err := sandbox.Git(sb.Work, "checkout", "-q", "-b", SecondBranch, "origin/main"); err != nil {
		return err
	}
	p := filepath.Join(sb.Work, "conf", "prod", "vpc", "main.tf")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p, append(b, []byte("\n# a note from "+SecondBranch+"\n")...), 0o644); err != nil {
		return err
	}
	_, err = sandbox.Commit(sb.Work, "vpc: a note")
	return err
}
