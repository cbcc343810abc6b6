// Package scan answers "which projects does this branch affect?" by wiring
// the repository, the configuration, discovery and the affected rules
// together, with caches keyed by git object hashes.
package scan

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/hugeheap"
	"github.com/atoll-tf/atoll/pkg/project"
)

// Options for a scan.
type Options struct {
	// Uncommitted adds the work tree's staged, unstaged, deleted and
	// untracked files to the change and to discovery.
	Uncommitted bool
	// Cache is where derived data is kept; nil disables caching.
	Cache *cache.Store
	// Head, when set, is examined instead of HEAD (hooks examine the
	// commit being merged or pushed). Uncommitted requires HEAD.
	Head *git.Head

	// grown is set once the heap was grown for a cold scan (growHeap).
	grown bool
}

// Result is the answer of Changed.
type Result struct {
	Comparison  git.Comparison     `json:"-"`
	Uncommitted bool               `json:"uncommitted"`
	Projects    []affected.Project `json:"projects"`
	Warnings    []string           `json:"warnings,omitempty"`
	// Changes are the changed paths the decision was made from.
	Changes []affected.Change `json:"-"`
	// Vanished are projects of the merge-base that HEAD no longer has and
	// that are not reported deleted or renamed either.
	Vanished []Vanished `json:"-"`
}

// Vanished is a project of the merge-base (read with the roots it had
// there) that is no project at HEAD, yet not deleted by the change: the
// default roots moved away from it (a conf/ directory appeared), or atoll
// no longer recognises it. Its infrastructure is no longer checked.
type Vanished struct {
	Dir string
	// DirExists: HEAD still holds files in its directory.
	DirExists bool
}

// CacheDir is where atoll keeps its cache for a repository.
func CacheDir(repo *git.Repo) string {
	return filepath.Join(repo.CommonDir, "atoll", "cache")
}

// Changed computes the affected projects of HEAD against the base.
func Changed(repo *git.Repo, cfg *config.Config, opt Options) (*Result, error) {
	if opt.Cache != nil {
		repo.MergeBases, repo.Peels = opt.Cache, opt.Cache
		defer func() { _ = opt.Cache.Flush() }()
	}
	if opt.Head == nil && !opt.Cache.HasCalls() {
		// Without a parse cache nothing is cached (a fresh clone, a CI
		// job, --no-cache): the scan is cold. HEAD's listing is read
		// while the commits are resolved, into huge pages.
		defer growHeap(repo)()
		opt.grown = true
		repo.PrefetchIndex()
	}
	var cmp git.Comparison
	var err error
	if opt.Head != nil {
		cmp, err = repo.ResolveBaseAt(*opt.Head, cfg.Base)
	} else {
		cmp, err = repo.ResolveBase(cfg.Base)
	}
	if err != nil {
		return nil, err
	}
	res, err := Between(repo, cfg, cmp.MergeBase, cmp.Head.SHA, opt)
	if err != nil {
		return nil, err
	}
	res.Comparison = cmp
	return res, nil
}

// heapPerIndexByte is how many bytes of heap a cold scan allocates for
// each byte of the index, measured: about 45 MB for the 1.6 MB index of
// 5,000 projects, 185 MB for the 6.5 MB of 20,000.
const heapPerIndexByte = 40

// growHeap has the heap a cold scan is about to allocate backed by huge
// pages (see hugeheap): on r5000 that turned ~11,000 page faults into
// ~1,800 and took a third off the run's CPU time. A small repository is
// left alone: its scan allocates less than the garbage collection Grow
// costs is worth. The block is capped at maxGrow: it is memory the scan
// would have mapped anyway, but a machine that does not overcommit
// charges all of it at once. The returned func ends what growHeap
// changed for the scan (see pauseGC); call it when the scan is done.
func growHeap(repo *git.Repo) (done func()) {
	n := repo.IndexSize() * heapPerIndexByte
	if n < minGrow {
		return func() {}
	}
	n = min(n, maxGrow)
	hugeheap.Grow(int(n))
	return pauseGC(n, os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "")
}

