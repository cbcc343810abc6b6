// Package project finds the Terraform root projects of a repository and the
// local modules each one uses, transitively. It is pure over a Tree: the same
// code answers for a commit (read through go-git) or for a map in a test.
package project

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/modsource"
	"github.com/bmatcuk/doublestar/v4"
)

// File is one file of a tree.
type File struct {
	Path string
	// ID identifies the content (a git blob hash); files with equal IDs have
	// equal bytes. Empty when unknown (an uncommitted file).
	ID      string
	Symlink bool
	// Gitlink marks a submodule: a directory whose content is another
	// repository's commit (ID). It has no bytes to read.
	Gitlink bool
}

// Tree is a snapshot of repository files.
type Tree interface {
	// Files lists the files, pruning every directory for which skip is true.
	Files(skip func(dir string) bool) ([]File, error)
	// Read returns a file's bytes (for a symlink: its target).
	Read(f File) ([]byte, error)
}

// Cache remembers parsed module calls by file ID. Implementations must be
// safe for concurrent use.
type Cache interface {
	Calls(id string) ([]Call, bool)
	SetCalls(id string, calls []Call)
}

// Graph is what discovery found.
type Graph struct {
	Projects []Project `json:"projects"`
	// Warnings are problems that did not stop discovery.
	Warnings []string `json:"warnings,omitempty"`
	// TerraformDirs are the directories of the tree that hold Terraform
	// files of their own, excluded ones and those outside the roots
	// included. Terraform loads only a directory's own files, so what lies
	// below one of them is not part of a project or module above it.
	TerraformDirs []string `json:"-"`
}

// Project is a Terraform root module.
type Project struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Declared is true when atoll.yaml lists the project.
	Declared bool `json:"declared,omitempty"`
	// FromModule is true for geodesic projects whose direnv files set
	// TF_CLI_INIT_FROM_MODULE (or TF_FROM_MODULE), or that declare a
	// source: their code comes from elsewhere at init.
	FromModule bool `json:"from_module,omitempty"`
	// Source is the -from-module source: the declared one, else the one
	// the direnv files set. Empty for a FromModule project when the files
	// set it in a way only the shell can evaluate.
	Source string `json:"source,omitempty"`
	// SourceFrom is where Source is set: atoll.yaml, or file:line of the
	// assignment in the direnv files.
	SourceFrom string `json:"source_from,omitempty"`
	// Workspace is the Terraform workspace to plan and apply in ("" is
	// the default workspace).
	Workspace string `json:"workspace,omitempty"`
	// Modules are the local module directories used, transitively, each
	// with the chain of directories that leads to it from the project.
	Modules   []ModuleUse `json:"modules,omitempty"`
	Watch     []string    `json:"watch,omitempty"`
	DependsOn []string    `json:"depends_on,omitempty"`
	// Fingerprint identifies the files directly in Dir (names and contents),
	// so a moved project can be told from a deleted one.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Links are the in-repository targets of symlinks inside the project or
	// its modules: Terraform reads them, so changes there affect it.
	Links []string `json:"links,omitempty"`
	// Symlinks are the symlinks that resolving the project's module
	// sources and its (and its modules') symlinked files went through: a
	// retargeted one changes what Terraform reads.
	Symlinks []string `json:"symlinks,omitempty"`
}

// ModuleUse is one local module directory a project depends on.
type ModuleUse struct {
	Dir string `json:"dir"`
	// Chain runs from the project directory to Dir (both included).
	Chain []string `json:"chain"`
}

// Options tune discovery.
type Options struct {
	Cache Cache
	// Workers parse files in parallel; 0 means one per CPU.
	Workers int
	// Lenient discovers an older commit (the merge-base) only for which
	// projects existed there: problems that would be errors at HEAD (a file
	// that does not parse, a bad source, a dangling depends_on) are ignored,
	// since the branch being examined may be what fixes them, and module
	// closures are not computed.
	Lenient bool
	// DefaultRoots says the configuration's roots were not configured but
	// chosen by DefaultRoots (as when they are empty): then directories
	// with Terraform files outside them are warned about.
	DefaultRoots bool
	// Parsed, when set, is called once every file discovery reads has been
	// parsed (and its calls given to Cache), before the graph is built.
	Parsed func()
}

