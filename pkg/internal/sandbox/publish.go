package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Publish makes origin a bare repository holding work's objects, with
// main at work's main, and makes origin work's remote the way
// `git init --bare origin; git remote add origin; git push -u origin main;
// git remote set-head origin main` would: remote "origin" and branch
// "main" in work's configuration, refs/remotes/origin/main and
// refs/remotes/origin/HEAD. It writes the files instead of running the
// nine processes those commands are. The origin does not run
// `git gc --auto` after each push it receives (receive.autogc): tests
// push to it all the time and never need it packed.
func Publish(work, origin string) error {
	gitDir := filepath.Join(work, ".git")
	sha, err := readRef(gitDir, "refs/heads/main")
	if err != nil {
		return fmt.Errorf("publish %s: %w", work, err)
	}
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(origin, d), 0o755); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{
		"HEAD":   "ref: refs/heads/main\n",
		"config": "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n[receive]\n\tautogc = false\n",
	} {
		if err := os.WriteFile(filepath.Join(origin, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := copyObjects(filepath.Join(gitDir, "objects"), filepath.Join(origin, "objects")); err != nil {
		return err
	}
	abs, err := filepath.Abs(origin)
	if err != nil {
		return err
	}
	cfg, err := os.OpenFile(filepath.Join(gitDir, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cfg, "[remote \"origin\"]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n\tmerge = refs/heads/main\n", abs)
	if cerr := cfg.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for dir, refs := range map[string]map[string]string{
		origin: {"refs/heads/main": sha + "\n"},
		gitDir: {
			"refs/remotes/origin/main": sha + "\n",
			"refs/remotes/origin/HEAD": "ref: refs/remotes/origin/main\n",
		},
	} {
		for ref, content := range refs {
			if err := writeFile(filepath.Join(dir, filepath.FromSlash(ref)), content); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyObjects copies the loose objects and packs of one object directory
// into another, leaving the files it already has (objects are named by
// their content).
func copyObjects(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if rel == "info" {
				return filepath.SkipDir // alternates and the like are the source's own
			}
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Lstat(target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeFile(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// gitDirOf returns the git directory of a work tree: .git, or where a
// .git file (a submodule's, a linked worktree's) points.
func gitDirOf(dir string) (string, error) {
	p := filepath.Join(dir, ".git")
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return p, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if !ok {
		return "", fmt.Errorf("%s: not a gitdir file", p)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	if _, err := os.Stat(filepath.Join(target, "commondir")); err == nil {
		return "", errors.New("linked worktree") // refs live in two places: ask git
	}
	return target, nil
}

// headSHA reads the commit HEAD names in dir's repository, as
// `git rev-parse HEAD` would for a plain repository; an error means
// "ask git".
func headSHA(dir string) (string, error) {
	gitDir, err := gitDirOf(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	head := strings.TrimSpace(string(b))
	if ref, ok := strings.CutPrefix(head, "ref: "); ok {
		return readRef(gitDir, ref)
	}
	if isSHA(head) {
		return head, nil
	}
	return "", fmt.Errorf("HEAD is %q", head)
}

// readRef reads a loose or packed ref.
func readRef(gitDir, ref string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		if s := strings.TrimSpace(string(b)); isSHA(s) {
			return s, nil
		}
		return "", fmt.Errorf("%s is not a commit", ref)
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if err != nil {
		return "", fmt.Errorf("no ref %s", ref)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok && name == ref && isSHA(sha) {
			return sha, nil
		}
	}
	return "", fmt.Errorf("no ref %s", ref)
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// PushTo does what `git push -q [-f] ORIGIN REFSPEC...` does when git
// would accept the push: it copies work's objects into the bare origin,
// sets each destination ref there and, for branches, work's
// refs/remotes/origin/<branch>. A REFSPEC is SRC[:DST], SRC a branch, HEAD
// or a commit, DST a branch or a full ref (default: SRC's branch). It
// checks nothing a receiving git would (fast-forward, hooks), so use it
// for a fixture's setup, never for a push under test.
func PushTo(work, origin string, refspecs ...string) error {
	gitDir, err := gitDirOf(work)
	if err != nil {
		return err
	}
	type update struct{ ref, sha string }
	var updates []update
	for _, spec := range refspecs {
		src, dst, _ := strings.Cut(strings.TrimPrefix(spec, "+"), ":")
		var sha string
		switch {
		case isSHA(src):
			sha = src
		case src == "HEAD":
			sha, err = headSHA(work)
		case strings.HasPrefix(src, "refs/"):
			sha, err = readRef(gitDir, src)
		default:
			sha, err = readRef(gitDir, "refs/heads/"+src)
		}
		if err != nil {
			return fmt.Errorf("push %s: %w", spec, err)
		}
		if dst == "" {
			if src == "HEAD" || isSHA(src) {
				return fmt.Errorf("push %s: name the destination", spec)
			}
			dst = src
		}
		if !strings.HasPrefix(dst, "refs/") {
			dst = "refs/heads/" + dst
		}
		updates = append(updates, update{dst, sha})
	}
	if err := copyObjects(filepath.Join(gitDir, "objects"), filepath.Join(origin, "objects")); err != nil {
		return err
	}
	for _, u := range updates {
		if err := writeFile(filepath.Join(origin, filepath.FromSlash(u.ref)), u.sha+"\n"); err != nil {
			return err
		}
		if branch, ok := strings.CutPrefix(u.ref, "refs/heads/"); ok {
			if err := writeFile(filepath.Join(gitDir, "refs", "remotes", "origin", filepath.FromSlash(branch)), u.sha+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}

// OriginOf reads the url of work's remote "origin" from its configuration
// (a local path, or a file:// URL, made absolute), as a fixture made it.
func OriginOf(work string) (string, error) {
	gitDir, err := gitDirOf(work)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "config"))
	if err != nil {
		return "", err
	}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			in = line == `[remote "origin"]`
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !in || !ok || strings.TrimSpace(k) != "url" {
			continue
		}
		url := strings.TrimPrefix(strings.TrimSpace(v), "file://")
		if strings.Contains(url, "://") || strings.HasPrefix(url, `"`) {
			return "", fmt.Errorf("%s: origin %s is not a local path", work, url)
		}
		if !filepath.IsAbs(url) {
			url = filepath.Join(work, url)
		}
		return url, nil
	}
	return "", fmt.Errorf("%s: no remote origin", work)
}

// SetUpstream makes origin's branch the upstream of work's branch, as
// `git push -u origin BRANCH` does.
func SetUpstream(work, branch string) error {
	gitDir, err := gitDirOf(work)
	if err != nil {
		return err
	}
	cfg, err := os.OpenFile(filepath.Join(gitDir, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cfg, "[branch %q]\n\tremote = origin\n\tmerge = refs/heads/%s\n", branch, branch)
	if cerr := cfg.Close(); err == nil {
		err = cerr
	}
	return err
}
