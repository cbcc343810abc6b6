// Package bundle is the file that carries saved plans from the job that
// planned them to the job that applies them, on another machine, in
// another clone, under another work dir: a gzip-compressed tar holding a
// manifest first, then each plan's record, plan file, JSON, text and log.
//
// Nothing in it is an absolute path: the records name their plan file,
// log and checkout relative to the record store, and the applying side
// roots them in its own. The manifest names what the plans were made from
// (repository, commit, base, merge-base, atoll version) and the size and
// SHA-256 of every file; it is sealed by its own checksum.
//
// A bundle is untrusted input: the reader takes only regular files with
// the names the manifest lists, once each, no larger than they say and
// than their kind allows, written below a private directory without ever
// following a link. The checksums detect damage, not an attacker (anyone
// who can write the bundle can compute them), as for records.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atoll-tf/atoll/pkg/record"
)

// FormatVersion changes when the layout of a bundle does.
const FormatVersion = 1

// ManifestName is the first entry of every bundle.
const ManifestName = "atoll-bundle.json"

// Files is what a bundle may hold of each plan, by file name (the files of
// a plan directory, record.PlanDirFiles, but the log of an apply: a
// bundle carries plans that were not applied yet).
var Files = []string{record.RecordFile, record.PlanFile, record.PlanJSONFile, record.PlanTextFile, record.PlanLogFile}

// required are the files every plan in a bundle has.
var required = []string{record.RecordFile, record.PlanFile}

// Manifest describes a bundle.
type Manifest struct {
	Format       int        `json:"format"`
	AtollVersion string     `json:"atoll_version"`
	Repository   Repository `json:"repository"`
	// Head is the commit planned; Branch the branch it was on, if any.
	Head   string `json:"head"`
	Branch string `json:"branch,omitempty"`
	// BaseRef and BaseSHA are the base branch the plans compared with, and
	// the commit it pointed to; MergeBase is HEAD's merge-base with it.
	BaseRef   string    `json:"base_ref"`
	BaseSHA   string    `json:"base_sha"`
	MergeBase string    `json:"merge_base"`
	Created   time.Time `json:"created"`
	Plans     []Plan    `json:"plans"`
	Checksum  string    `json:"checksum"`
}

// Repository identifies the repository a bundle was made in.
type Repository struct {
	// RootCommits are the parentless commits HEAD descends from: what
	// every clone of the repository shares, whatever its URL. Empty when
	// the planning clone was shallow.
	RootCommits []string `json:"root_commits,omitempty"`
	// Origin is the normalised URL of the remote (no credentials), for
	// people reading messages; it is not compared.
	Origin string `json:"origin,omitempty"`
}

// Plan lists the files of one project's plan.
type Plan struct {
	Project string `json:"project"`
	Dir     string `json:"dir"`
	Files   []File `json:"files"`
}

// File is one entry of the bundle.
type File struct {
	// Name is the entry's name: plans/<slug>/<file>.
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// EntryName is the name under which a bundle holds file of the plan of
// the project in dir.
func EntryName(dir, file string) string {
	return "plans/" + record.Slug(dir) + "/" + file
}

// seal computes the manifest's checksum: SHA-256 of its JSON with the
// checksum empty.
func (m *Manifest) seal() string {
	c := *m
	c.Checksum = ""
	b, _ := json.Marshal(&c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// InvalidError says a file is not an intact bundle: truncated, damaged,
// altered, or shaped to escape its directory. Nothing was imported.
type InvalidError struct {
	File string
	Why  string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s is not an intact atoll bundle: %s", e.File, e.Why)
}

// Hint says how to fix it.
func (e *InvalidError) Hint() string {
	return "a bundle must arrive exactly as atoll plan --bundle wrote it: download it again, or plan again and make a new one (atoll plan --bundle FILE)"
}

// MismatchError says an intact bundle does not fit where it is applied.
type MismatchError struct {
	Why  string
	Fix  string
	File string
}

func (e *MismatchError) Error() string { return fmt.Sprintf("%s: %s", e.File, e.Why) }

// Hint says how to fix it.
func (e *MismatchError) Hint() string { return e.Fix }

// check validates the manifest's own fields: its seal, and that every plan
// names a clean project directory and only the files a plan has, each
// once, within its kind's size limit.
func (m *Manifest) check(file string, lim Limits) error {
	bad := func(format string, args ...any) error {
		return &InvalidError{File: file, Why: fmt.Sprintf(format, args...)}
	}
	if m.Checksum != m.seal() {
		return bad("the manifest was altered after it was written (checksum mismatch)")
	}
	for _, c := range []struct{ name, sha string }{{"head", m.Head}, {"base_sha", m.BaseSHA}, {"merge_base", m.MergeBase}} {
		if (c.sha != "" || c.name == "head") && !isSHA(c.sha, 40) {
			return bad("the manifest's %s %q is not a commit id", c.name, c.sha)
		}
	}
	dirs := map[string]bool{}
	names := map[string]bool{}
	var total int64
	for _, p := range m.Plans {
		if !cleanPath(p.Dir) {
			return bad("the manifest names a project directory %q that is not a clean relative path", p.Dir)
		}
		if dirs[p.Dir] {
			return bad("the manifest lists project %s twice", p.Dir)
		}
		dirs[p.Dir] = true
		has := map[string]bool{}
		for _, f := range p.Files {
			base := path.Base(f.Name)
			max, ok := lim.max(base)
			if !ok || f.Name != EntryName(p.Dir, base) {
				return bad("the manifest lists %q, which is no file of the plan of %s", f.Name, p.Dir)
			}
			if names[f.Name] {
				return bad("the manifest lists %s twice", f.Name)
			}
			names[f.Name], has[base] = true, true
			if f.Size < 0 || f.Size > max {
				return bad("the manifest says %s has %d bytes; a %s may have at most %d", f.Name, f.Size, base, max)
			}
			if !isSHA(f.SHA256, 64) {
				return bad("the manifest's checksum of %s is not a SHA-256", f.Name)
			}
			total += f.Size
		}
		for _, r := range required {
			if !has[r] {
				return bad("the plan of %s has no %s", p.Dir, r)
			}
		}
	}
	if total > lim.Total {
		return bad("its files add up to %d bytes, more than the %d a bundle may hold", total, lim.Total)
	}
	return nil
}

// cleanPath reports whether p is a clean, relative, slash-separated path
// of names: no "." or ".." components, no empty ones, no backslash, NUL
// or control character.
func cleanPath(p string) bool {
	if p == "" || len(p) > 4096 || !utf8.ValidString(p) || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

func isSHA(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Limits bound what a reader accepts.
type Limits struct {
	Manifest int64
	Record   int64
	Plan     int64
	Text     int64
	// Total bounds the sum of all files.
	Total int64
}

// DefaultLimits are those of the files atoll reads from a work dir (a
// record 16 MiB, a plan file 1 GiB), with room for the logs.
var DefaultLimits = Limits{Manifest: 16 << 20, Record: 16 << 20, Plan: 1 << 30, Text: 256 << 20, Total: 8 << 30}

func (l Limits) max(base string) (int64, bool) {
	switch base {
	case record.RecordFile:
		return l.Record, true
	case record.PlanFile, record.PlanJSONFile:
		return l.Plan, true
	case record.PlanTextFile, record.PlanLogFile:
		return l.Text, true
	}
	return 0, false
}
