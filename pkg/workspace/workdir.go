// Package workspace keeps scratch checkouts of commits: the files a set of
// projects needs, written from git objects into a directory of their own, so
// Terraform never runs in the user's work tree (nor in geodesic's /conf) and
// several branches can plan the same project at once.
//
// Layout: <workdir>/<repo-id>/<short-sha>/<project dir>. Project paths are
// kept, so geodesic's ${PWD##*/conf/} and relative module sources such as
// ../../modules/x behave as they do in the repository.
package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// EnvWorkdir overrides the default workdir.
const EnvWorkdir = "ATOLL_WORKDIR"

// wOK is access(2)'s W_OK, which package syscall does not name.
const wOK = 0x2

// DefaultWorkdir is where checkouts live unless the caller says otherwise:
// /localhost/.atoll when /localhost is a writable directory (geodesic mounts
// the host's home there, so checkouts and provider downloads survive the
// container), else ${XDG_CACHE_HOME:-~/.cache}/atoll. It is empty when
// neither can be determined (no HOME).
func DefaultWorkdir() string { return defaultWorkdir("/localhost", os.Getenv) }

func defaultWorkdir(localhost string, getenv func(string) string) string {
	if fi, err := os.Stat(localhost); err == nil && fi.IsDir() && syscall.Access(localhost, wOK) == nil {
		return filepath.Join(localhost, ".atoll")
	}
	// The XDG spec says a relative XDG_CACHE_HOME is invalid and is ignored.
	if c := getenv("XDG_CACHE_HOME"); filepath.IsAbs(c) {
		return filepath.Join(c, "atoll")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "atoll")
	}
	return ""
}

// Resolve picks the workdir: flagValue when set, else ATOLL_WORKDIR, else
// DefaultWorkdir. A leading ~/ is expanded (values from atoll.yaml are not
// expanded by a shell) and the result is absolute.
func Resolve(flagValue string) (string, error) {
	return resolve(flagValue, os.Getenv, "/localhost")
}

func resolve(flagValue string, getenv func(string) string, localhost string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = getenv(EnvWorkdir)
	}
	if dir == "" {
		dir = defaultWorkdir(localhost, getenv)
	}
	if dir == "" {
		return "", fmt.Errorf("no directory for scratch checkouts: HOME is not set; set %s", EnvWorkdir)
	}
	if rest, ok := strings.CutPrefix(dir, "~"); ok && (rest == "" || rest[0] == '/') {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("workdir %q: cannot expand ~ because HOME is not set", dir)
		}
		dir = home + rest
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("workdir %q: %w", dir, err)
	}
	return abs, nil
}

// RepoID names a repository's directory under the workdir: a readable name
// and 8 hex digits of a hash of the shared git directory's absolute path. It
// is derived from the common git directory, not the work tree, so linked
// worktrees of one repository share their checkouts, while two clones that
// happen to have the same name do not.
func RepoID(repo *git.Repo) string {
	common := filepath.Clean(repo.CommonDir)
	if real, err := filepath.EvalSymlinks(common); err == nil {
		common = real
	}
	name := filepath.Base(common)
	if name == ".git" {
		name = filepath.Base(filepath.Dir(common))
	} else {
		name = strings.TrimSuffix(name, ".git") // a bare repository
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, name)
	if strings.Trim(name, ".") == "" {
		name = "repo"
	}
	sum := sha256.Sum256([]byte(common))
	return name + "-" + hex.EncodeToString(sum[:4])
}

// CheckoutDir is where the checkout of commit lives (whether or not it
// has been materialised).
func CheckoutDir(workdir string, repo *git.Repo, commit git.Hash) string {
	return filepath.Join(workdir, RepoID(repo), commit.Short())
}

// CheckWorkdir refuses a workdir whose checkouts Terraform would run in
// where atoll promises it never does, or that another user could change
// (see SecureWorkdir), and makes the repository's directory in it.
func CheckWorkdir(workdir string, repo *git.Repo) error {
	if !filepath.IsAbs(workdir) {
		return fmt.Errorf("workdir %q is not an absolute path", workdir)
	}
	dir := filepath.Clean(workdir)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	root := repo.Root
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	for _, forbidden := range []string{root, "/conf"} {
		if within(dir, forbidden) {
			return fmt.Errorf("workdir %s is inside %s: scratch checkouts must live outside the repository's work tree; choose another workdir (%s)", workdir, forbidden, EnvWorkdir)
		}
	}
	if err := SecureWorkdir(workdir); err != nil {
		return err
	}
	if err := safefs.MkdirPrivate(workdir, filepath.Join(workdir, RepoID(repo))); err != nil {
		return err
	}
	return nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// SecureWorkdir makes workdir a directory that only the current user can
// change, as ssh demands of ~/.ssh: whoever can write it can replace a
// reviewed plan and its record with their own, which apply then runs. A
// missing workdir is created 0700 (with its missing parents); an existing
// one must be owned by the current user and not writable by group or
// others. A symlinked workdir is resolved, but only a link of the current
// user's or root's is followed. No directory above it may be writable by
// everyone unless it is sticky (like /tmp), or anyone could move it away.
func SecureWorkdir(workdir string) error {
	var missing []string
	existing := workdir
	for {
		_, err := os.Lstat(existing)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return DescribeError(err)
		}
		missing = append(missing, existing)
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	above := existing
	if above == workdir {
		above = filepath.Dir(workdir)
	}
	if err := checkAncestors(above); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return DescribeError(err)
		}
	}
	fi, err := os.Lstat(workdir)
	if err != nil {
		return err
	}
	real := workdir
	if fi.Mode()&fs.ModeSymlink != 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && st.Uid != uint32(os.Geteuid()) {
			return &safefs.NotPrivateError{Path: workdir, Why: fmt.Sprintf("is a symlink owned by uid %d", st.Uid),
				Fix: "use a directory of your own (--workdir, ATOLL_WORKDIR or workdir: in atoll.yaml; the default is ~/.cache/atoll)"}
		}
		if real, err = filepath.EvalSymlinks(workdir); err != nil {
			target, _ := os.Readlink(workdir)
			return &WorkdirError{Path: workdir, Err: err, Cause: "it is a symbolic link to " + target + ", which does not exist",
				Fix: "create " + target + " (mode 0700), remove the link, or choose another work dir (--workdir, " + EnvWorkdir + ")"}
		}
		if err := checkAncestors(filepath.Dir(real)); err != nil {
			return err
		}
		if fi, err = os.Lstat(real); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return &safefs.NotPrivateError{Path: real, Why: "is not a directory", Fix: "remove it, or choose another workdir"}
	}
	return safefs.CheckPrivate(real, fi)
}

// checkAncestors refuses a path with a component that everyone can write
// and that is not sticky.
func checkAncestors(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return &safefs.NotPrivateError{Path: p, Why: fmt.Sprintf("is writable by everyone and not sticky (mode %04o), so anyone could move the workdir below it away", fi.Mode().Perm()),
				Fix: fmt.Sprintf("chmod o-w %s, or choose a workdir below directories only you or root can write", p)}
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
}