// Error is a problem in the repository's configuration that makes the
// answer unknowable (a module cycle, a source that leaves the repository).
type Error struct {
	File string
	Line int
	Msg  string
	// Hint says how to fix it, when the message does not.
	Hint string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// neverScanned are directory names that hold no project inputs.
var neverScanned = map[string]bool{".git": true, ".terraform": true}

// DefaultRoots picks the roots when the configuration sets none: conf/ in
// a geodesic layout, else the whole repository.
func DefaultRoots(files []File) []string {
	for _, f := range files {
		if strings.HasPrefix(f.Path, "conf/") {
			return []string{"conf"}
		}
	}
	return []string{"."}
}

// SkipFunc returns the pruning rule for cfg: directories that are never
// scanned and those matching an exclude glob.
func SkipFunc(cfg *config.Config) func(string) bool {
	return func(dir string) bool {
		if neverScanned[path.Base(dir)] {
			return true
		}
		for _, g := range cfg.Exclude {
			if ok, _ := doublestar.Match(g, dir); ok {
				return true
			}
		}
		return false
	}
}

// excludedDirs returns whether a directory is pruned: never scanned, or
// matched (itself or a parent) by an exclude glob.
func excludedDirs(cfg *config.Config) func(string) bool {
	skip := SkipFunc(cfg)
	memo := map[string]bool{}
	var excluded func(dir string) bool
	excluded = func(dir string) bool {
		if dir == "." || dir == "/" {
			return false
		}
		v, ok := memo[dir]
		if !ok {
			v = excluded(path.Dir(dir)) || skip(dir)
			memo[dir] = v
		}
		return v
	}
	return excluded
}

// Discover finds the projects of tree under cfg.
func Discover(tree Tree, cfg *config.Config, opt Options) (*Graph, error) {
	// Excluded directories are listed too, only to learn which of them
	// hold Terraform files (a file below one is no part of a project
	// above it); nothing in them is read.
	all, err := tree.Files(func(dir string) bool { return neverScanned[path.Base(dir)] })
	if err != nil {
		return nil, err
	}
	d := &discovery{
		cfg:     cfg,
		tree:    tree,
		opt:     opt,
		calls:   map[string][]dirCall{},
		parsed:  map[string]bool{},
		targets: map[string]bool{},
	}
	// The maps are sized up front: on a large monorepo growing them
	// (rehashing, and the garbage of each smaller table) was a good part
	// of a cold run.
	excluded := excludedDirs(cfg)
	counts := make(map[string]int32, len(all)/2)
	kept := make([]bool, len(all))
	n := 0
	d.present = make(map[string]bool, len(all)/2)
	d.tfDirs = make(map[string]bool, len(all)/4)
	for i, f := range all {
		dir := path.Dir(f.Path)
		if IsTerraformFile(f.Path) {
			d.tfDirs[dir] = true
		}
		for dir := dir; dir != "." && !d.present[dir]; dir = path.Dir(dir) {
			d.present[dir] = true
		}
		if !excluded(dir) {
			kept[i] = true
			counts[dir]++
			n++
		}
	}
	// Each directory's files are a slice of one array, sorted by path, so
	// that a file is found by its directory and a binary search.
	files := make([]File, n)
	d.byDir = make(map[string][]File, len(counts))
	next := 0
	for i, f := range all {
		if !kept[i] {
			continue
		}
		dir := path.Dir(f.Path)
		s, ok := d.byDir[dir]
		if !ok {
			c := int(counts[dir])
			s = files[next : next : next+c]
			next += c
		}
		d.byDir[dir] = append(s, f)
		if f.Symlink {
			d.symlinks = append(d.symlinks, f)
		}
	}
	// A listing is in path order; the work tree's additions come last.
	for _, fs := range d.byDir {
		if !slices.IsSortedFunc(fs, compareFiles) {
			slices.SortStableFunc(fs, compareFiles)
		}
	}
	roots := cfg.Roots
	if len(roots) == 0 {
		roots = DefaultRoots(files)
		d.opt.DefaultRoots = true
	}
	return d.run(roots)
}

type dirCall struct {
	Call
	File   string
	Target string
	// Links are the symlinks resolving the source went through.
	Links []string
}

type discovery struct {
	cfg      *config.Config
	tree     Tree
	opt      Options
	byDir    map[string][]File
	calls    map[string][]dirCall
	parsed   map[string]bool
	targets  map[string]bool
	warnings []string
	symlinks []File
	// tfDirs are the directories holding Terraform files of their own;
	// present those holding any file, directly or below (both with the
	// excluded ones).
	tfDirs  map[string]bool
	present map[string]bool
	// projectDirs are the candidates that are projects.
	projectDirs map[string]bool
}

func underRoot(dir string, roots []string) bool {
	for _, r := range roots {
		r = path.Clean(r)
		if r == "." || dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}

func (d *discovery) hasTerraform(dir string) bool {
	for _, f := range d.byDir[dir] {
		if IsTerraformFile(f.Path) && !f.Gitlink {
			return true
		}
	}
	return false
}

func (d *discovery) run(roots []string) (*Graph, error) {
	// Candidates: directories under the roots with configuration files or a
	// geodesic -from-module .envrc, plus every declared project.
	candidates := make(map[string]bool, len(d.tfDirs))
	fromModule := map[string]EnvrcSource{}
	for dir := range d.byDir {
		if !underRoot(dir, roots) {
			continue
		}
		if d.hasTerraform(dir) {
			candidates[dir] = true
		}
		src, ok, err := d.envrcSource(dir)
		if err != nil {
			return nil, err
		}
		if ok {
			candidates[dir] = true
			fromModule[dir] = src
		}
	}
	for _, p := range d.cfg.Projects {
		candidates[p.Dir] = true
	}
	// Sorted once: the candidates are final from here on.
	dirs := keys(candidates)
	if err := d.sourceCalls(dirs, fromModule); err != nil {
		return nil, err
	}

	// Parse the candidates, then whatever their local sources reach, until
	// nothing new is reached.
	frontier := dirs
	for len(frontier) > 0 {
		if err := d.parseDirs(frontier); err != nil {
			return nil, err
		}
		// A set: 20,000 projects calling 800 modules made a search of
		// the list for each call quadratic (45 ms at r20000).
		next := map[string]bool{}
		for _, dir := range frontier {
			for _, c := range d.calls[dir] {
				if !d.parsed[c.Target] {
					next[c.Target] = true
				}
			}
		}
		frontier = keys(next)
	}
	if d.opt.Parsed != nil {
		d.opt.Parsed()
	}
	if err := d.checkCycles(); err != nil && !d.opt.Lenient {
		return nil, err
	}

	g := &Graph{}
	if len(d.tfDirs) > 0 {
		g.TerraformDirs = keys(d.tfDirs)
	}
	d.projectDirs = make(map[string]bool, len(candidates))
	if len(candidates) > 0 {
		g.Projects = make([]Project, 0, len(candidates))
	}
	for dir := range candidates {
		if _, declared := d.cfg.ProjectByDir(dir); declared || !d.targets[dir] {
			d.projectDirs[dir] = true
		}
	}
	names := make(map[string]string, len(candidates))
	// The fingerprints and module closures (most of this loop's work) read
	// only the finished maps: they are computed on every core first.
	fingerprints := make([]string, len(dirs))
	closures := make([][]ModuleUse, len(dirs))
	forEach(len(dirs), d.workers(), func(i int) {
		if d.moduleOnly(dirs[i]) {
			return
		}
		fingerprints[i] = d.fingerprint(dirs[i])
		if !d.opt.Lenient {
			closures[i] = d.closure(dirs[i])
		}
	})
	for i, dir := range dirs {
		if d.moduleOnly(dir) {
			continue
		}
		decl, declared := d.cfg.ProjectByDir(dir)
		if declared && !d.exists(dir) {
			// Not a project of this commit: one whose directory is gone
			// is deleted, one whose directory is yet to come is added.
			d.warnings = append(d.warnings, fmt.Sprintf("%s: declared in %s but the directory does not exist in this commit: not a project here (remove the entry, or restore the directory)", dir, cfgName(d.cfg)))
			continue
		}
		if err := checkPath("project directory", dir, "rename the directory (git mv), or leave it out with an exclude: glob in "+cfgName(d.cfg)); err != nil {
			return nil, err
		}
		envrc, fromEnvrc := fromModule[dir]
		p := Project{Name: dir, Dir: dir, Declared: declared, FromModule: fromEnvrc, Fingerprint: fingerprints[i]}
		if fromEnvrc {
			p.Source, p.SourceFrom = envrc.Source, envrc.Where()
		}
		if !d.opt.Lenient {
			// A lenient (merge-base) graph answers only which projects
			// existed; the module closure is HEAD's question.
			p.Modules = closures[i]
			for _, m := range p.Modules {
				if err := checkPath("module directory", m.Dir, "rename the module's directory and the sources that name it"); err != nil {
					return nil, err
				}
			}
			p.Links, p.Symlinks = d.links(p)
		}
		if declared {
			if decl.Name != "" {
				if err := checkPath("project name", decl.Name, "choose another name: in "+cfgName(d.cfg)); err != nil {
					return nil, err
				}
				p.Name = decl.Name
			}
			p.Watch = decl.Watch
			p.DependsOn = append([]string(nil), decl.DependsOn...)
			if decl.Source != "" {
				p.Source, p.SourceFrom, p.FromModule = decl.Source, cfgName(d.cfg), true
			}
			p.Workspace = decl.Workspace
		}
		if fromEnvrc && p.SourceFrom != cfgName(d.cfg) && !d.opt.Lenient {
			if err := d.checkEnvrcSource(dir, envrc); err != nil {
				return nil, err
			}
		}
		if other, dup := names[p.Name]; dup {
			return nil, &Error{File: cfgName(d.cfg), Msg: fmt.Sprintf("project name %q is used by both %s and %s: give one of them another name", p.Name, other, dir)}
		}
		names[p.Name] = dir
		g.Projects = append(g.Projects, p)
	}
	sort.Slice(g.Projects, func(i, j int) bool { return g.Projects[i].Dir < g.Projects[j].Dir })
	if err := checkDependsOn(g, d.cfg, d.opt.Lenient); err != nil {
		return nil, err
	}
	if d.opt.DefaultRoots && !d.opt.Lenient {
		d.warnOutsideRoots(roots)
	}
	sort.Strings(d.warnings)
	g.Warnings = slices.Compact(d.warnings)
	return g, nil
}

// envrcSource reads the -from-module source that dir's direnv files set:
// its .envrc (a regular file: a symlinked .envrc is not read), and the
// *.envrc files that `use envrc` sources.
func (d *discovery) envrcSource(dir string) (EnvrcSource, bool, error) {
	var envrc File
	for _, f := range d.byDir[dir] {
		if strings.HasSuffix(f.Path, ".envrc") && path.Base(f.Path) == ".envrc" {
			envrc = f
		}
	}
	if envrc.Path == "" || envrc.Symlink || envrc.Gitlink {
		return EnvrcSource{}, false, nil
	}
	read := func(p string) ([]byte, error) {
		f, _ := d.file(p)
		return d.tree.Read(f)
	}
	return ReadEnvrc(envrc.Path, read, regularFiles(d.byDir[dir]))
}

// sourceCalls records each project's local -from-module source (a path,
// declared in atoll.yaml or read from its direnv files) as a module call:
// terraform init -from-module copies that directory into the project, and
// the modules it calls with ./ paths are read where they are, so the
// directory and what it calls are the project's inputs, in change
// detection and in the scratch checkout alike. A path that leaves the
// repository is refused elsewhere (config, checkEnvrcSource).
func (d *discovery) sourceCalls(candidates []string, fromModule map[string]EnvrcSource) error {
	for _, dir := range candidates {
		var c Call
		var file string
		if i := slices.IndexFunc(d.cfg.Projects, func(p config.Project) bool { return p.Dir == dir }); i >= 0 && d.cfg.Projects[i].Source != "" {
			c, file = Call{Name: fmt.Sprintf("projects[%d].source", i), Source: d.cfg.Projects[i].Source}, cfgName(d.cfg)
		} else if s, ok := fromModule[dir]; ok && s.Known {
			c, file = Call{Name: s.Var, Source: s.Source, Line: s.Line}, s.File
		} else {
			continue
		}
		if !IsLocal(c.Source) {
			continue
		}
		if _, inside := modsource.Join(dir, c.Source); !inside {
			continue
		}
		target, links, err := d.resolve(dir, c, file)
		if err != nil {
			if d.opt.Lenient {
				continue
			}
			return err
		}
		if !d.exists(target) {
			d.warnings = append(d.warnings, fmt.Sprintf("%s: -from-module source %q (%s) names %s, which does not exist in this commit", where(file, c.Line), c.Source, c.Name, target))
		}
		d.calls[dir] = append(d.calls[dir], dirCall{Call: c, File: file, Target: target, Links: links})
		d.targets[target] = true
	}
	return nil
}

func where(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// checkEnvrcSource holds a -from-module source from the direnv files to
// the rule module sources follow: inside the repository, or remote. A
// source only the shell can evaluate is a warning: plan and apply need it
// declared.
func (d *discovery) checkEnvrcSource(dir string, s EnvrcSource) error {
	if !s.Known {
		d.warnings = append(d.warnings, fmt.Sprintf("%s: %s=%s needs the shell to evaluate (change detection does not run direnv), so atoll does not know where %s's code comes from: declare it as projects[].source in %s", s.Where(), s.Var, s.Value, dir, cfgName(d.cfg)))
		return nil
	}
	const fix = "vendor the module into the repository and name it relative to the project directory (../../modules/x), or give it a remote source pinned to a version"
	if modsource.IsAbsolute(s.Source) {
		return &Error{File: s.File, Line: s.Line, Msg: fmt.Sprintf("%s %q is an absolute path, outside the repository; atoll cannot track what the repository does not hold: %s", s.Var, s.Source, fix)}
	}
	if modsource.IsLocal(s.Source) {
		if target, inside := modsource.Join(dir, s.Source); !inside {
			return &Error{File: s.File, Line: s.Line, Msg: fmt.Sprintf("%s %q resolves (from %s) to %s, outside the repository; atoll cannot track what the repository does not hold: %s", s.Var, s.Source, dir, target, fix)}
		}
	}
	return nil
}

func (d *discovery) fingerprint(dir string) string {
	files := d.byDir[dir]
	if len(files) == 0 {
		return ""
	}
	for _, f := range files {
		if f.ID == "" {
			return "" // uncommitted content has no identity to compare
		}
	}
	// The hash is over the files' names and contents in name order; a
	// listing is in that order already, so sorting is rarely needed.
	byName := func(a, b File) int { return strings.Compare(path.Base(a.Path), path.Base(b.Path)) }
	if !slices.IsSortedFunc(files, byName) {
		files = slices.SortedFunc(slices.Values(files), byName)
	}
	h := sha256.New()
	var line []byte
	for _, f := range files {
		line = append(append(append(append(line[:0], path.Base(f.Path)...), 0), f.ID...), 0)
		h.Write(line)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func cfgName(c *config.Config) string {
	if c.File != "" {
		return c.File
	}
	return config.FileName
}

// file returns the listed file at p (outside excluded directories).
func (d *discovery) file(p string) (File, bool) {
	fs := d.byDir[path.Dir(p)]
	i, ok := slices.BinarySearchFunc(fs, p, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return File{}, false
	}
	return fs[i], true
}

func compareFiles(a, b File) int { return strings.Compare(a.Path, b.Path) }

func (d *discovery) isGitlink(p string) bool {
	f, _ := d.file(p)
	return f.Gitlink
}

// exists reports whether the tree holds a file in dir or below it.
func (d *discovery) exists(dir string) bool {
	return dir == "." || d.present[dir]
}

// parseDirs reads and parses the configuration files of dirs in parallel.
func (d *discovery) parseDirs(dirs []string) error {
	var todo []File
	for _, dir := range dirs {
		if d.parsed[dir] {
			continue
		}
		d.parsed[dir] = true
		for _, f := range d.byDir[dir] {
			if IsTerraformFile(f.Path) && !f.Gitlink {
				todo = append(todo, f)
			}
		}
	}
	results := make([][]Call, len(todo))
	errs := make([]error, len(todo))
	forEach(len(todo), d.workers(), func(i int) {
		results[i], errs[i] = d.parseFile(todo[i])
		var se *SyntaxError
		if d.opt.Lenient && errors.As(errs[i], &se) {
			results[i], errs[i] = nil, nil
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, f := range todo {
		dir := path.Dir(f.Path)
		for _, c := range results[i] {
			if modsource.IsAbsolute(c.Source) {
				if d.opt.Lenient {
					continue
				}
				return &Error{File: f.Path, Line: c.Line, Msg: fmt.Sprintf("module %q: source %q is an absolute path, outside the repository; Terraform copies it from the machine that runs it, and atoll cannot track what the repository does not hold: vendor the module into the repository and call it with a relative path (./ or ../), or give it a remote source", c.Name, c.Source)}
			}
			if !IsLocal(c.Source) {
				continue
			}
			target, links, err := d.resolve(dir, c, f.Path)
			if err != nil {
				var pe *Error
				if d.opt.Lenient && errors.As(err, &pe) {
					continue
				}
				return err
			}
			// A submodule is a directory whose files are another
			// repository's: its calls cannot be read, a bump of its
			// commit is a change at its path.
			if !d.exists(target) && !d.isGitlink(target) {
				d.warnings = append(d.warnings, fmt.Sprintf("%s:%d: module %q: source %q names %s, which does not exist in this commit", f.Path, c.Line, c.Name, c.Source, target))
			}
			d.calls[dir] = append(d.calls[dir], dirCall{Call: c, File: f.Path, Target: target, Links: links})
			d.targets[target] = true
		}
	}
	return nil
}

func (d *discovery) parseFile(f File) ([]Call, error) {
	content := f
	if f.Symlink {
		// Terraform reads a symlinked file where the link is: parse the
		// target's bytes as this file (sources resolve from here). Links
		// that leave the repository are never followed (see links).
		target, _, err := d.linkTarget(f)
		if err != nil {
			return nil, nil
		}
		t, ok := d.file(target)
		if !ok || t.Symlink || t.Gitlink {
			return nil, nil
		}
		content = t
	}
	// The same bytes parse differently as JSON and as native syntax.
	key := content.ID + ":native"
	if strings.HasSuffix(f.Path, ".json") {
		key = content.ID + ":json"
	}
	if content.ID != "" && d.opt.Cache != nil {
		if c, ok := d.opt.Cache.Calls(key); ok {
			return c, nil
		}
	}
	b, err := d.tree.Read(content)
	if err != nil {
		return nil, err
	}
	calls, err := ParseCalls(f.Path, b)
	if err != nil {
		return nil, err
	}
	if content.ID != "" && d.opt.Cache != nil {
		d.opt.Cache.SetCalls(key, calls)
	}
	return calls, nil
}

// MaxSymlinks is how many symlinks one path may go through, counting the
// first: Linux's limit (MAXSYMLINKS), past which opening the path fails
// with ELOOP. Change detection and the scratch checkout follow as many as
// Terraform will, no fewer.
const MaxSymlinks = 40

// linkTarget resolves a symlink to the repository path it names,
// following further links, also ones among the target's parents; hops are
// the symlinks it went through, f first. An error when it leaves the
// repository.
func (d *discovery) linkTarget(f File) (target string, hops []string, err error) {
	hops = []string{f.Path}
	target, err = d.readLink(f, f)
	for n := 0; err == nil; n++ {
		link, rest, ok := d.symlinkPrefix(target)
		if !ok {
			return target, hops, nil
		}
		if n == MaxSymlinks-1 { // f and MaxSymlinks-1 more followed already
			return "", hops, fmt.Errorf("%s: symlink loop: not followed", f.Path)
		}
		hops = append(hops, link.Path)
		var dest string
		if dest, err = d.readLink(f, link); err == nil {
			target = path.Join(dest, rest)
		}
	}
	return "", hops, err
}

// readLink returns the repository path a symlink names, or an error
// (about from, the link being resolved) when it leaves the repository.
func (d *discovery) readLink(from, link File) (string, error) {
	b, err := d.tree.Read(link)
	if err != nil {
		return "", err
	}
	dest := string(b)
	target := path.Join(path.Dir(link.Path), dest)
	if path.IsAbs(dest) || target == ".." || strings.HasPrefix(target, "../") {
		if link.Path != from.Path {
			return "", fmt.Errorf("%s: symlink leads through %s, a symlink to %s, which leaves the repository: not followed", from.Path, link.Path, dest)
		}
		return "", fmt.Errorf("%s: symlink to %s leaves the repository: not followed", from.Path, dest)
	}
	return target, nil
}

// links lists where the symlinks inside a project and its modules lead,
// and every symlink that reaching them, or the project's modules, went
// through.
func (d *discovery) links(p Project) (targets, through []string) {
	dirs := map[string]bool{p.Dir: true}
	for _, m := range p.Modules {
		dirs[m.Dir] = true
	}
	seen := map[string]bool{}
	via := map[string]bool{}
	for dir := range dirs {
		for _, c := range d.calls[dir] {
			for _, l := range c.Links {
				via[l] = true
			}
		}
	}
	for _, s := range d.symlinks {
		if !dirs[d.holder(path.Dir(s.Path))] {
			continue
		}
		target, hops, err := d.linkTarget(s)
		for _, h := range hops[1:] {
			via[h] = true
		}
		if err != nil {
			if !seen["warn:"+s.Path] {
				seen["warn:"+s.Path] = true
				d.warnings = append(d.warnings, err.Error())
			}
			continue
		}
		if !seen[target] {
			seen[target] = true
			targets = append(targets, target)
		}
	}
	sort.Strings(targets)
	if len(via) > 0 {
		through = keys(via)
	}
	return targets, through
}

// holder is the directory whose files a file in dir is part of: dir
// itself or the nearest parent that holds Terraform files of its own (or
// is a project); "" when there is none.
func (d *discovery) holder(dir string) string {
	for {
		if d.tfDirs[dir] || d.projectDirs[dir] {
			return dir
		}
		if dir == "." || dir == "/" {
			return ""
		}
		dir = path.Dir(dir)
	}
}

// resolve turns a local source into the repository-relative directory it
// names, following symlinks that stay inside the repository; links are
// the symlinks it went through.
func (d *discovery) resolve(dir string, c Call, file string) (target string, links []string, err error) {
	// A local source is a path, read the way Terraform reads it: "//" is
	// a doubled separator (the subdirectory separator of remote sources
	// only) and backslashes are separators.
	target, inside := modsource.Join(dir, c.Source)
	outside := func(how string) error {
		return &Error{File: file, Line: c.Line, Msg: fmt.Sprintf("module %q: source %q %s, outside the repository; atoll cannot track what it does not hold: vendor the module into the repository or give it a remote source", c.Name, c.Source, how)}
	}
	if !inside {
		return "", nil, outside("resolves to " + target)
	}
	// Follow symlinked path components, as many as the kernel would: more
	// is a loop, and an error.
	for {
		link, rest, ok := d.symlinkPrefix(target)
		if !ok {
			return target, links, nil
		}
		if len(links) == MaxSymlinks {
			break
		}
		links = append(links, link.Path)
		b, err := d.tree.Read(link)
		if err != nil {
			return "", nil, err
		}
		dest := string(b)
		if path.IsAbs(dest) {
			return "", nil, outside("goes through symlink " + link.Path + " -> " + dest)
		}
		next := path.Join(path.Dir(link.Path), dest, rest)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", nil, outside("goes through symlink " + link.Path + " -> " + dest)
		}
		target = next
	}
	return "", nil, &Error{File: file, Line: c.Line, Msg: fmt.Sprintf("module %q: source %q goes through a symlink loop", c.Name, c.Source)}
}

// symlinkPrefix finds a symlink among p and its parents.
func (d *discovery) symlinkPrefix(p string) (File, string, bool) {
	parts := strings.Split(p, "/")
	for i := 1; i <= len(parts); i++ {
		pre := strings.Join(parts[:i], "/")
		if f, ok := d.file(pre); ok && f.Symlink {
			return f, strings.Join(parts[i:], "/"), true
		}
	}
	return File{}, "", false
}

// checkCycles fails on any cycle of local module calls, naming each call.
func (d *discovery) checkCycles() error {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []dirCall
	var visit func(dir string) error
	visit = func(dir string) error {
		color[dir] = grey
		for _, c := range d.calls[dir] {
			switch color[c.Target] {
			case grey:
				start := 0
				for i, s := range stack {
					if path.Dir(s.File) == c.Target {
						start = i
						break
					}
				}
				var parts []string
				for _, s := range append(stack[start:], c) {
					parts = append(parts, fmt.Sprintf("%s (module %q)", where(s.File, s.Line), s.Name))
				}
				return &Error{File: c.File, Line: c.Line, Msg: "module cycle: " + strings.Join(parts, " -> ") + " -> back to " + c.Target + "; Terraform cannot load a module that calls itself"}
			case white:
				stack = append(stack, c)
				if err := visit(c.Target); err != nil {
					return err
				}
				stack = stack[:len(stack)-1]
			}
		}
		color[dir] = black
		return nil
	}
	for _, dir := range keys(d.parsed) {
		if color[dir] == white {
			if err := visit(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// closure lists the modules reachable from dir, breadth first so each
// chain is a shortest one.
func (d *discovery) closure(dir string) []ModuleUse {
	chains := map[string][]string{dir: {dir}}
	queue := []string{dir}
	var out []ModuleUse
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range d.calls[cur] {
			if _, seen := chains[c.Target]; seen {
				continue
			}
			chain := append(append([]string{}, chains[cur]...), c.Target)
			chains[c.Target] = chain
			out = append(out, ModuleUse{Dir: c.Target, Chain: chain})
			queue = append(queue, c.Target)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

// checkDependsOn resolves depends_on references to directories and fails
// on references to nothing and on cycles.
func checkDependsOn(g *Graph, cfg *config.Config, lenient bool) error {
	// Only declared projects have dependencies: without any there is
	// nothing to resolve, and no edge a cycle could use.
	if !slices.ContainsFunc(g.Projects, func(p Project) bool { return len(p.DependsOn) > 0 }) {
		return nil
	}
	known := make(map[string]string, 2*len(g.Projects))
	for _, p := range g.Projects {
		known[p.Name] = p.Dir
		known[p.Dir] = p.Dir
	}
	where := func(dir string, j int) string {
		for i, p := range cfg.Projects {
			if p.Dir == dir {
				return fmt.Sprintf("projects[%d].depends_on[%d]", i, j)
			}
		}
		return "depends_on"
	}
	after := map[string][]string{}
	for i, p := range g.Projects {
		var deps []string
		for j, dep := range p.DependsOn {
			dir, ok := known[dep]
			if !ok {
				if lenient {
					continue
				}
				key := where(p.Dir, j)
				return &Error{File: cfgName(cfg), Msg: fmt.Sprintf("%s: project %s: depends_on %q names no project (use a project name or directory; `atoll projects` lists them)", key, p.Name, dep)}
			}
			deps = append(deps, dir)
		}
		g.Projects[i].DependsOn = deps
		after[p.Dir] = deps
	}
	// A cycle would leave no valid order to plan and apply in.
	state := map[string]int{}
	var path []string
	var visit func(dir string) error
	visit = func(dir string) error {
		state[dir] = 1
		path = append(path, dir)
		for _, dep := range after[dir] {
			switch state[dep] {
			case 1:
				if lenient {
					continue
				}
				i := 0
				for path[i] != dep {
					i++
				}
				return &Error{File: cfgName(cfg), Msg: "depends_on cycle: " + strings.Join(append(append([]string{}, path[i:]...), dep), " -> ") + "; no order can satisfy it"}
			case 0:
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[dir] = 2
		return nil
	}
	for _, p := range g.Projects {
		if state[p.Dir] == 0 {
			if err := visit(p.Dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// moduleOnly reports whether a candidate directory is a module some
// project calls and not a project itself (atoll.yaml can declare it one).
func (d *discovery) moduleOnly(dir string) bool {
	_, declared := d.cfg.ProjectByDir(dir)
	return d.targets[dir] && !declared
}

// workers is how many goroutines share discovery's parallel work.
func (d *discovery) workers() int {
	if d.opt.Workers > 0 {
		return d.opt.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// forEach calls f(0) ... f(n-1) on up to workers goroutines and returns
// when all have returned. Each worker takes the next index by counter:
// handing indices out over a channel woke the receiver on the sender's
// processor, and one of two cores sat idle for a third of a parse round.
func forEach(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
