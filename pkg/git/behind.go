package git

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// Behind lists the commits of tip that head lacks (git rev-list
// head..tip), newest first, given their merge-base mb. The walk stops at
// mb, at the branch's own commits, and below mb's commit time, so it costs
// as many commits as the base moved, not the whole history.
func (r *Repo) Behind(head, tip, mb Hash) ([]Commit, error) {
	if tip == mb {
		return nil, nil
	}
	stop := map[Hash]bool{mb: true}
	// The branch's own commits (head back to mb) are not "behind".
	onBranch := []Hash{head}
	for len(onBranch) > 0 {
		h := onBranch[0]
		onBranch = onBranch[1:]
		if stop[h] {
			continue
		}
		stop[h] = true
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		onBranch = append(onBranch, c.Parents...)
		if len(stop) > 100000 {
			return nil, errors.New("the branch has more than 100,000 commits of its own")
		}
	}
	base, err := r.Commit(mb)
	if err != nil {
		return nil, err
	}
	var out []Commit
	seen := map[Hash]bool{}
	queue := []Hash{tip}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if stop[h] || seen[h] {
			continue
		}
		seen[h] = true
		c, err := r.Commit(h)
		if err != nil {
			return nil, err
		}
		if c.When < base.When {
			continue // older than the merge-base: history both sides share
		}
		out = append(out, c)
		queue = append(queue, c.Parents...)
	}
	return out, nil
}

// FetchError says the remote could not be reached or refused the fetch.
type FetchError struct {
	Remote, Ref string
	Err         error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("could not fetch %s from %s: %v", e.Ref, e.Remote, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// Fetch updates refs/remotes/<remote>/<branch> from the remote, and only
// that ref.
func (r *Repo) Fetch(remote, branch string) error {
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, remote, branch))
	r.mu.Lock()
	err := r.repo.Fetch(&gogit.FetchOptions{RemoteName: remote, RefSpecs: []config.RefSpec{spec}})
	r.mu.Unlock()
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return &FetchError{Remote: remote, Ref: "refs/heads/" + branch, Err: err}
	}
	return nil
}

// RemoteOf splits a remote-tracking ref (refs/remotes/origin/main) into
// remote and branch; ok is false for other refs.
func RemoteOf(ref string) (remote, branch string, ok bool) {
	rest, found := strings.CutPrefix(ref, "refs/remotes/")
	if !found {
		return "", "", false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:], true
		}
	}
	return "", "", false
}

// HooksDir is where git looks for hooks: core.hooksPath, else
// <common dir>/hooks.
func (r *Repo) HooksDir() string {
	cfg, err := r.repo.Config()
	if err == nil {
		if p := cfg.Raw.Section("core").Option("hooksPath"); p != "" {
			if !filepath.IsAbs(p) {
				return filepath.Join(r.Root, p)
			}
			return p
		}
	}
	return filepath.Join(r.CommonDir, "hooks")
}
