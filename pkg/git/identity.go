package git

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
)

// RootCommits lists the commits without parents that h descends from: two
// clones of one repository share them, unrelated repositories do not. In a
// shallow clone they are unknown (git reads the boundary commits as
// parentless), and the answer is nil.
func (r *Repo) RootCommits(ctx context.Context, h Hash) ([]string, error) {
	if r.IsShallow() {
		return nil, nil
	}
	out, err := r.gitOutput(ctx, nil, "rev-list", "--max-parents=0", h.String())
	if err != nil {
		return nil, err
	}
	roots := strings.Fields(out)
	sort.Strings(roots)
	return roots, nil
}

// HasCommit reports whether the commit h is in the repository.
func (r *Repo) HasCommit(h Hash) bool {
	if !r.hasObject(h) {
		return false
	}
	_, err := r.Commit(h)
	return err == nil
}

// RemoteIdentity is the URL of remote, normalised so that the forms one
// repository is cloned by compare equal: no scheme, user, password or port,
// the host in lower case, no trailing ".git" or slash
// ("git@github.com:o/r.git" and "https://token@github.com/o/r" are both
// "github.com/o/r"). "" when the remote does not exist.
func (r *Repo) RemoteIdentity(remote string) string {
	out, err := r.gitOutput(context.Background(), nil, "remote", "get-url", remote)
	if err != nil {
		return ""
	}
	return NormalizeURL(strings.TrimSpace(out))
}

// NormalizeURL normalises a git remote URL (see RemoteIdentity).
func NormalizeURL(u string) string {
	host, path := "", u
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if scheme == "file" {
			return strings.TrimSuffix(filepath.Clean(rest), ".git")
		}
		host, path, _ = strings.Cut(rest, "/")
	} else if i := strings.Index(u, ":"); i > 0 && !strings.Contains(u[:i], "/") {
		host, path = u[:i], u[i+1:] // scp-like: [user@]host:path
	} else {
		return strings.TrimSuffix(filepath.Clean(u), ".git") // a local path
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	return strings.ToLower(host) + "/" + path
}
