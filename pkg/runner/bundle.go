package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/atoll-tf/atoll/pkg/build"
	"github.com/atoll-tf/atoll/pkg/bundle"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/atoll-tf/atoll/pkg/safefs"
)

// WriteBundle writes the plans a plan run saved (rep) to file, for an
// apply in another clone: each record with its paths made relative to
// the record store, with its plan file, JSON, text and log. It returns
// how many plans it holds. The plans are read under their locks, so a
// concurrent re-plan never mixes one plan's record with another's file.
func WriteBundle(ctx context.Context, o *Options, rep *Report, file string) (int, error) {
	store := o.store()
	head := o.Comparison.Head.SHA.String()
	var inputs []bundle.Input
	for _, p := range rep.Projects {
		if p.Status != StatusPlanned && p.Status != StatusNoChanges || p.Record == "" {
			continue
		}
		unlock, err := store.LockPlan(p.Dir, head)
		if err != nil {
			return 0, err
		}
		defer unlock()
		rec, err := store.LoadPlan(p.Dir, head)
		if err != nil {
			return 0, fmt.Errorf("%s: the plan just made cannot be read back: %w", p.Dir, err)
		}
		in, err := bundleInput(store, rec)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p.Dir, err)
		}
		inputs = append(inputs, in)
	}
	c := o.Comparison
	m := &bundle.Manifest{AtollVersion: build.Version, Head: head, Branch: c.Head.Branch, BaseRef: c.Base.Name, BaseSHA: c.Base.SHA.String(), Created: o.now().UTC()}
	if !c.MergeBase.IsZero() {
		m.MergeBase = c.MergeBase.String()
	}
	roots, err := o.Repo.RootCommits(ctx, c.Head.SHA)
	if err != nil {
		return 0, err
	}
	m.Repository = bundle.Repository{RootCommits: roots, Origin: o.Repo.RemoteIdentity(o.remoteName())}
	if err := bundle.Write(ctx, file, m, inputs); err != nil {
		return 0, err
	}
	return len(inputs), nil
}

func (o *Options) remoteName() string {
	if o.Config.LedgerRemote != "" {
		return o.Config.LedgerRemote
	}
	return "origin"
}

// bundleInput is a plan's files, its record relative to the store.
func bundleInput(store record.Store, rec *record.Plan) (bundle.Input, error) {
	if rec.Dirty {
		return bundle.Input{}, errors.New("a plan of the work tree (--from-worktree) cannot be bundled: it was made from no commit")
	}
	rel := *rec
	for _, f := range []*string{&rel.Workdir, &rel.PlanFile, &rel.LogFile} {
		r, err := filepath.Rel(store.Root, *f)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return bundle.Input{}, fmt.Errorf("%s is outside the record store %s", *f, store.Root)
		}
		*f = filepath.ToSlash(r)
	}
	data, err := record.EncodePlan(&rel)
	if err != nil {
		return bundle.Input{}, err
	}
	in := bundle.Input{Project: rec.Project, Dir: rec.Dir, Files: []bundle.Member{{Name: record.RecordFile, Data: data}}}
	planDir := store.PlanDir(rec.Dir, rec.Head)
	for _, name := range bundle.Files {
		if name == record.RecordFile {
			continue
		}
		p := filepath.Join(planDir, name)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			in.Files = append(in.Files, bundle.Member{Name: name, Path: p})
		} else if name == record.PlanFile {
			return bundle.Input{}, &record.TamperedError{Path: p, What: "the plan file is missing"}
		}
	}
	return in, nil
}

// relativeLayout is where a record in a bundle must say its files are,
// relative to the record store: its plan directory, and the checkout of
// its commit (the merge-base's for a destroy).
func relativeLayout(rec *record.Plan) (workdir, planFile, logFile string) {
	co := rec.Head
	if rec.Destroy {
		co = rec.MergeBase
	}
	if len(co) > 8 {
		co = co[:8]
	}
	planDir := filepath.ToSlash(filepath.Join("plans", record.Slug(rec.Dir), rec.Head))
	return co + "/" + rec.Dir, planDir + "/" + record.PlanFile, planDir + "/" + record.PlanLogFile
}

// BundleImport says what importing a bundle did.
type BundleImport struct {
	Manifest *bundle.Manifest
	// Imported are the projects whose plans were put into the store;
	// Kept those whose plan was there already (applied or not: an apply
	// that used it refuses it again).
	Imported, Kept []string
}

