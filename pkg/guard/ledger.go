package guard

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/scan"
	"github.com/atoll-tf/atoll/pkg/workspace"
)

// Remote is the locks and ledger as the remote holds them, with the git
// facts that decide a lock's state and whether an apply would revert
// another branch's: the one place those rules meet the repository.
type Remote struct {
	Client *ledger.Client
	Snap   *ledger.Snapshot
	Repo   *git.Repo
	Config *config.Config
	Cache  *cache.Store
	// BaseTip is the base branch's tip; BaseName its short name (main).
	BaseTip  git.Hash
	BaseName string

	mu         sync.Mutex
	baseInputs map[string]string
	graph      *project.Graph
}

// OpenRemote loads the locks and ledger (one fetch).
func OpenRemote(ctx context.Context, c *ledger.Client, repo *git.Repo, cfg *config.Config, st *cache.Store, base git.Ref) (*Remote, error) {
	snap, err := c.Load(ctx)
	if err != nil {
		return nil, err
	}
	r := NewRemote(c, repo, cfg, st, base)
	r.Snap = snap
	return r, nil
}

// NewRemote is a Remote with nothing read yet: for taking locks, whose
// first attempt needs no read (Acquire reads, and sets Snap through the
// Classifier, only when a lock already exists).
func NewRemote(c *ledger.Client, repo *git.Repo, cfg *config.Config, st *cache.Store, base git.Ref) *Remote {
	return &Remote{Client: c, Repo: repo, Config: cfg, Cache: st, BaseTip: base.SHA, BaseName: BranchName(base.Name)}
}

// BranchName is the short name of a base ref (main for
// refs/remotes/origin/main): the name ledger entries give its branch.
func BranchName(ref string) string {
	if _, b, ok := git.RemoteOf(ref); ok {
		return b
	}
	return strings.TrimPrefix(strings.TrimPrefix(ref, "refs/remotes/"), "refs/heads/")
}

// WorkspaceOf is the Terraform workspace atoll.yaml gives a project.
func WorkspaceOf(cfg *config.Config, dir string) string {
	if p, ok := cfg.ProjectByDir(dir); ok {
		return p.Workspace
	}
	return ""
}

// inputsAtBase is the inputs hash of a project at the base's tip ("" when
// the project does not exist there).
func (r *Remote) inputsAtBase(dir string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.baseInputs == nil {
		r.baseInputs = map[string]string{}
		if r.BaseTip.IsZero() {
			return ""
		}
		g, err := scan.Projects(r.Repo, r.Config, r.BaseTip, scan.Options{Cache: r.Cache})
		if err != nil {
			return ""
		}
		r.graph = g
		if in, err := workspace.Inputs(r.Repo, r.BaseTip, g.Projects, r.Config.Watch); err == nil {
			r.baseInputs = in
		}
	}
	return r.baseInputs[dir]
}

// onBase: a commit is in the base branch's history. A commit this clone
// does not have is not.
func (r *Remote) onBase(sha string) bool {
	h, ok := git.ParseHash(sha)
	if !ok || r.BaseTip.IsZero() {
		return false
	}
	if _, err := r.Repo.Commit(h); err != nil {
		return false
	}
	anc, err := r.Repo.IsAncestor(h, r.BaseTip)
	return err == nil && anc
}

// merged: a change (a head with the project's inputs there) is on the
// base branch, by any method: its head is in the base's history (merge
// commit, fast-forward), or the project's inputs at the base's tip equal
// its inputs (squash, rebase).
func (r *Remote) merged(dir, head, inputs string) bool {
	if r.onBase(head) {
		return true
	}
	return inputs != "" && inputs == r.inputsAtBase(dir)
}

// Verdict decides the state of a lock.
func (r *Remote) Verdict(h *ledger.HeldLock) (ledger.Verdict, error) {
	l := h.Lock
	// A branch never pushed cannot be told from a deleted one: it counts
	// as existing, so its lock is never released for its absence.
	f := ledger.Facts{BranchExists: r.Snap.Branches[l.Branch] || !l.Pushed}
	hist, err := r.Snap.History(ledger.Key(l.Dir, l.Workspace), 0)
	if err != nil {
		return ledger.Verdict{}, err
	}
	f.Merged = r.merged(l.Dir, l.Head, l.InputsHash)
	latest := true
	for _, s := range hist {
		e := s.Entry
		if !e.Apply() || e.Time.Before(l.Time) {
			continue
		}
		if e.Branch == l.Branch {
			f.AppliedByHolder = true
			if e.Result == ledger.Success && r.merged(l.Dir, e.Head, e.InputsHash) {
				f.Merged = true
			}
		}
		if latest {
			f.RestoredFromBase = e.Branch != l.Branch && e.Result == ledger.Success && (e.Branch == r.BaseName || r.onBase(e.Head))
			latest = false
		}
	}
	return ledger.Classify(l, r.BaseName, f), nil
}

