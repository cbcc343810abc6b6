// Package affected decides which projects a set of changed paths affects,
// and why. It is pure: no git, no files, no terminal.
package affected

import (
	"path"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/bmatcuk/doublestar/v4"
)

// Status of an affected project.
type Status string

const (
	Modified Status = "modified"
	// Added: the project does not exist at the merge-base.
	Added Status = "added"
	// Deleted: the project exists at the merge-base but not at HEAD. Its
	// infrastructure still exists and needs a destroy.
	Deleted Status = "deleted"
	// Renamed: the project's directory moved. In geodesic the state key
	// derives from the path, so this is a new state unless migrated.
	Renamed Status = "renamed"
)

// Reason kinds.
const (
	KindFile        = "file"         // a file inside the project changed
	KindModule      = "module"       // a file inside a local module it uses changed
	KindWatch       = "watch"        // the project's watch glob matched
	KindGlobalWatch = "global-watch" // a global watch glob matched
	KindEnvrc       = "envrc"        // a parent directory's .envrc changed
	KindSymlink     = "symlink"      // a file a symlink in the project (or a module) leads to changed
	KindConfig      = "config"       // the project's entry (or a global setting) in atoll.yaml changed
	// KindNowModule: a deleted project's directory is now called as a
	// module by another project; its own state still exists.
	KindNowModule = "now-a-module"
)

// Change is a changed path.
type Change struct {
	Path string
	// Action is added, deleted or modified.
	Action string
}

// Reason explains why a project is affected.
type Reason struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
	// Via is the chain of directories from the project to the module that
	// holds Path (module reasons), or the glob that matched (watch reasons).
	Via []string `json:"via,omitempty"`
}

// Project is an affected project.
type Project struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"`
	Status Status `json:"status"`
	// From is the old directory of a renamed project.
	From    string   `json:"from,omitempty"`
	Reasons []Reason `json:"reasons"`
}

// Input is everything the decision depends on.
type Input struct {
	Changes []Change
	// Head is the graph at the commit examined; Base at the merge-base.
	Head, Base *project.Graph
	// Watch are the global watch globs.
	Watch []string
	// ConfigFile is atoll.yaml's path when the change alters it;
	// ConfigProjects are the directories whose entries differ, and
	// ConfigGlobal says a setting of every project (roots, exclude, watch)
	// differs.
	ConfigFile     string
	ConfigProjects []string
	ConfigGlobal   bool
	// Remaining are directories that directly hold files at HEAD (only
	// those of merge-base projects need be listed). A merge-base project
	// whose directory remains is not deleted, even when HEAD no longer
	// counts it as a project: Unrecognised warns about it instead.
	Remaining map[string]bool
}

// Decision is what Decide answers.
type Decision struct {
	// Projects are the affected projects sorted by directory.
	Projects []Project
	// Unrecognised are the directories UnrecognisedDirs lists.
	Unrecognised []string
}

// Decide answers Compute and UnrecognisedDirs at once, indexing each
// graph once.
func Decide(in Input) Decision {
	head, base := index(in.Head, in.Changes), index(in.Base, nil)
	return Decision{Projects: compute(in, head, base), Unrecognised: unrecognisedDirs(in, head)}
}

// Compute returns the affected projects sorted by directory.
func Compute(in Input) []Project {
	return compute(in, index(in.Head, in.Changes), index(in.Base, nil))
}