// ImportBundle reads the bundle at file, refuses it unless it was planned
// from HEAD, the base and the merge-base compared here, and puts its
// plans into the record store as if they had been planned here, rooted
// in this work dir. Apply then checks them as any plan (inputs, status,
// environment, up to date, already used). All of the bundle is verified
// before anything is imported.
func ImportBundle(ctx context.Context, o *Options, file string) (*BundleImport, error) {
	store := o.store()
	if err := safefs.MkdirPrivate(o.Workdir, store.Root); err != nil {
		return nil, err
	}
	b, err := bundle.Open(ctx, file, bundle.Options{Scratch: store.Root, Version: build.Version})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	m := b.Manifest
	c := o.Comparison
	here := bundle.Here{Head: c.Head.SHA.String(), BaseRef: c.Base.Name, BaseSHA: c.Base.SHA.String(), Origin: o.Repo.RemoteIdentity(o.remoteName()),
		HasCommit: func(sha string) bool {
			h, ok := git.ParseHash(sha)
			return ok && o.Repo.HasCommit(h)
		},
		RootCommits: func() []string {
			roots, _ := o.Repo.RootCommits(ctx, c.Head.SHA)
			return roots
		},
	}
	if !c.MergeBase.IsZero() {
		here.MergeBase = c.MergeBase.String()
	}
	if err := m.Match(file, here); err != nil {
		return nil, err
	}

	recs := make([]*record.Plan, len(m.Plans))
	for i, p := range m.Plans {
		if recs[i], err = bundledRecord(b, m, p); err != nil {
			return nil, err
		}
	}
	out := &BundleImport{Manifest: m}
	for i, p := range m.Plans {
		imported, err := o.importPlan(b, recs[i])
		if err != nil {
			return nil, fmt.Errorf("%s: importing its plan from %s: %w", p.Dir, file, err)
		}
		if imported {
			out.Imported = append(out.Imported, p.Dir)
		} else {
			out.Kept = append(out.Kept, p.Dir)
		}
	}
	return out, nil
}

// bundledRecord reads and checks the record of one plan of a bundle: its
// seal, and that it is the plan the manifest lists, of the manifest's
// commit and base, at the paths the record store's layout gives.
func bundledRecord(b *bundle.Bundle, m *bundle.Manifest, p bundle.Plan) (*record.Plan, error) {
	bad := func(format string, args ...any) error {
		return &bundle.InvalidError{File: b.File, Why: p.Dir + ": " + fmt.Sprintf(format, args...)}
	}
	data, err := safefs.ReadPrivateFile(b.Path(p.Dir, record.RecordFile), bundle.DefaultLimits.Record)
	if err != nil {
		return nil, err
	}
	rec, err := record.DecodePlan(bundle.EntryName(p.Dir, record.RecordFile), data)
	var te *record.TamperedError
	if errors.As(err, &te) {
		return nil, bad("%s", te.What)
	}
	if err != nil {
		return nil, err
	}
	planSum := ""
	for _, f := range p.Files {
		if f.Name == bundle.EntryName(p.Dir, record.PlanFile) {
			planSum = f.SHA256
		}
	}
	workdir, planFile, logFile := relativeLayout(rec)
	switch {
	case rec.Dir != p.Dir || rec.Project != p.Project:
		return nil, bad("its record is of project %s (%s)", rec.Project, rec.Dir)
	case rec.Head != m.Head || rec.BaseRef != m.BaseRef || rec.BaseSHA != m.BaseSHA || rec.MergeBase != m.MergeBase:
		return nil, bad("its record was made at %s against %s (%s), not at the manifest's commit and base", short(rec.Head), rec.BaseRef, short(rec.BaseSHA))
	case rec.Dirty:
		return nil, bad("its plan was made from a work tree (--from-worktree), which no bundle may carry")
	case rec.PlanSHA256 != planSum:
		return nil, bad("its record vouches for another plan file (checksum mismatch)")
	case rec.Workdir != workdir || rec.PlanFile != planFile || rec.LogFile != logFile:
		return nil, bad("its record names its files at %s, %s and %s, not where a bundle puts them", rec.Workdir, rec.PlanFile, rec.LogFile)
	}
	return rec, nil
}

// importPlan puts one plan of a bundle into the record store, under its
// plan lock, unless the store holds that very plan already (the same plan
// file): then it stays as it is, so a plan an apply here used is never
// made new again by importing its bundle a second time.
func (o *Options) importPlan(b *bundle.Bundle, rec *record.Plan) (bool, error) {
	store := o.store()
	unlock, err := store.LockPlan(rec.Dir, rec.Head)
	if err != nil {
		return false, err
	}
	defer unlock()
	if cur, err := store.LoadPlan(rec.Dir, rec.Head); err == nil && cur.PlanSHA256 == rec.PlanSHA256 {
		return false, nil
	}
	planDir := store.PlanDir(rec.Dir, rec.Head)
	rec.Workdir = filepath.Join(store.Root, filepath.FromSlash(rec.Workdir))
	rec.PlanFile = filepath.Join(planDir, record.PlanFile)
	rec.LogFile = filepath.Join(planDir, record.PlanLogFile)
	_, err = o.replacePlan(rec, func() error {
		for _, name := range bundle.Files {
			if name == record.RecordFile {
				continue // written last, by replacePlan
			}
			dst := filepath.Join(planDir, name)
			src := b.Path(rec.Dir, name)
			if src == "" {
				// Only this plan's files: never an older plan's text or log.
				if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				continue
			}
			if err := os.Rename(src, dst); err != nil {
				return err
			}
		}
		return nil
	})
	return err == nil, err
}