const (
	minGrow = 8 << 20
	maxGrow = 512 << 20
	// maxPausedGC is the largest budget the collector is paused for:
	// beyond it the memory a paused scan would hold matters more than
	// the collections it saves.
	maxPausedGC = 128 << 20
	// gcSlack is the runtime's own memory (stacks, metadata, the
	// binary's data) on top of the heap, which the memory limit counts.
	gcSlack = 16 << 20
)

// pauseGC turns the garbage collector off while a cold scan allocates
// within its budget: the scan's data is alive until its end, so the
// collections of a growing heap (six or seven on r5000, about 10% of its
// CPU) would free little. A memory limit of the budget is the backstop:
// should the scan outgrow its estimate, the collector runs again when the
// heap reaches it. Settings the user chose (GOGC, GOMEMLIMIT) are kept.
// The returned func restores the collector once every scan that paused
// it is done (scans may overlap in one process).
func pauseGC(budget int64, userTuned bool) (restore func()) {
	if budget > maxPausedGC || userTuned {
		return func() {}
	}
	paused.Lock()
	defer paused.Unlock()
	if paused.n == 0 {
		paused.limit = debug.SetMemoryLimit(budget + gcSlack)
		paused.percent = debug.SetGCPercent(-1)
		paused.budget = budget
	} else if budget > paused.budget {
		// Overlapping scans share one limit: the larger budget.
		debug.SetMemoryLimit(budget + gcSlack)
		paused.budget = budget
	}
	paused.n++
	return sync.OnceFunc(func() {
		paused.Lock()
		defer paused.Unlock()
		if paused.n--; paused.n == 0 {
			debug.SetGCPercent(paused.percent)
			debug.SetMemoryLimit(paused.limit)
		}
	})
}

// settleHeap collects the garbage of a large scan's discoveries once they
// are done, when the collector runs (see pauseGC): their maps of every
// file and directory are dead then, and the caches are encoded next. Left
// to itself the collector's goal stays twice the heap it last saw alive,
// mid-discovery, and the encoding grows the heap to it: at 20,000
// projects a peak of 157 MB, 136 MB with this collection, at no cost in
// time (it is one the encoding would have triggered anyway).
func settleHeap(repo *git.Repo) {
	paused.Lock()
	n := paused.n
	paused.Unlock()
	if settles(repo.IndexSize(), n) {
		runtime.GC()
	}
}

// settles reports whether a scan of an index of indexSize bytes, with
// pausedScans scans holding the collector paused, collects before
// encoding: only a scan too large for pauseGC, with the collector
// running.
func settles(indexSize int64, pausedScans int) bool {
	return pausedScans == 0 && indexSize*heapPerIndexByte > maxPausedGC
}

// paused is the state of pauseGC: how many scans paused the collector,
// and the settings to restore when the last one is done.
var paused struct {
	sync.Mutex
	n             int
	budget, limit int64
	percent       int
}

