package git

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// Behind lists the commits of tip that head lacks (git rev-list
// head..tip), newest first with tip leading, given their merge-base mb.
//
// Like git without a commit-graph, it trusts commit dates to stop early:
// it walks both sides at once, newest first, painting head's ancestors
// "not behind", and stops once every open path is painted and older than
// every commit it has kept. The merge-base's date is no bound: when the
// base merged the branch in, or two branches merged each other
// (criss-cross), the base holds commits older than the merge-base that
// head still lacks. Which commits are behind is decided at the end, since
// a commit kept early may be reached from head later along another path.
//
// In a shallow clone the walks stop at the boundary, as git's do; the
// answer is refused (*ShallowError) when a commit counted as behind has
// parents the clone lacks.
func (r *Repo) Behind(head, tip, mb Hash) ([]Commit, error) {
	if tip == mb {
		return nil, nil
	}
	ours := map[Hash]bool{}  // reachable from head: not behind
	pushed := map[Hash]int{} // 1: queued as the base's, 2: as head's
	done := map[Hash]int{}   // the same, once walked
	var q commitQueue
	push := func(h Hash, mine bool) error {
		as := 1
		if mine {
			as = 2
			ours[h] = true
		}
		if pushed[h] >= as || ours[h] && !mine {
			return nil
		}
		pushed[h] = as
		c, err := r.Commit(h)
		if err != nil {
			return err
		}
		heap.Push(&q, queued{c: c})
		return nil
	}
	if err := push(head, true); err != nil {
		return nil, err
	}
	if err := push(tip, false); err != nil {
		return nil, err
	}
	var kept []Commit
	cut := map[Hash]Hash{}
	oldest := int64(math.MaxInt64)
	for q.Len() > 0 {
		if q[0].c.When < oldest && q.all(ours) {
			break // only head's history is left, all of it older than what was kept
		}
		c := heap.Pop(&q).(queued).c
		mine := ours[c.SHA]
		as := 1
		if mine {
			as = 2
		}
		if done[c.SHA] >= as {
			continue
		}
		done[c.SHA] = as
		if len(done) > 100000 {
			return nil, errors.New("more than 100,000 commits since the merge-base")
		}
		parents, missing, err := r.knownParents(c)
		if err != nil {
			return nil, err
		}
		if !mine {
			kept = append(kept, c)
			oldest = min(oldest, c.When)
			if len(missing) > 0 {
				cut[c.SHA] = missing[0]
			}
		}
		for _, p := range parents {
			if err := push(p, mine); err != nil {
				return nil, err
			}
		}
	}
	var out []Commit
	for _, c := range kept {
		if ours[c.SHA] {
			continue
		}
		if m, ok := cut[c.SHA]; ok {
			// c is behind, and so may be its parents: the count depends on
			// history the clone does not have.
			return nil, &ShallowError{Missing: m, Need: "to count the base's commits this branch lacks"}
		}
		if c.SHA == tip {
			// First whatever its date says (clocks skew).
			out = append([]Commit{c}, out...)
			continue
		}
		out = append(out, c)
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
// that ref. The git binary fetches when there is one: it knows the
// credentials a CI checkout leaves (actions/checkout's http.extraheader),
// credential helpers, ssh configuration and url.insteadOf, which go-git
// does not. It never prompts.
func (r *Repo) Fetch(remote, branch string) error {
	spec := fmt.Sprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, remote, branch)
	if bin, err := exec.LookPath("git"); err == nil {
		cmd := exec.Command(bin, "fetch", "--quiet", "--no-tags", remote, spec)
		cmd.Dir = r.Root
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			// git's message, on one line: "fatal: ..." and its advice.
			var lines []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 {
				lines = []string{err.Error()}
			}
			return &FetchError{Remote: remote, Ref: "refs/heads/" + branch, Err: errors.New(strings.Join(lines, " "))}
		}
		// The objects may have arrived in a new pack file, which go-git
		// only sees once it indexes the packs again.
		r.mu.Lock()
		r.storage.Reindex()
		r.shallow = nil
		r.mu.Unlock()
		return nil
	}
	r.mu.Lock()
	r.shallow = nil
	err := r.repo.Fetch(&gogit.FetchOptions{RemoteName: remote, RefSpecs: []config.RefSpec{config.RefSpec(spec)}})
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

// HooksDir is where git looks for hooks. The git binary, which runs them,
// answers first: it reads core.hooksPath from every configuration file (a
// global one too, which go-git does not read) and expands "~/". Without
// it: the repository's core.hooksPath, else <common dir>/hooks.
func (r *Repo) HooksDir() string {
	cmd := exec.Command("git", "rev-parse", "--path-format=absolute", "--git-path", "hooks")
	cmd.Dir = r.Root
	if out, err := cmd.Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out))
	}
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

// Deepen fetches refs (full names on the remote: refs/heads/main,
// refs/pull/1/merge) into their remote-tracking names, with the whole of
// their history when the clone is shallow (git fetch --unshallow), so
// that the merge-base and the parents of a CI's merge commit are here. It
// needs the git binary, for the same reasons as Fetch. It never prompts.
func (r *Repo) Deepen(ctx context.Context, remote string, refs []string) error {
	args := []string{"fetch", "--quiet", "--no-tags"}
	if r.IsShallow() {
		args = append(args, "--unshallow")
	}
	args = append(args, remote)
	for _, ref := range refs {
		dst := ref
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			dst = "refs/remotes/" + remote + "/" + b
		} else if rest, ok := strings.CutPrefix(ref, "refs/"); ok {
			dst = "refs/remotes/" + rest // refs/pull/1/merge -> refs/remotes/pull/1/merge, as actions/checkout names it
		}
		args = append(args, "+"+ref+":"+dst)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return &FetchError{Remote: remote, Ref: strings.Join(refs, ", "), Err: errors.New("deepening a clone needs the git binary, which is not on PATH")}
	}
	if _, _, err := r.gitRun(ctx, nil, args...); err != nil {
		return &FetchError{Remote: remote, Ref: strings.Join(refs, ", "), Err: err}
	}
	r.mu.Lock()
	r.storage.Reindex()
	r.shallow = nil
	r.mu.Unlock()
	return nil
}
