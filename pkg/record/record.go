// Package record keeps the plan and apply records that bind Terraform work
// to the commit it was made from. Records are JSON files written
// atomically and sealed with a checksum, so a half-written, truncated or
// accidentally edited record is detected and refused, never trusted.
//
// The checksum detects accidents, not an attacker: anyone who can write
// the work dir can compute it for a forged record. So nothing shown as
// what Terraform did is taken from a record (an apply's counts come from
// Terraform's own output), and the work dir must be writable by its owner
// alone.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// FormatVersion changes when the record layout does.
const FormatVersion = 1

// The files of a plan directory (Store.PlanDir). docs/plan-and-apply.md
// lists them; a test keeps that list and PlanDirFiles equal.
const (
	RecordFile   = "record.json"
	PlanFile     = "plan.tfplan"
	PlanJSONFile = PlanFile + ".json" // terraform show -json of the plan, with atoll plan --plan-json
	PlanTextFile = "plan.txt"         // terraform show of the plan, with --plan-text or --output markdown
	PlanLogFile  = "plan.log"         // Terraform's output of init and plan
	ApplyLogFile = "plan-apply.log"   // Terraform's output of init and apply
)

// PlanDirFiles are the files a plan directory may hold.
var PlanDirFiles = []string{RecordFile, PlanFile, PlanJSONFile, PlanTextFile, PlanLogFile, ApplyLogFile}

// Counts are a plan's resource changes; a replacement counts once.
type Counts struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// Any reports whether the counts describe any change.
func (c Counts) Any() bool { return c.Add+c.Change+c.Replace+c.Destroy+c.Import > 0 }

// Plan binds a saved plan to what it was made from.
type Plan struct {
	Format    int    `json:"format"`
	Project   string `json:"project"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace"`
	Head      string `json:"head"`
	Branch    string `json:"branch,omitempty"`
	BaseRef   string `json:"base_ref"`
	BaseSHA   string `json:"base_sha"`
	MergeBase string `json:"merge_base"`
	// InputsHash identifies exactly the files the plan was made from.
	InputsHash       string    `json:"inputs_hash"`
	TerraformBin     string    `json:"terraform_bin"`
	TerraformVersion string    `json:"terraform_version"`
	Time             time.Time `json:"time"`
	Counts           Counts    `json:"counts"`
	HasChanges       bool      `json:"has_changes"`
	Destroy          bool      `json:"destroy,omitempty"`
	// Dirty plans were made from the work tree, not from a commit.
	Dirty bool `json:"dirty,omitempty"`
	// Workdir is the scratch directory the plan must be applied in.
	Workdir    string `json:"workdir"`
	PlanFile   string `json:"plan_file"`
	PlanSHA256 string `json:"plan_sha256"`
	LogFile    string `json:"log_file"`
	// Env binds the plan to the environment Terraform was given.
	Env *Env `json:"env,omitempty"`
	// Consumed is set, before Terraform starts, by the apply that uses the
	// plan: a plan is never applied twice, even after a failed apply.
	Consumed   bool       `json:"consumed,omitempty"`
	ConsumedAt *time.Time `json:"consumed_at,omitempty"`
	// NotApplied is set on a consumed plan that Terraform refused (stale)
	// before changing anything: that apply has an outcome, and no record.
	NotApplied bool `json:"not_applied,omitempty"`
	// Unfinished is carried over from the plan this one replaced when an
	// apply of that plan never finished: re-planning does not make its
	// outcome known (see Store.Outcome).
	Unfinished *Unfinished `json:"unfinished_apply,omitempty"`
	Checksum   string      `json:"checksum"`
}

// Unfinished is an apply that consumed its plan and left no apply record:
// it was killed, or its machine stopped. What it changed is unknown.
type Unfinished struct {
	Head string `json:"head"`
	// Started is when the apply consumed the plan, just before Terraform
	// started applying it.
	Started time.Time `json:"started"`
}

