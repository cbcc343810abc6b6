package guard

import (
	"sort"
	"time"

	"github.com/atoll-tf/atoll/pkg/ledger"
)

// LockInfo is one lock and its state, as atoll locks shows it.
type LockInfo struct {
	Project   string          `json:"project"`
	Dir       string          `json:"dir"`
	Workspace string          `json:"workspace,omitempty"`
	Branch    string          `json:"branch"`
	Head      string          `json:"head"`
	Who       ledger.Identity `json:"who"`
	Time      time.Time       `json:"time"`
	Age       string          `json:"age"`
	Reason    string          `json:"reason,omitempty"`
	State     ledger.State    `json:"state"`
	Why       string          `json:"why"`
	Do        string          `json:"do"`
	Ref       string          `json:"ref"`
	ID        string          `json:"id"`

	held *ledger.HeldLock
}

// LocksReport is what atoll locks prints.
type LocksReport struct {
	Where string     `json:"where"`
	Base  string     `json:"base"`
	Locks []LockInfo `json:"locks"`
	// Released are the stale locks atoll locks prune released.
	Released []LockInfo `json:"released,omitempty"`
}

// Locks lists every lock with its state.
func (r *Remote) Locks(now time.Time) (*LocksReport, error) {
	held, err := r.Snap.Locks()
	if err != nil {
		return nil, err
	}
	rep := &LocksReport{Where: r.Snap.Where, Base: r.BaseName, Locks: []LockInfo{}}
	for _, h := range held {
		v, err := r.Verdict(h)
		if err != nil {
			return nil, err
		}
		l := h.Lock
		rep.Locks = append(rep.Locks, LockInfo{Project: l.Project, Dir: l.Dir, Workspace: l.Workspace, Branch: l.Branch, Head: l.Head, Who: l.Who,
			Time: l.Time, Age: ledger.Age(now, l.Time), Reason: l.Reason, State: v.State, Why: v.Why, Do: v.Do, Ref: h.Ref, ID: h.ID, held: h})
	}
	return rep, nil
}

// StaleLocks are the report's stale locks, to release.
func (rep *LocksReport) StaleLocks() []*ledger.HeldLock {
	var out []*ledger.HeldLock
	for _, l := range rep.Locks {
		if l.State == ledger.Stale {
			out = append(out, l.held)
		}
	}
	return out
}

// HistoryEntry is one ledger entry, as atoll history shows it.
type HistoryEntry struct {
	ID string `json:"id"`
	ledger.Entry
}

// HistoryReport is what atoll history prints, newest first.
type HistoryReport struct {
	Where   string         `json:"where"`
	Entries []HistoryEntry `json:"entries"`
}

// History reads the ledgers of dirs (all when empty), newest first, at
// most n entries (n <= 0: all).
func (r *Remote) History(keys []string, n int) (*HistoryReport, error) {
	if len(keys) == 0 {
		keys = r.Snap.Keys()
	}
	rep := &HistoryReport{Where: r.Snap.Where, Entries: []HistoryEntry{}}
	for _, k := range keys {
		hist, err := r.Snap.History(k, n)
		if err != nil {
			return nil, err
		}
		for _, s := range hist {
			rep.Entries = append(rep.Entries, HistoryEntry{ID: s.ID, Entry: *s.Entry})
		}
	}
	sort.SliceStable(rep.Entries, func(i, j int) bool { return rep.Entries[i].Time.After(rep.Entries[j].Time) })
	if n > 0 && len(rep.Entries) > n {
		rep.Entries = rep.Entries[:n]
	}
	return rep, nil
}

// ProjectStatus is one project's production, as atoll status shows it.
type ProjectStatus struct {
	Project   string `json:"project"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace,omitempty"`
	// Applied is the latest apply (nil: never applied, as the ledger knows).
	Applied *ledger.Entry `json:"applied,omitempty"`
	// OnBase: the base branch contains what production was last applied
	// from ("yes", "no", "unknown" when the outcome is unknown, "-" never
	// applied).
	OnBase string    `json:"on_base"`
	Lock   *LockInfo `json:"lock,omitempty"`
}

// StatusReport is what atoll status prints: is main == production?
type StatusReport struct {
	Where    string          `json:"where"`
	Base     string          `json:"base"`
	BaseSHA  string          `json:"base_sha"`
	Projects []ProjectStatus `json:"projects"`
	// InSync: every applied project's production is on the base.
	InSync bool `json:"in_sync"`
}

// Status answers, per project, "is the base == production?".
func (r *Remote) Status(projects [][2]string, names map[string]string, now time.Time) (*StatusReport, error) {
	locks, err := r.Locks(now)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*LockInfo{}
	for i := range locks.Locks {
		l := &locks.Locks[i]
		byKey[ledger.Key(l.Dir, l.Workspace)] = l
	}
	seen := map[string]bool{}
	var keys [][2]string
	for _, p := range projects {
		seen[ledger.Key(p[0], p[1])] = true
		keys = append(keys, p)
	}
	for _, k := range append(r.Snap.Keys(), keysOf(byKey)...) {
		if !seen[k] {
			seen[k] = true
			if d, w, ok := ledger.ParseKey(k); ok {
				keys = append(keys, [2]string{d, w})
			}
		}
	}
	rep := &StatusReport{Where: r.Snap.Where, Base: r.BaseName, BaseSHA: r.BaseTip.String(), Projects: []ProjectStatus{}, InSync: true}
	for _, p := range keys {
		key := ledger.Key(p[0], p[1])
		ps := ProjectStatus{Project: names[p[0]], Dir: p[0], Workspace: p[1], OnBase: "-", Lock: byKey[key]}
		if ps.Project == "" {
			ps.Project = p[0]
		}
		hist, err := r.Snap.History(key, 0)
		if err != nil {
			return nil, err
		}
		for _, s := range hist {
			e := s.Entry
			if !e.Apply() || e.Result == ledger.Refused {
				continue
			}
			ps.Applied = e
			break
		}
		if e := ps.Applied; e != nil {
			switch {
			case e.Result == ledger.Started:
				ps.OnBase = "unknown"
			case r.merged(e.Dir, e.Head, e.InputsHash):
				ps.OnBase = "yes"
			default:
				ps.OnBase = "no"
			}
			if ps.OnBase != "yes" {
				rep.InSync = false
			}
		}
		rep.Projects = append(rep.Projects, ps)
	}
	sort.Slice(rep.Projects, func(i, j int) bool { return rep.Projects[i].Dir < rep.Projects[j].Dir })
	return rep, nil
}

func keysOf(m map[string]*LockInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
