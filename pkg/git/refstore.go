package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// AtollRefs is the namespace of atoll's locks and ledger.
const AtollRefs = "refs/atoll/"

// RefStore reads and writes refs under refs/atoll/ on a remote with the
// git binary, so that the user's credentials work (ssh agent and config,
// credential helpers, http.extraheader), and keeps a mirror of them in the
// local repository. With no remote, the local repository's own refs are
// the store. Each update is a compare-and-swap: git push --atomic with a
// --force-with-lease per ref (locally: one git update-ref transaction).
type RefStore struct {
	repo *Repo
	// Remote is the remote's name; empty for the local repository.
	Remote string
	url    string
	// FileName is the file each commit's tree holds.
	FileName string
}

// RemoteMissingError says the configured remote does not exist.
type RemoteMissingError struct{ Remote string }

func (e *RemoteMissingError) Error() string {
	return fmt.Sprintf("the repository has no remote %q", e.Remote)
}

// RefStore opens the store on remote. explicit says the remote was
// configured: then it must exist. Otherwise a repository without that
// remote keeps the refs locally.
func (r *Repo) RefStore(remote string, explicit bool, fileName string) (*RefStore, error) {
	s := &RefStore{repo: r, FileName: fileName}
	out, err := r.gitOutput(context.Background(), nil, "remote", "get-url", "--push", remote)
	if err != nil {
		if explicit {
			return nil, &RemoteMissingError{Remote: remote}
		}
		return s, nil
	}
	s.Remote, s.url = remote, strings.TrimSpace(out)
	return s, nil
}

// Where names the store in messages.
func (s *RefStore) Where() string {
	if s.Remote == "" {
		return "this repository (no remote)"
	}
	return fmt.Sprintf("%s (%s)", s.Remote, redactURL(s.url))
}

// redactURL drops a password from a URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	// The user information ends the authority, which ends at the path,
	// query or fragment; an @ after that is no password's end.
	authority := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		authority = rest[:end]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		if user, _, ok := strings.Cut(authority[:at], ":"); ok {
			rest = user + ":***" + rest[at:]
		}
	}
	return scheme + "://" + rest
}

// gitCmdError is a git command that failed, with its message on one line.
type gitCmdError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *gitCmdError) Error() string {
	if e.Stderr != "" {
		return e.Stderr
	}
	return fmt.Sprintf("git %s: %v", strings.Join(e.Args, " "), e.Err)
}

func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}

func (r *Repo) gitOutput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	out, _, err := r.gitRun(ctx, stdin, args...)
	return out, err
}

// gitRun runs git in the work tree; it never prompts.
func (r *Repo) gitRun(ctx context.Context, stdin []byte, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Root
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		msg := oneLine(e.String())
		if ctx.Err() != nil {
			msg = "interrupted: " + msg
		}
		return o.String(), e.String(), &gitCmdError{Args: args, Stderr: msg, Err: err}
	}
	return o.String(), e.String(), nil
}

// Fetch reads refs/atoll/* and the branch names of the remote, and
// brings the objects of refs/atoll/* into the local mirror when they
// changed: one round trip when nothing did.
func (s *RefStore) Fetch(ctx context.Context) (map[string]string, map[string]bool, error) {
	if s.Remote == "" {
		refs, err := s.local("refs/atoll/", "refs/heads/")
		if err != nil {
			return nil, nil, err
		}
		return split(refs)
	}
	out, err := s.repo.gitOutput(ctx, nil, "ls-remote", s.Remote, "refs/heads/*", "refs/atoll/*")
	if err != nil {
		return nil, nil, err
	}
	remote := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		sha, ref, ok := strings.Cut(sc.Text(), "\t")
		if ok && (strings.HasPrefix(ref, AtollRefs) || strings.HasPrefix(ref, "refs/heads/")) {
			remote[ref] = sha
		}
	}
	atoll, branches, _ := split(remote)
	cached, err := s.Cached()
	if err != nil {
		return nil, nil, err
	}
	if !sameRefs(atoll, cached) {
		if _, err := s.repo.gitOutput(ctx, nil, "-c", "gc.auto=0", "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head",
			s.Remote, "+refs/atoll/*:refs/atoll/*"); err != nil {
			return nil, nil, err
		}
		s.repo.mu.Lock()
		s.repo.storage.Reindex()
		s.repo.mu.Unlock()
		if atoll, err = s.Cached(); err != nil {
			return nil, nil, err
		}
	}
	return atoll, branches, nil
}