// Between computes the projects affected by the changes from one commit
// (the zero hash: the empty tree) to another, as Changed does for the
// merge-base and HEAD.
func Between(repo *git.Repo, cfg *config.Config, from, to git.Hash, opt Options) (res *Result, err error) {
	res = &Result{Uncommitted: opt.Uncommitted}
	defer func() { _ = opt.Cache.Flush() }() // the graphs saved in the background
	resultKey := to.String() + "-" + from.String() + "-" + cfg.Hash()
	if !opt.Uncommitted {
		var cached cachedResult
		if opt.Cache.Load("result", resultKey, &cached) {
			res.Projects, res.Warnings, res.Changes, res.Vanished = cached.Projects, cached.Warnings, cached.Changes, cached.Vanished
			return res, nil
		}
	}

	headCommit, err := repo.Commit(to)
	if err != nil {
		return nil, err
	}
	// Both sides must be read with the same roots: chosen per tree, a
	// branch that adds conf/ would turn every other project into "deleted".
	// The projects that lose so are reported as vanished instead.
	defaultRoots := len(cfg.Roots) == 0
	rawCfg := cfg
	if cfg, err = withRoots(repo, cfg, headCommit.Tree); err != nil {
		return nil, err
	}
	lister := sync.OnceValues(func() ([]git.Entry, error) { return listCommit(repo, headCommit.Tree) })
	headFiles := sync.OnceValues(func() ([]project.File, error) {
		entries, err := lister()
		return asFiles(entries), err
	})
	discoverHead := opt.Uncommitted || !opt.Cache.HasGraph(graphKey(cfg, headCommit.Tree, false, defaultRoots))
	if discoverHead {
		// HEAD's graph will be discovered from its listing: the index is
		// read beside the diff, into huge pages when it is large.
		if !opt.grown {
			defer growHeap(repo)()
		}
		go func() { _, _ = headFiles() }()
	}
	var baseTree git.Hash
	if !from.IsZero() {
		mb, err := repo.Commit(from)
		if err != nil {
			return nil, err
		}
		baseTree = mb.Tree
	}
	diff, err := repo.DiffTrees(baseTree, headCommit.Tree)
	if err != nil {
		return nil, err
	}
	changes := make([]affected.Change, 0, len(diff))
	seen := map[string]bool{}
	for _, c := range diff {
		changes = append(changes, affected.Change{Path: c.Path, Action: string(c.Action)})
		seen[c.Path] = true
	}

	var overlay []git.WorktreeChange
	if opt.Uncommitted {
		if overlay, err = repo.WorktreeChanges(); err != nil {
			return nil, err
		}
		for _, c := range overlay {
			if seen[c.Path] {
				continue
			}
			act := string(git.Modified)
			switch {
			case c.Deleted:
				act = string(git.Deleted)
			case c.Code == "??" || c.Code[0] == 'A':
				act = string(git.Added)
			}
			changes = append(changes, affected.Change{Path: c.Path, Action: act})
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	}

	// The head's files are listed once; the merge-base's are derived from
	// them and the diff, instead of walking a second, almost equal tree.
	baseCfg := withBaseEntries(repo, cfg, diff)
	baseFiles := func() (project.Tree, error) {
		files, err := headFiles()
		return &snapshot{repo: repo, files: patch(files, diff)}, err
	}
	headTree := func() (project.Tree, error) {
		files, err := headFiles()
		return &snapshot{repo: repo, files: files, overlay: overlay}, err
	}
	headGraph, baseGraph, err := bothGraphs(opt.Cache,
		func(c project.Cache, parsed func()) (*project.Graph, error) {
			return graph(cfg, opt.Cache, headCommit.Tree, overlay, false, defaultRoots, project.Options{Cache: c, Parsed: parsed}, headTree)
		},
		func(c project.Cache) (*project.Graph, error) {
			return graph(baseCfg, opt.Cache, baseTree, nil, true, false, project.Options{Cache: c}, baseFiles)
		})
	if err != nil {
		return nil, err
	}
	if discoverHead {
		settleHeap(repo)
	}
	// Every file is parsed: the parse cache is written while the rest of
	// the scan runs.
	opt.Cache.StartFlush()
	res.Changes = changes
	in := affected.Input{Changes: changes, Head: headGraph, Base: baseGraph, Watch: cfg.Watch}
	configChanges(repo, cfg.Committed(), diff, &in)
	if in.Remaining, err = remaining(headGraph, baseGraph, headTree); err != nil {
		return nil, err
	}
	decision := affected.Decide(in)
	res.Projects = decision.Projects
	res.Warnings = append(append([]string(nil), headGraph.Warnings...), affected.UnrecognisedWarnings(decision.Unrecognised)...)
	// The merge-base as it was: with the roots its own atoll.yaml set, or
	// else its own tree gave it.
	ownBase := baseGraph
	if !baseTree.IsZero() {
		own := *rawCfg
		if old := baseSettings(repo, rawCfg.Committed(), diff); old != nil {
			own.Roots = old.Roots
		}
		baseOwnCfg, err := withRoots(repo, &own, baseTree)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(baseOwnCfg.Roots, cfg.Roots) {
			baseOwnCfg = withBaseEntries(repo, baseOwnCfg, diff)
			if ownBase, err = graph(baseOwnCfg, opt.Cache, baseTree, nil, true, false, project.Options{Cache: parseCache(opt.Cache)}, baseFiles); err != nil {
				return nil, err
			}
		}
	}
	if res.Vanished, err = vanished(ownBase, headGraph, res.Projects, lister, overlay); err != nil {
		return nil, err
	}
	// Vanished projects that Unrecognised already explained are not
	// blamed on the roots.
	explained := decision.Unrecognised
	var byRoots []Vanished
	for _, v := range res.Vanished {
		if !slices.Contains(explained, v.Dir) {
			byRoots = append(byRoots, v)
		}
	}
	if w := vanishedWarning(byRoots, cfg.Roots); w != "" {
		res.Warnings = append(append([]string(nil), res.Warnings...), w)
	}
	if !opt.Uncommitted {
		_ = opt.Cache.Save("result", resultKey, cachedResult{res.Projects, res.Warnings, res.Changes, res.Vanished})
	}
	return res, nil
}

// remaining lists which directories of the merge-base's projects missing
// from HEAD's still directly hold files at HEAD; the listing is read only
// when some project is missing.
func remaining(head, base *project.Graph, open func() (project.Tree, error)) (map[string]bool, error) {
	missing := map[string]bool{}
	inHead := map[string]bool{}
	for _, p := range head.Projects {
		inHead[p.Dir] = true
	}
	for _, p := range base.Projects {
		if !inHead[p.Dir] {
			missing[p.Dir] = true
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	t, err := open()
	if err != nil {
		return nil, err
	}
	files, err := t.Files(func(string) bool { return false })
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range files {
		if d := path.Dir(f.Path); missing[d] {
			out[d] = true
		}
	}
	return out, nil
}

type cachedResult struct {
	Projects []affected.Project
	Warnings []string
	Changes  []affected.Change
	Vanished []Vanished
}

// vanished lists the merge-base's projects that are neither projects at
// HEAD nor reported deleted or renamed away.
func vanished(base, head *project.Graph, reported []affected.Project, headFiles func() ([]git.Entry, error), overlay []git.WorktreeChange) ([]Vanished, error) {
	known := map[string]bool{}
	for _, p := range head.Projects {
		known[p.Dir] = true
	}
	for _, p := range reported {
		switch p.Status {
		case affected.Deleted:
			known[p.Dir] = true
		case affected.Renamed:
			known[p.From] = true
		}
	}
	var out []Vanished
	for _, p := range base.Projects {
		if !known[p.Dir] {
			out = append(out, Vanished{Dir: p.Dir})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	files, err := headFiles()
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	mark := func(p string) {
		for dir := path.Dir(p); dir != "." && !present[dir]; dir = path.Dir(dir) {
			present[dir] = true
		}
	}
	for _, e := range files {
		mark(e.Path)
	}
	for _, c := range overlay {
		if !c.Deleted {
			mark(c.Path)
		}
	}
	for i := range out {
		out[i].DirExists = present[out[i].Dir] || out[i].Dir == "."
	}
	return out, nil
}

// vanishedWarning says which projects atoll lost track of, and how to
// keep them.
func vanishedWarning(vs []Vanished, roots []string) string {
	if len(vs) == 0 {
		return ""
	}
	var dirs []string
	for _, v := range vs {
		dirs = append(dirs, v.Dir)
	}
	list := strings.Join(dirs, ", ")
	if len(dirs) > 5 {
		list = strings.Join(dirs[:5], ", ") + fmt.Sprintf(" and %d more", len(dirs)-5)
	}
	return fmt.Sprintf("%s: %s of the merge-base but not at HEAD (roots: %s), and not deleted by this branch: atoll no longer plans or checks %s, and atoll guard refuses the branch. Set roots: in %s to where the projects are, or declare them under projects:",
		list, map[bool]string{true: "a project", false: "projects"}[len(dirs) == 1], strings.Join(roots, ", "),
		map[bool]string{true: "it", false: "them"}[len(dirs) == 1], config.FileName)
}

// Projects discovers the projects of a commit (or, with uncommitted, of the
// work tree on top of HEAD).
func Projects(repo *git.Repo, cfg *config.Config, commit git.Hash, opt Options) (*project.Graph, error) {
	c, err := repo.Commit(commit)
	if err != nil {
		return nil, err
	}
	var overlay []git.WorktreeChange
	if opt.Uncommitted {
		if overlay, err = repo.WorktreeChanges(); err != nil {
			return nil, err
		}
	}
	defer func() { _ = opt.Cache.Flush() }()
	return graph(cfg, opt.Cache, c.Tree, overlay, false, false, project.Options{Cache: parseCache(opt.Cache)}, func() (project.Tree, error) {
		files, err := listCommit(repo, c.Tree)
		return &snapshot{repo: repo, files: asFiles(files), overlay: overlay}, err
	})
}

// bothGraphs discovers HEAD's graph and the merge-base's at once: most of
// a discovery after its files are parsed (module closures, symlinks,
// fingerprints) runs on one core, so the merge-base's runs beside it. The
// merge-base's files are mostly HEAD's, so its parses wait for HEAD's to
// finish and take theirs from the cache rather than parse them twice.
// HEAD's error comes first, as when they ran one after the other.
func bothGraphs(store *cache.Store, head func(c project.Cache, parsed func()) (*project.Graph, error), base func(c project.Cache) (*project.Graph, error)) (*project.Graph, *project.Graph, error) {
	pc := parseCache(store)
	ready := make(chan struct{})
	release := sync.OnceFunc(func() { close(ready) })
	var baseGraph *project.Graph
	var baseErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		var c project.Cache
		if pc != nil {
			c = afterParse{pc, ready}
		}
		baseGraph, baseErr = base(c)
	}()
	headGraph, err := head(pc, release)
	release() // also when HEAD's graph came from the cache, or failed
	<-done
	if err != nil {
		return nil, nil, err
	}
	if baseErr != nil {
		return nil, nil, baseErr
	}
	return headGraph, baseGraph, nil
}

// afterParse is a parse cache whose misses wait until ready is closed,
// then look again.
type afterParse struct {
	project.Cache
	ready <-chan struct{}
}

func (a afterParse) Calls(id string) ([]project.Call, bool) {
	if c, ok := a.Cache.Calls(id); ok {
		return c, true
	}
	<-a.ready
	return a.Cache.Calls(id)
}

// parseCache is the store as a parse cache: nil (no caching) for a nil
// store.
func parseCache(store *cache.Store) project.Cache {
	if store == nil {
		return nil
	}
	return store
}

// graph discovers a tree's projects, through the cache (see graphKey) when
// the tree is a commit's. po carries the parse cache and a
// hook; graph sets the rest of the discovery's options.
func graph(cfg *config.Config, store *cache.Store, tree git.Hash, overlay []git.WorktreeChange, lenient, defaultRoots bool, po project.Options, open func() (project.Tree, error)) (*project.Graph, error) {
	cacheable := len(overlay) == 0
	key := graphKey(cfg, tree, lenient, defaultRoots)
	if cacheable {
		if g, ok := store.Graph(key); ok {
			return g, nil
		}
	}
	t, err := open()
	if err != nil {
		return nil, err
	}
	po.Lenient, po.DefaultRoots = lenient, defaultRoots
	g, err := project.Discover(t, cfg, po)
	if err != nil {
		return nil, err
	}
	if cacheable {
		_ = store.SetGraph(key, g)
	}
	return g, nil
}

// graphKey names the cached graph of a tree: the same files always give
// the same graph under the same settings.
func graphKey(cfg *config.Config, tree git.Hash, lenient, defaultRoots bool) string {
	key := tree.String() + "-" + cfg.Hash()
	if lenient {
		key += "-lenient"
	}
	if defaultRoots {
		key += "-default-roots"
	}
	return key
}

// Report is the machine-readable form of a Result: what `atoll changed
// --output json` prints, and what every other rendering is made from.
type Report struct {
	Head struct {
		Branch string `json:"branch,omitempty"`
		SHA    string `json:"sha"`
		// MergeCommit is the commit checked out when SHA is its second
		// parent (GitHub's merge commit of a pull request); From says so.
		MergeCommit string `json:"merge_commit,omitempty"`
		From        string `json:"from,omitempty"`
	} `json:"head"`
	Base struct {
		Ref   string   `json:"ref"`
		SHA   string   `json:"sha"`
		Rule  string   `json:"rule"`
		Tried []string `json:"tried"`
	} `json:"base"`
	// MergeBase is empty when HEAD is a root commit on the base branch.
	MergeBase   string             `json:"merge_base"`
	Uncommitted bool               `json:"uncommitted"`
	Projects    []affected.Project `json:"projects"`
	Warnings    []string           `json:"warnings"`
}

// Report builds the report of a result.
func (r *Result) Report() *Report {
	rep := &Report{Uncommitted: r.Uncommitted, Projects: r.Projects, Warnings: r.Warnings}
	c := r.Comparison
	rep.Head.Branch, rep.Head.SHA = c.Head.Branch, c.Head.SHA.String()
	rep.Base.Ref, rep.Base.SHA, rep.Base.Rule, rep.Base.Tried = c.Base.Name, c.Base.SHA.String(), c.Rule, c.Tried
	if !c.MergeBase.IsZero() {
		rep.MergeBase = c.MergeBase.String()
	}
	if rep.Projects == nil {
		rep.Projects = []affected.Project{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	return rep
}

// withRoots fixes the default project roots from the examined tree: conf/
// when it has one (geodesic), else the whole repository.
func withRoots(repo *git.Repo, cfg *config.Config, tree git.Hash) (*config.Config, error) {
	if len(cfg.Roots) > 0 {
		return cfg, nil
	}
	hasConf, err := repo.HasDir(tree, "conf")
	if err != nil {
		return nil, err
	}
	c := *cfg
	c.Roots = []string{"."}
	if hasConf {
		c.Roots = []string{"conf"}
	}
	return &c, nil
}

// withBaseEntries adds to cfg, for reading the merge-base, the projects:
// entries of the merge-base's committed atoll.yaml that the change
// removed: a project declared there existed there, so one removed together
// with its entry comes out deleted.
func withBaseEntries(repo *git.Repo, cfg *config.Config, diff []git.Change) *config.Config {
	old := baseSettings(repo, cfg.Committed(), diff)
	if old == nil {
		return cfg
	}
	out := *cfg
	out.Projects = append([]config.Project(nil), cfg.Projects...)
	for _, p := range old.Projects {
		if _, still := cfg.ProjectByDir(p.Dir); !still {
			out.Projects = append(out.Projects, p)
		}
	}
	return &out
}

// baseSettings is the merge-base's committed settings file (atoll.yaml, or
// atlantis.yaml where the settings come from it) when the change edits it
// (nil when it does not, or the old one is missing or invalid).
func baseSettings(repo *git.Repo, name string, diff []git.Change) *config.Config {
	for _, c := range diff {
		if c.Path != name || c.Old.Blob.IsZero() {
			continue
		}
		b, err := repo.ReadBlob(c.Old.Blob)
		if err != nil {
			return nil
		}
		old, err := config.Parse(name, b)
		if err != nil {
			return nil
		}
		return old
	}
	return nil
}

// configChanges notes, when the change edits the committed atoll.yaml, the
// projects whose settings differ between the two commits: a new
// -from-module source or workspace changes what Terraform applies even if
// no other file does. A side that does not parse counts as changing
// everything.
func configChanges(repo *git.Repo, name string, diff []git.Change, in *affected.Input) {
	for _, c := range diff {
		if c.Path != name {
			continue
		}
		read := func(e git.Entry) *config.Config {
			if e.Blob.IsZero() {
				return nil
			}
			b, err := repo.ReadBlob(e.Blob)
			if err != nil {
				return nil
			}
			cfg, err := config.Parse(name, b)
			if err != nil {
				in.ConfigGlobal = true
				return nil
			}
			return cfg
		}
		old, cur := read(c.Old), read(c.New)
		projects, global := config.Changes(old, cur)
		in.ConfigFile = name
		in.ConfigProjects = projects
		in.ConfigGlobal = in.ConfigGlobal || global
	}
}
