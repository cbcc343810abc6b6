// Package gitstore gives pkg/ledger its Store: pkg/git's RefStore, with
// git's errors translated into the ledger's.
package gitstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
)

// Store adapts a git.RefStore to ledger.Store.
type Store struct{ R *git.RefStore }

// Open opens the ledger store of repo on remote (see git.Repo.RefStore).
func Open(repo *git.Repo, remote string, explicit bool) (*Store, error) {
	r, err := repo.RefStore(remote, explicit, ledger.FileName)
	if err != nil {
		return nil, err
	}
	return &Store{R: r}, nil
}

func (s *Store) Where() string { return s.R.Where() }

func (s *Store) Fetch(ctx context.Context) (map[string]string, map[string]bool, error) {
	return s.R.Fetch(ctx)
}

func (s *Store) Cached() (map[string]string, error) { return s.R.Cached() }

func (s *Store) Read(id string) ([]byte, []string, error) { return s.R.Read(id) }

func (s *Store) Write(data []byte, parents []string, message string) (string, error) {
	return s.R.Write(data, parents, message)
}

func (s *Store) Update(ctx context.Context, ups []ledger.Update) error {
	var gu []git.RefUpdate
	for _, u := range ups {
		gu = append(gu, git.RefUpdate{Ref: u.Ref, Old: u.Old, New: u.New})
	}
	err := s.R.Update(ctx, gu)
	if errors.Is(err, git.ErrRefConflict) {
		return fmt.Errorf("%w", ledger.ErrConflict)
	}
	return err
}

func (s *Store) SavePending(p ledger.Pending) error { return s.R.SavePending(p.Name, p.Data) }

func (s *Store) Pending() ([]ledger.Pending, error) {
	names, data, err := s.R.Pending()
	if err != nil {
		return nil, err
	}
	var out []ledger.Pending
	for i := range names {
		out = append(out, ledger.Pending{Name: names[i], Data: data[i]})
	}
	return out, nil
}

func (s *Store) DropPending(name string) error { return s.R.DropPending(name) }