// Classifier is Verdict in the form ledger.Client.Acquire takes, for a
// lock wanted by branch: an apply from the base branch itself restores
// main == production, so an orphaned lock does not stop it.
func (r *Remote) Classifier(branch string) ledger.Classifier {
	return func(h *ledger.HeldLock, snap *ledger.Snapshot) (ledger.Verdict, error) {
		r.Snap = snap
		v, err := r.Verdict(h)
		if err == nil && v.State == ledger.Orphaned && branch == r.BaseName {
			v.State = ledger.Stale
		}
		return v, err
	}
}

// Revert is another branch's change that production holds and this
// branch's apply would undo.
type Revert struct {
	Branch string `json:"branch"`
	Head   string `json:"head"`
	// Why: "lock" (it holds the project's lock) or "ledger" (its apply
	// is the project's latest).
	Why string `json:"why"`
}

func (v *Revert) String() string {
	return fmt.Sprintf("this plan would revert branch %s's apply (%s)", v.Branch, short7(v.Head))
}

func short7(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// Reverts says whether applying a project from head (of branch) would
// undo another branch's unmerged apply: the project's latest apply, or
// its lock, is another branch's, not on the base, and not in head's
// history.
func (r *Remote) Reverts(dir, ws string, head git.Hash, branch string) (*Revert, error) {
	if branch == r.BaseName {
		return nil, nil // applying the base is what restores main == production
	}
	key := ledger.Key(dir, ws)
	if h, err := r.Snap.Lock(key); err != nil {
		return nil, err
	} else if h != nil && h.Lock.Branch != branch {
		v, err := r.Verdict(h)
		if err != nil {
			return nil, err
		}
		if v.State != ledger.Stale && !r.contains(head, h.Lock.Head) {
			return &Revert{Branch: h.Lock.Branch, Head: h.Lock.Head, Why: "lock"}, nil
		}
	}
	latest, err := r.Snap.Latest(key)
	if err != nil || latest == nil {
		return nil, err
	}
	e := latest.Entry
	if e.Branch == branch || e.Branch == r.BaseName || e.Result == ledger.Failed && e.Counts == (ledger.Counts{}) {
		return nil, nil
	}
	if r.merged(dir, e.Head, e.InputsHash) || r.contains(head, e.Head) {
		return nil, nil
	}
	return &Revert{Branch: e.Branch, Head: e.Head, Why: "ledger"}, nil
}

// contains: sha is in head's history.
func (r *Remote) contains(head git.Hash, sha string) bool {
	h, ok := git.ParseHash(sha)
	if !ok {
		return false
	}
	if _, err := r.Repo.Commit(h); err != nil {
		return false
	}
	anc, err := r.Repo.IsAncestor(h, head)
	return err == nil && anc
}

// OutcomeUnknownError says a project's latest apply started and never
// completed: it was killed, or its completion could not be recorded.
type OutcomeUnknownError struct {
	Dir   string
	Entry *ledger.Entry
}

func (e *OutcomeUnknownError) Error() string {
	// The same words as for an apply killed before the ledger heard of it:
	// one situation, one message.
	return fmt.Sprintf("%s: an apply of %s started at %s and left no record (killed, or its machine stopped): what it changed is unknown",
		e.Dir, short(e.Entry.Head), e.Entry.Time.UTC().Format("2006-01-02 15:04:05Z"))
}

// applies are a project's applies as the remote's ledger holds them,
// newest first, in the shape of apply records. A started entry at the tip
// is an apply whose outcome nobody knows.
func (r *Remote) applies(dir, ws string) ([]*record.Apply, error) {
	hist, err := r.Snap.History(ledger.Key(dir, ws), 0)
	if err != nil {
		return nil, err
	}
	var out []*record.Apply
	completed := map[string]bool{}
	for _, s := range hist {
		e := s.Entry
		switch {
		case !e.Apply():
			continue
		case e.Result == ledger.Refused:
			completed[e.Completes] = true
			continue
		case e.Result == ledger.Started:
			if completed[e.ID] {
				continue
			}
			if len(out) == 0 {
				return nil, &OutcomeUnknownError{Dir: dir, Entry: e}
			}
			continue
		}
		completed[e.Completes] = true
		out = append(out, &record.Apply{Project: e.Project, Dir: e.Dir, Head: e.Head, Branch: e.Branch, InputsHash: e.InputsHash,
			Success: e.Result == ledger.Success, Destroy: e.Destroy, Dirty: e.Dirty, Error: e.Error, Finished: e.Time, Who: e.Who.String(), Force: e.Force})
	}
	return out, nil
}
