package workspace

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/bmatcuk/doublestar/v4"
)

// file is one file to write into a checkout.
type file struct {
	git.Entry
	// target is a symlink's destination as written in the commit.
	target string
}

// mode is the git file mode, as recorded in the inputs hash.
func (f file) mode() string {
	switch {
	case f.Symlink:
		return "120000"
	case f.Executable:
		return "100755"
	}
	return "100644"
}

// selection is what a set of projects needs from a commit.
type selection struct {
	files map[string]file
	// byProject lists, per project directory, the paths written for it.
	byProject map[string][]string
	warnings  []string
}

// selectFiles decides the files of each project.
func selectFiles(repo *git.Repo, tree git.Hash, projects []project.Project, globalWatch []string) (*selection, error) {
	t := &treeView{repo: repo, root: tree, subtree: map[string][]git.Entry{}, direct: map[string]map[string]git.Entry{}, targets: map[git.Hash]string{}}
	sel := &selection{files: map[string]file{}, byProject: map[string][]string{}}
	warned := map[string]bool{}
	for _, p := range projects {
		files, warnings, err := t.projectFiles(p, globalWatch)
		if err != nil {
			return nil, err
		}
		paths := make([]string, 0, len(files))
		for _, f := range files {
			paths = append(paths, f.Path)
			sel.files[f.Path] = f
		}
		sort.Strings(paths)
		sel.byProject[p.Dir] = paths
		for _, w := range warnings {
			if !warned[w] {
				warned[w] = true
				sel.warnings = append(sel.warnings, w)
			}
		}
	}
	sort.Strings(sel.warnings)
	return sel, nil
}

// projectFiles lists what a project needs: its whole directory, the local
// modules it uses, what its and the global watch globs match, the .envrc
// files of its parent directories (direnv's source_up), and, for symlinks
// among those, what they point to. Symlinks that leave the repository and
// submodules are left out, with a warning.
func (t *treeView) projectFiles(p project.Project, globalWatch []string) (map[string]file, []string, error) {
	var todo []git.Entry
	dirs := []string{p.Dir}
	for _, m := range p.Modules {
		dirs = append(dirs, m.Dir)
	}
	var warnings []string
	for i, d := range dirs {
		es, err := t.walk(d)
		if err != nil {
			return nil, nil, err
		}
		if len(es) == 0 {
			// The directory may be a submodule (warned about below).
			e, ok, err := t.file(d)
			if err != nil {
				return nil, nil, err
			}
			if ok && e.Gitlink {
				es = []git.Entry{e}
			} else if i == 0 {
				warnings = append(warnings, fmt.Sprintf("%s: the project directory does not exist in this commit", d))
			}
		}
		todo = append(todo, es...)
	}
	for _, g := range append(append([]string(nil), p.Watch...), globalWatch...) {
		es, err := t.glob(g)
		if err != nil {
			return nil, nil, err
		}
		todo = append(todo, es...)
	}
	for dir := p.Dir; dir != "." && dir != ""; {
		dir = path.Dir(dir)
		e, ok, err := t.file(path.Join(dir, ".envrc"))
		if err != nil {
			return nil, nil, err
		}
		if ok {
			todo = append(todo, e)
		}
	}

	files := map[string]file{}
	done := map[string]bool{}
	for len(todo) > 0 {
		e := todo[0]
		todo = todo[1:]
		if done[e.Path] || inTerraformDir(e.Path) {
			continue
		}
		done[e.Path] = true
		if e.Gitlink {
			// A submodule's files are in another repository: the checkout
			// has no directory there, so Terraform fails on a module it
			// cannot read instead of planning an empty one.
			warnings = append(warnings, fmt.Sprintf("%s: a git submodule; atoll does not check out submodules, so it is missing from the checkout", e.Path))
			continue
		}
		if !e.Symlink {
			files[e.Path] = file{Entry: e}
			continue
		}
		target, err := t.linkTarget(e)
		if err != nil {
			return nil, nil, err
		}
		dest, via, why, err := t.resolve(e.Path, target)
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			warnings = append(warnings, fmt.Sprintf("%s: symlink to %s %s; left out of the checkout", e.Path, target, why))
			continue
		}
		files[e.Path] = file{Entry: e, target: target}
		// The links it goes through must exist in the checkout too; what
		// they point to is written only as far as this link reaches.
		for _, v := range via {
			if _, ok := files[v.Path]; !ok && !inTerraformDir(v.Path) {
				files[v.Path] = file{Entry: v, target: t.targets[v.Blob]}
			}
		}
		if f, ok, err := t.file(dest); err != nil {
			return nil, nil, err
		} else if ok {
			todo = append(todo, f)
			continue
		}
		es, err := t.walk(dest)
		if err != nil {
			return nil, nil, err
		}
		if len(es) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s: symlink to %s, which does not exist in this commit", e.Path, target))
		}
		todo = append(todo, es...)
	}
	return files, warnings, nil
}

func inTerraformDir(p string) bool {
	return strings.HasPrefix(p, ".terraform/") || strings.Contains(p, "/.terraform/")
}