// Env is what a plan record keeps of a project's environment: names and
// salted digests, never values.
type Env struct {
	// Hash combines Digests.
	Hash string `json:"hash"`
	// Salt keys the digests (see pkg/env Project.Digests).
	Salt string `json:"salt"`
	// Digests maps each variable the plan is bound to to its digest.
	Digests map[string]string `json:"digests"`
	// Envrc is the .envrc direnv evaluated, "" when none.
	Envrc string `json:"envrc,omitempty"`
	// Dropped and Passed name the caller's project-specific variables that
	// were left out, or kept by env.pass.
	Dropped []string `json:"dropped,omitempty"`
	Passed  []string `json:"passed,omitempty"`
}

// Apply records one apply (or destroy) of one project.
type Apply struct {
	Format     int       `json:"format"`
	Project    string    `json:"project"`
	Dir        string    `json:"dir"`
	Head       string    `json:"head"`
	Branch     string    `json:"branch,omitempty"`
	InputsHash string    `json:"inputs_hash"`
	Success    bool      `json:"success"`
	Destroy    bool      `json:"destroy,omitempty"`
	Counts     Counts    `json:"counts"`
	Changed    []string  `json:"changed,omitempty"`
	Error      string    `json:"error,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Who        string    `json:"who"`
	// Force is the reason given to override a refusal, if any.
	Force string `json:"force,omitempty"`
	// Dirty applies applied a plan of the work tree (--allow-dirty): what
	// they applied is in no commit.
	Dirty    bool   `json:"dirty,omitempty"`
	Checksum string `json:"checksum"`
}

// TamperedError says a record or its plan file changed after it was written.
type TamperedError struct{ Path, What string }

func (e *TamperedError) Error() string {
	return fmt.Sprintf("%s: %s", e.Path, e.What)
}

// Store is the record directory of one repository.
type Store struct{ Root string }

// Slug names a project directory on disk: readable and unique.
func Slug(dir string) string {
	h := sha256.Sum256([]byte(dir))
	s := strings.NewReplacer("/", "-", " ", "_").Replace(dir)
	if len(s) > 80 {
		s = s[:80]
	}
	return s + "-" + hex.EncodeToString(h[:3])
}

// PlanDir is where the plan of a project at a commit is kept.
func (s Store) PlanDir(dir, head string) string {
	return filepath.Join(s.Root, "plans", Slug(dir), head)
}

func (s Store) applyDir(dir string) string {
	return filepath.Join(s.Root, "applies", Slug(dir))
}

// seal computes the checksum of v with its Checksum field empty.
func seal(v any, sum *string) (string, error) {
	*sum = ""
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// base is the directory whose subdirectories the store checks: the workdir
// (the caller's to have checked), so the repository's directory is too.
func (s Store) base() string { return filepath.Dir(s.Root) }

// writeJSON writes v to path atomically (temp file + rename), in a
// directory only the current user can change.
func (s Store) writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := safefs.MkdirPrivate(s.base(), filepath.Dir(path)); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-record-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// maxRecordBytes bounds what is read of a record: real ones are a few KiB.
const maxRecordBytes = 16 << 20

// readRecord reads a record file: only a regular file, not through a
// symlink, never blocking on a FIFO, at most maxRecordBytes.
func readRecord(path, what string) ([]byte, error) {
	b, err := safefs.ReadPrivateFile(path, maxRecordBytes)
	var nr *safefs.NotRegularError
	var tl *safefs.TooLargeError
	if errors.As(err, &nr) || errors.As(err, &tl) {
		return nil, &TamperedError{Path: path, What: fmt.Sprintf("the %s is not a file atoll wrote (%v)", what, err)}
	}
	return b, err
}

// FileSHA256 hashes a regular file (never a FIFO or device, and not
// through a symlink).
func FileSHA256(path string) (string, error) {
	f, fi, err := safefs.OpenRegular(path, false)
	if err == nil {
		if err = safefs.CheckPrivate(path, fi); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sealPlan sets a plan record's format and checksum for the fields it
// holds now.
func sealPlan(p *Plan) error {
	p.Format = FormatVersion
	sum, err := seal(p, &p.Checksum)
	p.Checksum = sum
	return err
}

// EncodePlan seals a plan record and returns it as SavePlan writes it.
func EncodePlan(p *Plan) ([]byte, error) {
	if err := sealPlan(p); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	return append(b, '\n'), err
}

// SavePlan seals and writes a plan record into its plan directory.
func (s Store) SavePlan(p *Plan) (string, error) {
	if err := sealPlan(p); err != nil {
		return "", err
	}
	path := filepath.Join(s.PlanDir(p.Dir, p.Head), RecordFile)
	return path, s.writeJSON(path, p)
}

// DecodePlan reads the plan record b (read from path), refusing one that
// is not valid JSON, fails its seal or has another format. It does not
// check the plan file.
func DecodePlan(path string, b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, &TamperedError{Path: path, What: "the plan record is not valid JSON (truncated or edited)"}
	}
	want := p.Checksum
	got, err := seal(&p, &p.Checksum)
	p.Checksum = want
	if err != nil || got != want {
		return nil, &TamperedError{Path: path, What: "the plan record was altered after it was written (checksum mismatch)"}
	}
	if p.Format != FormatVersion {
		return nil, formatError(path, p.Format)
	}
	return &p, nil
}

// LoadPlan reads the plan record of a project at a commit and verifies the
// record's seal and the plan file's hash. A missing record is os.ErrNotExist.
func (s Store) LoadPlan(dir, head string) (*Plan, error) {
	path := filepath.Join(s.PlanDir(dir, head), RecordFile)
	if err := safefs.CheckPrivateDir(s.base(), filepath.Dir(path)); err != nil {
		return nil, err
	}
	b, err := readRecord(path, "plan record")
	if err != nil {
		return nil, err
	}
	p, err := DecodePlan(path, b)
	if err != nil {
		return nil, err
	}
	if p.PlanFile != "" {
		sum, err := FileSHA256(p.PlanFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, &TamperedError{Path: p.PlanFile, What: "the plan file is missing"}
		}
		if err != nil {
			return nil, &TamperedError{Path: p.PlanFile, What: fmt.Sprintf("the plan file is not the file atoll wrote (%v)", err)}
		}
		if sum != p.PlanSHA256 {
			return nil, &TamperedError{Path: p.PlanFile, What: "the plan file was altered after planning (checksum mismatch)"}
		}
	}
	return p, nil
}

// Plans lists the readable plan records of a project, newest first.
func (s Store) Plans(dir string) ([]*Plan, error) {
	matches, err := filepath.Glob(filepath.Join(s.Root, "plans", Slug(dir), "*", RecordFile))
	if err != nil {
		return nil, err
	}
	var out []*Plan
	for _, m := range matches {
		head := filepath.Base(filepath.Dir(m))
		if p, err := s.LoadPlan(dir, head); err == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// Outcome is what the records say of a project's latest apply.
type Outcome struct {
	// Latest is the newest apply record; nil when there is none.
	Latest *Apply
	// Unfinished, when set, is an apply that started after Latest finished
	// and left no record. Latest then no longer describes the
	// infrastructure, and nothing does until another apply is recorded.
	Unfinished *Unfinished
}

// Outcome decides what the latest apply of a project was. It is the one
// place that rule lives: a plan is marked consumed before Terraform starts
// and the apply record is written after it ends, so a consumed plan (or
// the unfinished apply a re-plan carried over) newer than the newest apply
// record is an apply whose outcome is unknown.
func (s Store) Outcome(dir string) (*Outcome, error) {
	applies, err := s.Applies(dir)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	if len(applies) > 0 {
		out.Latest = applies[0]
	}
	plans, err := s.Plans(dir)
	if err != nil {
		return nil, err
	}
	newer := func(u Unfinished) {
		if out.Latest != nil && !u.Started.After(out.Latest.Finished) {
			return
		}
		if out.Unfinished == nil || u.Started.After(out.Unfinished.Started) {
			out.Unfinished = &u
		}
	}
	for _, p := range plans {
		if p.Consumed && !p.NotApplied {
			u := Unfinished{Head: p.Head}
			if p.ConsumedAt != nil {
				u.Started = *p.ConsumedAt
			}
			newer(u)
		}
		if p.Unfinished != nil {
			newer(*p.Unfinished)
		}
	}
	return out, nil
}

// SaveApply seals and writes an apply record.
func (s Store) SaveApply(a *Apply) (string, error) {
	a.Format = FormatVersion
	sum, err := seal(a, &a.Checksum)
	if err != nil {
		return "", err
	}
	a.Checksum = sum
	name := fmt.Sprintf("%s-%s.json", a.Finished.UTC().Format("20060102T150405.000000000Z"), shortSHA(a.Head))
	path := filepath.Join(s.applyDir(a.Dir), name)
	return path, s.writeJSON(path, a)
}

// Applies lists the apply records of a project, newest first. A record that
// fails its seal is an error: history that cannot be trusted must not be
// read as "never applied".
func (s Store) Applies(dir string) ([]*Apply, error) {
	if err := safefs.CheckPrivateDir(s.base(), s.applyDir(dir)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(s.applyDir(dir), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Apply
	for _, m := range matches {
		b, err := readRecord(m, "apply record")
		if err != nil {
			return nil, err
		}
		var a Apply
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, &TamperedError{Path: m, What: "the apply record is not valid JSON"}
		}
		want := a.Checksum
		got, err := seal(&a, &a.Checksum)
		a.Checksum = want
		if err != nil || got != want {
			return nil, &TamperedError{Path: m, What: "the apply record was altered after it was written (checksum mismatch)"}
		}
		if a.Format != FormatVersion {
			return nil, formatError(m, a.Format)
		}
		out = append(out, &a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Finished.After(out[j].Finished) })
	return out, nil
}

// formatError refuses a record another version of atoll wrote: its fields
// may not mean what this version reads into them.
func formatError(path string, format int) error {
	return &TamperedError{Path: path, What: fmt.Sprintf("record format %d, but this atoll reads format %d: written by another version of atoll; plan again with this one", format, FormatVersion)}
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// LockPlan takes the lock of a project's plan at a commit: a re-plan swaps
// its files in, and an apply checks and consumes it, each holding the lock,
// so an apply never runs a plan file other than the one it checked.
func (s Store) LockPlan(dir, head string) (unlock func(), err error) {
	pd := s.PlanDir(dir, head)
	if err := safefs.MkdirPrivate(s.base(), pd); err != nil {
		return nil, err
	}
	f, err := safefs.OpenPrivate(filepath.Join(pd, ".lock"), os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", pd, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// PrunePlans removes the plan directories of the store (saved plan, its
// JSON and text, plan and apply logs, record) that are older than
// olderThan (all when olderThan is 0) and that keep does not keep (keep
// is given the commit). Each is removed under its plan lock, so a plan
// being applied or replaced is never pulled from under its user. Apply
// records stay.
func (s Store) PrunePlans(olderThan time.Duration, keep func(head string) bool) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(s.Root, "plans", "*", "*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		head := filepath.Base(d)
		if olderThan > 0 {
			when := fi.ModTime()
			if rfi, err := os.Stat(filepath.Join(d, "record.json")); err == nil {
				when = rfi.ModTime()
			}
			if time.Since(when) <= olderThan {
				continue
			}
		}
		if keep != nil && keep(head) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(d, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue // in use by a plan or an apply
		}
		aside := d + ".removing"
		err = os.Rename(d, aside)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(aside); err != nil {
			errs = append(errs, err)
			continue
		}
		_ = os.Remove(filepath.Dir(d)) // the project's directory, once empty
		removed = append(removed, d)
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}
