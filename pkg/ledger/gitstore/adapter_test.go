package gitstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
)

// The adapter's own rules, on one repository without a remote: git's
// conflict is the ledger's, other errors pass as they are, kept entries
// come back oldest first. Not parallel, so that it runs first: it takes
// a second, the tests of the remote protocols minutes.
func TestAdapter(t *testing.T) {
	dir := t.TempDir()
	if _, err := sandbox.Git(dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	repo, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if _, err := gitstore.Open(repo, "nowhere", true); err == nil {
		t.Error("an explicit remote that does not exist is accepted")
	}
	s, err := gitstore.Open(repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := s.Write([]byte(`{"x":1}`), nil, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, []ledger.Update{{Ref: "refs/atoll/locks/a", New: id}}); err != nil {
		t.Fatal(err)
	}
	// The ref exists now: creating it again loses the race.
	err = s.Update(ctx, []ledger.Update{{Ref: "refs/atoll/locks/a", New: id}})
	if !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("a lost compare-and-swap: %v, want ledger.ErrConflict", err)
	}
	if data, parents, err := s.Read(id); err != nil || string(data) != `{"x":1}` || len(parents) != 0 {
		t.Errorf("read %q %v %v", data, parents, err)
	}
	refs, err := s.Cached()
	if err != nil || refs["refs/atoll/locks/a"] != id {
		t.Errorf("cached %v %v", refs, err)
	}

	if p, err := s.Pending(); err != nil || len(p) != 0 {
		t.Errorf("nothing kept: %v %v", p, err)
	}
	for _, n := range []string{"2-b.json", "1-a.json"} {
		if err := s.SavePending(ledger.Pending{Name: n, Data: []byte(n)}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Pending()
	want := []ledger.Pending{{Name: "1-a.json", Data: []byte("1-a.json")}, {Name: "2-b.json", Data: []byte("2-b.json")}}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("kept %+v %v, want %+v", p, err, want)
	}
	if err := s.DropPending("1-a.json"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(); len(p) != 1 || p[0].Name != "2-b.json" {
		t.Errorf("after a drop: %+v", p)
	}
}