func compute(in Input, head, base graphIndex) []Project {
	byDir := map[string]*Project{}
	add := func(p project.Project, r Reason) {
		ap := byDir[p.Dir]
		if ap == nil {
			ap = &Project{Name: p.Name, Dir: p.Dir, Status: Modified}
			byDir[p.Dir] = ap
		}
		for _, have := range ap.Reasons {
			if have.Kind == r.Kind && have.Path == r.Path {
				return
			}
		}
		ap.Reasons = append(ap.Reasons, r)
	}

	for _, c := range in.Changes {
		// A file exists at HEAD unless deleted, at the merge-base unless
		// added; it is attributed on each side where it exists.
		atHead, atBase := c.Action != "deleted", c.Action != "added"
		// 1. Inside a project: the deepest project directory that holds it,
		// unless a directory with Terraform files of its own comes first.
		if atHead {
			if p, ok := head.owner(c.Path); ok {
				add(p, Reason{Kind: KindFile, Path: c.Path})
			}
		}
		if atBase {
			// A file of a project that still exists (one that does not is
			// deleted, below).
			if p, ok := base.owner(c.Path); ok {
				if hp, still := head.project(p.Dir); still {
					add(hp, Reason{Kind: KindFile, Path: c.Path})
				}
			}
		}
		// 2. Inside a local module a project uses, up to the first
		// directory holding Terraform files of its own on every side where
		// the file exists: below that, it is not the module's.
		for dir := path.Dir(c.Path); ; dir = path.Dir(dir) {
			for _, u := range head.users[dir] {
				add(in.Head.Projects[u.project], Reason{Kind: KindModule, Path: c.Path, Via: u.chain})
			}
			if dir == "." || (!atHead || head.boundary(dir)) && (!atBase || base.boundary(dir)) {
				break
			}
		}
		// A changed path at a module's directory, or at one of its parents,
		// is a symlink or file that now or then stood where the module is:
		// what Terraform loads there changed.
		for _, u := range head.under[c.Path] {
			add(in.Head.Projects[u.project], Reason{Kind: KindModule, Path: c.Path, Via: u.chain})
		}
		// A symlink that resolving a project's modules or linked files went
		// through changed: it may lead somewhere else now.
		for _, i := range head.through[c.Path] {
			add(in.Head.Projects[i], Reason{Kind: KindSymlink, Path: c.Path, Via: []string{c.Path}})
		}
		// 3. Watch globs.
		for _, g := range in.Watch {
			if matchGlob(g, c.Path) {
				for _, p := range in.Head.Projects {
					add(p, Reason{Kind: KindGlobalWatch, Path: c.Path, Via: []string{g}})
				}
			}
		}
		for _, p := range in.Head.Projects {
			for _, g := range p.Watch {
				if matchGlob(g, c.Path) {
					add(p, Reason{Kind: KindWatch, Path: c.Path, Via: []string{g}})
				}
			}
		}
		// Symlinks inside a project or its modules lead to files Terraform
		// reads: changes there count.
		for _, p := range in.Head.Projects {
			for _, l := range p.Links {
				if c.Path == l || strings.HasPrefix(c.Path, l+"/") {
					add(p, Reason{Kind: KindSymlink, Path: c.Path, Via: []string{l}})
				}
			}
		}
		// 4. A .envrc in a parent directory (direnv source_up).
		if path.Base(c.Path) == ".envrc" {
			dir := path.Dir(c.Path)
			for _, p := range in.Head.Projects {
				if dir == "." || strings.HasPrefix(p.Dir, dir+"/") {
					add(p, Reason{Kind: KindEnvrc, Path: c.Path})
				}
			}
		}
	}

	entry := map[string]bool{}
	for _, d := range in.ConfigProjects {
		entry[d] = true
	}
	if in.ConfigFile != "" {
		for _, p := range in.Head.Projects {
			switch {
			case in.ConfigGlobal:
				add(p, Reason{Kind: KindConfig, Path: in.ConfigFile, Via: []string{"roots, exclude or watch"}})
			case entry[p.Dir]:
				add(p, Reason{Kind: KindConfig, Path: in.ConfigFile, Via: []string{"projects: " + p.Dir}})
			}
		}
	}

	// Statuses: added where absent at the merge-base; deleted projects come
	// from the merge-base graph; a deleted and an added project with the
	// same files are one renamed project.
	var deleted []project.Project
	for _, p := range in.Base.Projects {
		if _, still := head.byDir[p.Dir]; !still && !unrecognised(in, head, p) {
			deleted = append(deleted, p)
		}
	}
	for dir, ap := range byDir {
		if _, existed := base.byDir[dir]; !existed {
			ap.Status = Added
		}
	}
	// A deleted and an added project are one moved project when their files
	// are identical and no other deleted or added project shares them.
	addedBy := map[string][]*Project{}
	for _, ap := range byDir {
		if hp, _ := head.project(ap.Dir); ap.Status == Added && hp.Fingerprint != "" {
			fp := hp.Fingerprint
			addedBy[fp] = append(addedBy[fp], ap)
		}
	}
	deletedBy := map[string]int{}
	for _, old := range deleted {
		deletedBy[old.Fingerprint]++
	}
	for _, old := range deleted {
		if to := addedBy[old.Fingerprint]; old.Fingerprint != "" && len(to) == 1 && deletedBy[old.Fingerprint] == 1 {
			to[0].Status = Renamed
			to[0].From = old.Dir
			continue
		}
		dp := &Project{Name: old.Name, Dir: old.Dir, Status: Deleted, Reasons: []Reason{}}
		for _, c := range in.Changes {
			if owner, ok := base.owner(c.Path); ok && owner.Dir == old.Dir && c.Action != "added" {
				dp.Reasons = append(dp.Reasons, Reason{Kind: KindFile, Path: c.Path})
			}
		}
		if in.ConfigFile != "" && entry[old.Dir] {
			// Its entry went with it (or changed): the configuration says
			// it is no project any more.
			dp.Reasons = append(dp.Reasons, Reason{Kind: KindConfig, Path: in.ConfigFile, Via: []string{"projects: " + old.Dir}})
		}
		for _, u := range head.users[old.Dir] {
			dp.Reasons = append(dp.Reasons, Reason{Kind: KindNowModule, Path: old.Dir, Via: []string{in.Head.Projects[u.project].Dir}})
		}
		byDir[old.Dir] = dp
	}

	out := make([]Project, 0, len(byDir))
	for _, p := range byDir {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

// unrecognised reports whether a merge-base project that is no project at
// HEAD still has its directory, with files in it, and is not called as a
// module there: it is not deleted (deleted means a destroy), HEAD just no
// longer recognises it.
func unrecognised(in Input, head graphIndex, p project.Project) bool {
	if _, still := head.byDir[p.Dir]; still {
		return false
	}
	return in.Remaining[p.Dir] && len(head.users[p.Dir]) == 0
}

// Unrecognised warns about each merge-base project that HEAD no longer
// recognises although its directory still holds files: Compute reports it
// neither as deleted nor at all, since there is no project at HEAD to plan,
// and its infrastructure has not been given up either.
func UnrecognisedWarnings(dirs []string) []string {
	var out []string
	for _, dir := range dirs {
		out = append(out, dir+": a project at the merge-base, but not at HEAD, where its directory still holds files yet no *.tf, *.tf.json, *.tofu or *.tofu.json file, and its direnv files (.envrc and the *.envrc files `use envrc` sources) set no TF_CLI_INIT_FROM_MODULE or TF_FROM_MODULE; not reported as deleted, which would mean a destroy, and atoll guard refuses the branch (check tracked): to delete the project remove its directory, else make it a project again (or declare it under projects: in atoll.yaml)")
	}
	return out
}

// Unrecognised explains each directory of UnrecognisedDirs.
func Unrecognised(in Input) []string {
	return UnrecognisedWarnings(UnrecognisedDirs(in))
}

// UnrecognisedDirs are the directories Unrecognised explains.
func UnrecognisedDirs(in Input) []string {
	return unrecognisedDirs(in, index(in.Head, nil))
}

func unrecognisedDirs(in Input, head graphIndex) []string {
	if in.Base == nil {
		return nil
	}
	var out []string
	for _, p := range in.Base.Projects {
		if unrecognised(in, head, p) {
			out = append(out, p.Dir)
		}
	}
	return out
}

// matchGlob matches a path, or any directory above it, so that a glob
// naming a directory covers everything inside.
func matchGlob(g, p string) bool {
	for cur := p; cur != "." && cur != "/"; cur = path.Dir(cur) {
		if ok, _ := doublestar.Match(g, cur); ok {
			return true
		}
	}
	return false
}

type use struct {
	project int
	chain   []string
}

type graphIndex struct {
	g *project.Graph
	// byDir indexes g.Projects by directory.
	byDir map[string]int
	users map[string][]use
	// under: the uses of modules at or below a directory, for the
	// directories asked for only.
	under map[string][]use
	// through: the projects whose resolution went through a symlink.
	through map[string][]int
	tfDirs  map[string]bool
}

// index indexes a graph; under is filled for the changed paths.
func index(g *project.Graph, changes []Change) graphIndex {
	ix := graphIndex{g: g, users: map[string][]use{}, under: map[string][]use{}, through: map[string][]int{}}
	if g == nil {
		return ix
	}
	ix.byDir = make(map[string]int, len(g.Projects))
	ix.tfDirs = make(map[string]bool, len(g.TerraformDirs))
	for _, d := range g.TerraformDirs {
		ix.tfDirs[d] = true
	}
	asked := make(map[string]bool, len(changes))
	for _, c := range changes {
		asked[c.Path] = true
	}
	for i, p := range g.Projects {
		ix.byDir[p.Dir] = i
		for _, m := range p.Modules {
			u := use{project: i, chain: m.Chain}
			ix.users[m.Dir] = append(ix.users[m.Dir], u)
			if len(asked) == 0 {
				continue
			}
			for d := m.Dir; d != "." && d != "/"; d = path.Dir(d) {
				if asked[d] {
					ix.under[d] = append(ix.under[d], u)
				}
			}
		}
		for _, l := range p.Symlinks {
			ix.through[l] = append(ix.through[l], i)
		}
	}
	return ix
}

// project returns the project at dir.
func (ix graphIndex) project(dir string) (project.Project, bool) {
	i, ok := ix.byDir[dir]
	if !ok {
		return project.Project{}, false
	}
	return ix.g.Projects[i], true
}

// boundary reports whether dir holds Terraform files of its own (or is a
// project): Terraform loads only a directory's own files, so a file below
// it belongs to it, not to a project or module above.
func (ix graphIndex) boundary(dir string) bool {
	_, isProject := ix.byDir[dir]
	return isProject || ix.tfDirs[dir]
}

// owner returns the deepest project whose directory holds p, unless a
// directory with Terraform files of its own (a module, an excluded
// directory) lies between them.
func (ix graphIndex) owner(p string) (project.Project, bool) {
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if i, ok := ix.byDir[dir]; ok {
			return ix.g.Projects[i], true
		}
		if ix.tfDirs[dir] || dir == "." || dir == "/" {
			return project.Project{}, false
		}
	}
}
