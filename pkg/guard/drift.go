package guard

import "github.com/atoll-tf/atoll/pkg/ledger"

// LastApply is a project's latest apply that may have changed production,
// as the ledger holds it (nil: none), and whether the base contains the
// change it applied (by any merge method, as for locks). Refused applies
// and failed ones that changed nothing are passed over; a started entry
// nothing completed is an apply of unknown outcome and counts.
func (r *Remote) LastApply(dir, ws string) (*ledger.Stored, bool, error) {
	hist, err := r.Snap.History(ledger.Key(dir, ws), 0)
	if err != nil {
		return nil, false, err
	}
	completed := map[string]bool{}
	for i := range hist {
		e := hist[i].Entry
		if !e.Apply() {
			continue
		}
		if e.Completes != "" {
			completed[e.Completes] = true
		}
		switch {
		case e.Result == ledger.Refused, e.Result == ledger.Failed && e.Counts == (ledger.Counts{}):
			continue
		case e.Result == ledger.Started && completed[hist[i].ID]:
			continue
		}
		return &hist[i], r.merged(dir, e.Head, e.InputsHash), nil
	}
	return nil, false, nil
}