func split(refs map[string]string) (map[string]string, map[string]bool, error) {
	atoll, branches := map[string]string{}, map[string]bool{}
	for ref, sha := range refs {
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			branches[b] = true
		} else {
			atoll[ref] = sha
		}
	}
	return atoll, branches, nil
}

func sameRefs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Cached returns the local refs/atoll/*: the remote's as last fetched.
func (s *RefStore) Cached() (map[string]string, error) {
	return s.local("refs/atoll/")
}

// local reads the local refs under prefixes (each ending in "/"): in
// process, the way go-git stores them (loose files and packed-refs), or
// with git for-each-ref when go-git cannot (refs in the reftable format,
// a ref file it cannot parse).
func (s *RefStore) local(prefixes ...string) (map[string]string, error) {
	if refs, ok := s.readRefs(prefixes); ok {
		return refs, nil
	}
	out, err := s.repo.gitOutput(context.Background(), nil, append([]string{"for-each-ref", "--format=%(objectname) %(refname)"}, prefixes...)...)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if sha, ref, ok := strings.Cut(l, " "); ok {
			refs[ref] = sha
		}
	}
	return refs, nil
}

// readRefs is local without starting git; ok is false when go-git
// cannot answer for sure. The caller holds no lock on repo.mu.
func (s *RefStore) readRefs(prefixes []string) (refs map[string]string, ok bool) {
	if _, err := os.Lstat(filepath.Join(s.repo.CommonDir, "reftable")); err == nil {
		return nil, false
	}
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	iter, err := s.repo.storage.IterReferences()
	if err != nil {
		return nil, false
	}
	defer iter.Close()
	refs = map[string]string{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name().String()
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			return nil
		}
		// A ref to no object is git's to answer: a ref file go-git reads
		// as some hash where git skips it with a warning, and a symbolic
		// ref (nothing atoll writes), whose Hash is zero.
		if s.repo.storage.HasEncodedObject(ref.Hash()) != nil {
			return errAskGit
		}
		refs[name] = ref.Hash().String()
		return nil
	})
	return refs, err == nil
}

var errAskGit = errors.New("ask git")

// Read returns the file of a commit written by Write, and its parents.
func (s *RefStore) Read(id string) ([]byte, []string, error) {
	h, ok := ParseHash(id)
	if !ok {
		return nil, nil, fmt.Errorf("%q is not an object id", id)
	}
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	c, err := object.GetCommit(s.repo.repo.Storer, toPlumbing(h))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", h.Short(), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", h.Short(), err)
	}
	f, err := tree.File(s.FileName)
	if err != nil {
		return nil, nil, fmt.Errorf("commit %s holds no %s", h.Short(), s.FileName)
	}
	text, err := f.Contents()
	if err != nil {
		return nil, nil, err
	}
	var parents []string
	for _, p := range c.ParentHashes {
		parents = append(parents, p.String())
	}
	return []byte(text), parents, nil
}

// Write stores data as the only file of a new commit.
func (s *RefStore) Write(data []byte, parents []string, message string) (string, error) {
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	st := s.repo.repo.Storer
	blob := st.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, err := blob.Writer()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	blobID, err := st.SetEncodedObject(blob)
	if err != nil {
		return "", err
	}
	tree := &object.Tree{Entries: []object.TreeEntry{{Name: s.FileName, Mode: filemode.Regular, Hash: blobID}}}
	to := st.NewEncodedObject()
	if err := tree.Encode(to); err != nil {
		return "", err
	}
	treeID, err := st.SetEncodedObject(to)
	if err != nil {
		return "", err
	}
	sig := object.Signature{Name: "atoll", Email: "atoll@localhost", When: time.Now()}
	c := &object.Commit{Author: sig, Committer: sig, Message: message + "\n", TreeHash: treeID}
	for _, p := range parents {
		h, ok := ParseHash(p)
		if !ok {
			return "", fmt.Errorf("%q is not an object id", p)
		}
		c.ParentHashes = append(c.ParentHashes, toPlumbing(h))
	}
	co := st.NewEncodedObject()
	if err := c.Encode(co); err != nil {
		return "", err
	}
	id, err := st.SetEncodedObject(co)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// RefUpdate is one compare-and-swap: Old "" means the ref must not exist,
// New "" deletes it.
type RefUpdate struct{ Ref, Old, New string }

// ErrRefConflict says a ref did not hold its expected value: another
// writer got there first. Nothing was updated.
var ErrRefConflict = errors.New("the ref changed since it was read")

// PushError says the remote could not be reached or refused the push for
// another reason than a lost compare-and-swap (credentials, permissions,
// a hook). Nothing was updated, or, when the connection broke after the
// remote accepted, the outcome is unknown to this side.
type PushError struct {
	Remote string
	Err    error
}

func (e *PushError) Error() string { return fmt.Sprintf("push to %s failed: %v", e.Remote, e.Err) }
func (e *PushError) Unwrap() error { return e.Err }

// Update applies all updates or none.
func (s *RefStore) Update(ctx context.Context, ups []RefUpdate) error {
	if s.Remote == "" {
		return s.updateLocal(ctx, ups)
	}
	args := []string{"push", "--atomic", "--porcelain", "--no-verify", s.Remote}
	var specs []string
	for _, u := range ups {
		args = append(args, "--force-with-lease="+u.Ref+":"+u.Old)
		specs = append(specs, u.New+":"+u.Ref)
	}
	out, stderr, err := s.repo.gitRun(ctx, nil, append(args, specs...)...)
	if err != nil {
		for _, l := range strings.Split(out, "\n") {
			if !strings.HasPrefix(l, "!") {
				continue
			}
			for _, why := range []string{"stale info", "fetch first", "non-fast-forward", "already exists"} {
				if strings.Contains(l, why) {
					return ErrRefConflict
				}
			}
		}
		// The remote checks the old value again under its own ref lock: a
		// writer that won between its advertisement and this push makes
		// it refuse with one of these.
		for _, why := range []string{"cannot lock ref", "but expected", "reference already exists", "failed to lock"} {
			if strings.Contains(stderr, why) || strings.Contains(out, why) {
				return ErrRefConflict
			}
		}
		msg := oneLine(stderr)
		if msg == "" {
			msg = oneLine(out)
		}
		return &PushError{Remote: s.Remote, Err: errors.New(msg)}
	}
	// Accepted: the mirror follows, so the next write starts from it.
	_ = s.updateLocal(ctx, mirrorUpdates(ups))
	return nil
}

// mirrorUpdates set the mirror to the new values whatever it held.
func mirrorUpdates(ups []RefUpdate) []RefUpdate {
	var out []RefUpdate
	for _, u := range ups {
		out = append(out, RefUpdate{Ref: u.Ref, Old: "*", New: u.New})
	}
	return out
}

func (s *RefStore) updateLocal(ctx context.Context, ups []RefUpdate) error {
	var b strings.Builder
	b.WriteString("start\n")
	for _, u := range ups {
		if u.Old == "*" && u.New == "" {
			fmt.Fprintf(&b, "delete %s\n", u.Ref)
		} else if u.Old == "*" {
			fmt.Fprintf(&b, "update %s %s\n", u.Ref, u.New)
		} else if u.New == "" {
			fmt.Fprintf(&b, "delete %s %s\n", u.Ref, u.Old)
		} else if u.Old == "" {
			fmt.Fprintf(&b, "create %s %s\n", u.Ref, u.New)
		} else {
			fmt.Fprintf(&b, "update %s %s %s\n", u.Ref, u.New, u.Old)
		}
	}
	b.WriteString("prepare\ncommit\n")
	_, err := s.repo.gitOutput(ctx, []byte(b.String()), "update-ref", "--stdin")
	if err != nil {
		var ge *gitCmdError
		if errors.As(err, &ge) && (strings.Contains(ge.Stderr, "cannot lock ref") || strings.Contains(ge.Stderr, "already exists")) {
			return ErrRefConflict
		}
		return err
	}
	return nil
}

func (s *RefStore) pendingDir() string { return filepath.Join(s.repo.CommonDir, "atoll", "pending") }

// SavePending keeps a file under .git/atoll/pending.
func (s *RefStore) SavePending(name string, data []byte) error {
	if err := os.MkdirAll(s.pendingDir(), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(s.pendingDir(), ".tmp-"+name)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.pendingDir(), name))
}

// Pending lists the kept files, oldest (by name) first.
func (s *RefStore) Pending() (names []string, data [][]byte, err error) {
	entries, err := os.ReadDir(s.pendingDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.pendingDir(), e.Name()))
		if err != nil {
			return nil, nil, err
		}
		names, data = append(names, e.Name()), append(data, b)
	}
	return names, data, nil
}

// DropPending removes a kept file.
func (s *RefStore) DropPending(name string) error {
	return os.Remove(filepath.Join(s.pendingDir(), filepath.Base(name)))
}

// ConfigValue reads a git configuration value as git sees it (all files,
// includes), "" when unset.
func (r *Repo) ConfigValue(key string) string {
	out, err := r.gitOutput(context.Background(), nil, "config", "--get", key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}