// treeView answers questions about one commit's tree, remembering what it
// has read. It lists through Repo.Files from the root tree, pruning every
// directory off the path, which is safe for concurrent use of the Repo.
type treeView struct {
	repo    *git.Repo
	root    git.Hash
	subtree map[string][]git.Entry          // dir -> every file under it
	direct  map[string]map[string]git.Entry // dir -> name -> file directly in it
	targets map[git.Hash]string
}

// list lists the files under dir, the whole subtree when deep, else only
// those directly in it; .terraform directories are left out.
func (t *treeView) list(dir string, deep bool) ([]git.Entry, error) {
	inside := func(p string) bool { return dir == "." || strings.HasPrefix(p, dir+"/") }
	es, err := t.repo.Files(t.root, func(p string) bool {
		if inside(p) {
			return !deep || path.Base(p) == ".terraform"
		}
		// Directories on the way down to dir are walked, the rest pruned.
		return p != dir && !strings.HasPrefix(dir, p+"/")
	})
	if err != nil {
		return nil, err
	}
	out := es[:0]
	for _, e := range es {
		if (deep && inside(e.Path)) || (!deep && path.Dir(e.Path) == dir) {
			out = append(out, e)
		}
	}
	return out, nil
}

// walk lists every file under dir (none when there is no such directory).
func (t *treeView) walk(dir string) ([]git.Entry, error) {
	if es, ok := t.subtree[dir]; ok {
		return es, nil
	}
	es, err := t.list(dir, true)
	if err != nil {
		return nil, err
	}
	t.subtree[dir] = es
	return es, nil
}

// file returns the file (or symlink) at p.
func (t *treeView) file(p string) (git.Entry, bool, error) {
	dir := path.Dir(p)
	files, ok := t.direct[dir]
	if !ok {
		es, err := t.list(dir, false)
		if err != nil {
			return git.Entry{}, false, err
		}
		files = make(map[string]git.Entry, len(es))
		for _, e := range es {
			files[path.Base(e.Path)] = e
		}
		t.direct[dir] = files
	}
	e, ok := files[path.Base(p)]
	return e, ok, nil
}

// glob lists the files a watch glob covers: those it matches and those in
// directories it matches (the rule pkg/affected applies to changes).
func (t *treeView) glob(g string) ([]git.Entry, error) {
	if !strings.ContainsAny(g, `*?[{\`) {
		// A literal names a file or a directory.
		g = path.Clean(g)
		e, ok, err := t.file(g)
		if err != nil {
			return nil, err
		}
		if ok {
			return []git.Entry{e}, nil
		}
		return t.walk(g)
	}
	// Only the part of the tree below the glob's literal prefix can match.
	base, _ := doublestar.SplitPattern(g)
	es, err := t.walk(base)
	if err != nil {
		return nil, err
	}
	var out []git.Entry
	for _, e := range es {
		if matchGlob(g, e.Path) {
			out = append(out, e)
		}
	}
	return out, nil
}

// matchGlob matches a path or any directory above it.
func matchGlob(g, p string) bool {
	for cur := p; cur != "." && cur != "/"; cur = path.Dir(cur) {
		if ok, _ := doublestar.Match(g, cur); ok {
			return true
		}
	}
	return false
}

func (t *treeView) linkTarget(e git.Entry) (string, error) {
	if s, ok := t.targets[e.Blob]; ok {
		return s, nil
	}
	b, err := t.repo.ReadBlob(e.Blob)
	if err != nil {
		return "", fmt.Errorf("read symlink %s: %w", e.Path, err)
	}
	t.targets[e.Blob] = string(b)
	return string(b), nil
}

// resolve follows the symlink at link (pointing to target) through the
// commit's tree, the way the kernel will follow it in the checkout, symlinks
// along the way included: it returns the repository path it ends at and
// the symlinks it went through, or why it cannot be kept (it leaves the
// repository, or loops). Should a component be missing or a file, the
// kernel stops there, so going on lexically can only end inside.
func (t *treeView) resolve(link, target string) (dest string, via []git.Entry, why string, err error) {
	var cur []string
	if d := path.Dir(link); d != "." {
		// Parents of a file in a git tree are directories, never symlinks.
		cur = strings.Split(d, "/")
	}
	if path.IsAbs(target) {
		return "", nil, "is absolute", nil
	}
	todo := strings.Split(target, "/")
	// link itself is the first symlink the kernel follows: 40 in all
	// resolve, the 41st is ELOOP.
	hops := 1
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", nil, "leaves the checkout", nil
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, c)
		e, ok, err := t.file(strings.Join(cur, "/"))
		if err != nil {
			return "", nil, "", err
		}
		if !ok || !e.Symlink {
			continue
		}
		if hops++; hops > project.MaxSymlinks { // as the kernel, and change detection
			return "", nil, "is a symlink loop", nil
		}
		next, err := t.linkTarget(e)
		if err != nil {
			return "", nil, "", err
		}
		if path.IsAbs(next) {
			return "", nil, "goes through " + e.Path + ", which is absolute", nil
		}
		via = append(via, e)
		cur = cur[:len(cur)-1]
		todo = append(strings.Split(next, "/"), todo...)
	}
	if len(cur) == 0 {
		return ".", via, "", nil
	}
	return strings.Join(cur, "/"), via, "", nil
}
