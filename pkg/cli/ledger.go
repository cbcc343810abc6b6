package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// ledgerClient opens the locks and ledger of the session's repository on
// its remote (ledger_remote, else origin, else the local repository).
// Loud messages (entries kept locally, pushed later) go to errw.
func (s *session) ledgerClient(errw io.Writer) (*ledger.Client, error) {
	if s.ledger != nil {
		return s.ledger, nil
	}
	remote, explicit := s.Config.LedgerRemote, s.Config.LedgerRemote != ""
	if !explicit {
		remote = "origin"
	}
	st, err := gitstore.Open(s.Repo, remote, explicit)
	if err != nil {
		return nil, &ExitError{Code: ExitInput, Err: err, Hint: "set ledger_remote in atoll.yaml (or ATOLL_LEDGER_REMOTE) to one of the remotes git remote -v lists"}
	}
	styles := ui.NewStyles(errw, false)
	s.ledger = &ledger.Client{Store: st, Warn: func(msg string) {
		fmt.Fprintf(errw, "%s %s\n", styles.Warning.Render("warning:"), msg)
	}}
	return s.ledger, nil
}

// openRemote loads the locks and ledger with the base as last fetched;
// fetchBase fetches the base first (locks, status: "merged" is about now).
func (s *session) openRemote(ctx context.Context, errw io.Writer, fetchBase bool) (*guard.Remote, error) {
	r, err := s.lazyRemote(errw)
	if err != nil {
		return nil, err
	}
	if fetchBase {
		if err := s.fetchBase(); err != nil {
			return nil, err
		}
		if r, err = s.lazyRemote(errw); err != nil {
			return nil, err
		}
	}
	if r.Snap, err = r.Client.Load(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// fetchBase updates the base's remote-tracking ref.
func (s *session) fetchBase() error {
	cmp, err := s.Repo.ResolveBase(s.Config.Base)
	if err != nil {
		return err
	}
	if remote, branch, ok := git.RemoteOf(cmp.Base.Name); ok {
		if err := s.Repo.Fetch(remote, branch); err != nil {
			return &ExitError{Code: ExitRepository, Err: err, Hint: "check the network and the remote's URL (git remote -v)"}
		}
	}
	return nil
}

// lazyRemote is the locks and ledger with nothing read yet (see
// guard.NewRemote), against the base as last fetched.
func (s *session) lazyRemote(errw io.Writer) (*guard.Remote, error) {
	c, err := s.ledgerClient(errw)
	if err != nil {
		return nil, err
	}
	cmp, err := s.Repo.ResolveBase(s.Config.Base)
	if err != nil {
		return nil, err
	}
	return guard.NewRemote(c, s.Repo, s.Config, s.Cache, cmp.Base), nil
}

// lockRequests are the locks of projects at HEAD, with their inputs.
func (s *session) lockRequests(head git.Head, projects []project.Project, reason string) ([]*ledger.Lock, error) {
	branch := s.branchOf(head)
	if branch == "" {
		return nil, &ExitError{Code: ExitRepository, Err: errors.New("HEAD is detached: a lock belongs to a branch"),
			Hint: "check out the branch, or name it: ATOLL_BRANCH=feature/x (in CI the pull or merge request's source branch is read too: docs/ci-integration.md)"}
	}
	inputs, err := workspace.Inputs(s.Repo, head.SHA, projects, s.Config.Watch)
	if err != nil {
		return nil, err
	}
	who := s.identity()
	now := time.Now().UTC()
	// Whether the branch is on the remote now, as last fetched: only then
	// does its absence later mean it was deleted.
	remote := s.Config.LedgerRemote
	if remote == "" {
		remote = "origin"
	}
	_, pushed, _ := s.Repo.ResolveRef("refs/remotes/" + remote + "/" + branch)
	var out []*ledger.Lock
	for _, p := range projects {
		ws := p.Workspace
		if ws == "default" {
			ws = ""
		}
		out = append(out, &ledger.Lock{Project: p.Name, Dir: p.Dir, Workspace: ws, Branch: branch, Head: head.SHA.String(),
			InputsHash: inputs[p.Dir], Who: who, Time: now, Reason: reason, Pushed: pushed})
	}
	return out, nil
}

// acquire takes the locks of projects for HEAD, all or none, and says
// what it did on errw.
func (s *session) acquire(ctx context.Context, errw io.Writer, r *guard.Remote, head git.Head, projects []project.Project, reason string) (*ledger.Acquired, error) {
	want, err := s.lockRequests(head, projects, reason)
	if err != nil {
		return nil, err
	}
	// The snapshot the guard judged, when one was read, decides first.
	take := r.Client.Acquire
	if r.Snap != nil {
		take = r.Snap.Acquire
	}
	got, err := take(ctx, want, r.Classifier(s.branchOf(head)))
	if err != nil {
		return nil, err
	}
	for _, h := range got.Released {
		fmt.Fprintf(errw, "released the lock of %s that branch %s held: it was stale\n", h.Lock.Dir, h.Lock.Branch)
	}
	return got, nil
}

// headProjects resolves PROJECT arguments to projects at HEAD.
func headProjects(s *session, args []string) (git.Head, []project.Project, error) {
	head, err := s.Repo.Head()
	if err != nil {
		return head, nil, err
	}
	g, err := scan.Projects(s.Repo, s.Config, head.SHA, scan.Options{Cache: s.Cache})
	if err != nil {
		return head, nil, err
	}
	sel, err := selectProjects(s, g, args)
	if err != nil {
		return head, nil, err
	}
	var out []project.Project
	for _, p := range g.Projects {
		if sel[p.Dir] {
			out = append(out, p)
		}
	}
	return head, out, nil
}

// lockKeys resolves PROJECT arguments of unlock and history: projects at
// HEAD, or directories that have a lock or a ledger (a deleted project).
func lockKeys(s *session, r *guard.Remote, args []string) ([]string, error) {
	head, err := s.Repo.Head()
	if err != nil {
		return nil, err
	}
	g, err := scan.Projects(s.Repo, s.Config, head.SHA, scan.Options{Cache: s.Cache})
	if err != nil {
		return nil, err
	}
	known := map[string]string{}
	for _, p := range g.Projects {
		known[p.Name], known[p.Dir] = ledger.Key(p.Dir, p.Workspace), ledger.Key(p.Dir, p.Workspace)
	}
	var keys []string
	var unknown []string
	for _, a := range args {
		clean := strings.TrimSuffix(path.Clean(strings.TrimPrefix(a, "./")), "/")
		if k, ok := known[clean]; ok {
			keys = append(keys, k)
			continue
		}
		k := ledger.Key(clean, "")
		if _, ok := r.Snap.Refs[ledger.LockRef(k)]; ok {
			keys = append(keys, k)
			continue
		}
		if _, ok := r.Snap.Refs[ledger.LedgerRef(k)]; ok {
			keys = append(keys, k)
			continue
		}
		unknown = append(unknown, a)
	}
	if len(unknown) > 0 {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("no such project: %s", strings.Join(unknown, ", ")),
			Hint: "give a project name or directory; `atoll projects` lists them, `atoll locks` the locks"}
	}
	return keys, nil
}
