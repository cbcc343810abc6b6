package scan

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/cache"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/internal/oracle"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
)

// Random histories of a small monorepo (projects that move, appear and
// go, modules calling modules, files in a module's subdirectories with
// and without Terraform files of their own), and at every commit the
// answer of Between, with a cache kept along the history and without
// one, must be the independent oracle's (pkg/internal/oracle): the same
// affected projects and the same deleted ones. ATOLL_ORACLE_SEEDS runs
// more histories than the suite's four (60 take about two minutes).
func TestBetweenAgreesWithOracle(t *testing.T) {
	t.Parallel()
	seeds := uint64(4)
	if v := os.Getenv("ATOLL_ORACLE_SEEDS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			t.Fatalf("ATOLL_ORACLE_SEEDS=%q: want a number of histories", v)
		}
		seeds = n
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			h := newHistory(t, seed)
			store := cache.Open(t.TempDir(), "test")
			o := oracle.New(t, h.sb.Work, "conf", sandbox.Env())
			defer o.Close()
			commits := []string{h.commit()}
			for i := 0; i < 25; i++ {
				for n := 1 + h.rnd.IntN(3); n > 0; n-- {
					h.step()
				}
				// Now and then the steps are also examined uncommitted:
				// the work tree against HEAD, which is the parent.
				var uncommitted *Result
				if h.rnd.IntN(3) == 0 {
					h.writeTree()
					uncommitted = h.run(commits[len(commits)-1], commits[len(commits)-1], Options{Uncommitted: true})
				}
				commits = append(commits, h.commit())
				if uncommitted != nil {
					o.NoRenames = true
					wantLive, wantDeleted := o.Affected(commits[len(commits)-2], commits[len(commits)-1])
					o.NoRenames = false
					if live, deleted := split(uncommitted); !slices.Equal(live, wantLive) || !slices.Equal(deleted, wantDeleted) {
						t.Fatalf("seed %d, work tree on %s: Between --uncommitted and the oracle disagree\nBetween: affected %q, deleted %q\noracle:  affected %q, deleted %q\nsteps:\n%s",
							seed, commits[len(commits)-2][:8], live, deleted, wantLive, wantDeleted, strings.Join(h.log, "\n"))
					}
				}
				head := commits[len(commits)-1]
				// The parent, and now and then an older commit: a change
				// of several steps.
				bases := []string{commits[len(commits)-2]}
				if len(commits) > 3 && h.rnd.IntN(3) == 0 {
					bases = append(bases, commits[h.rnd.IntN(len(commits)-2)])
				}
				for _, base := range bases {
					wantLive, wantDeleted := o.Affected(base, head)
					for _, st := range []*cache.Store{store, nil} {
						live, deleted := h.between(base, head, st)
						if !slices.Equal(live, wantLive) || !slices.Equal(deleted, wantDeleted) {
							t.Fatalf("seed %d, %s..%s (cache %v): Between and the oracle disagree\nBetween: affected %q, deleted %q\noracle:  affected %q, deleted %q\nsteps:\n%s",
								seed, base[:8], head[:8], st != nil, live, deleted, wantLive, wantDeleted, strings.Join(h.log, "\n"))
						}
					}
				}
				// Now and then a branch: steps on a branch while main
				// moves on too. Changed on the branch must answer for the
				// branch's own steps only: against the merge-base.
				if h.rnd.IntN(4) == 0 {
					fork := commits[len(commits)-1]
					onMain, mainProjects := maps.Clone(h.files), slices.Clone(h.projects)
					branch := fmt.Sprintf("b%d", i)
					h.sb.Git("checkout", "-q", "-b", branch)
					for n := 1 + h.rnd.IntN(3); n > 0; n-- {
						h.step()
					}
					tip := h.commit()
					h.sb.Git("checkout", "-q", "main")
					h.files, h.projects = onMain, mainProjects
					for n := 1 + h.rnd.IntN(2); n > 0; n-- {
						h.step()
					}
					commits = append(commits, h.commit())
					h.sb.Git("checkout", "-q", branch)
					wantLive, wantDeleted := o.Affected(fork, tip)
					live, deleted := split(h.changed(store))
					h.sb.Git("checkout", "-q", "main")
					if !slices.Equal(live, wantLive) || !slices.Equal(deleted, wantDeleted) {
						t.Fatalf("seed %d, branch %s from %s: Changed and the oracle disagree\nChanged: affected %q, deleted %q\noracle:  affected %q, deleted %q\nsteps:\n%s",
							seed, branch, fork[:8], live, deleted, wantLive, wantDeleted, strings.Join(h.log, "\n"))
					}
				}
			}
		})
	}
}

// changed is Changed at HEAD against main.
func (h *history) changed(store *cache.Store) *Result {
	h.t.Helper()
	return h.scan("Changed", func(repo *git.Repo, cfg *config.Config) (*Result, error) {
		cfg.Base = "main"
		return Changed(repo, cfg, Options{Cache: store})
	})
}

// scan opens the sandbox's repository and its configuration for f, and
// fails the test, with the steps so far, when f fails.
func (h *history) scan(what string, f func(*git.Repo, *config.Config) (*Result, error)) *Result {
	h.t.Helper()
	repo, err := git.Open(h.sb.Work)
	if err != nil {
		h.t.Fatal(err)
	}
	defer repo.Close()
	cfg, err := config.Load(repo.Root, "", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := f(repo, cfg)
	if err != nil {
		h.t.Fatalf("%s: %v\nsteps:\n%s", what, err, strings.Join(h.log, "\n"))
	}
	return res
}

// history writes a random monorepo and changes it one step at a time.
type history struct {
	t     *testing.T
	sb    *sandbox.T
	rnd   *rand.Rand
	files map[string]string
	// projects are the project directories; modules the number of
	// modules/m<i> (module i calls only modules above i: no cycles).
	projects []string
	modules  int
	next     int
	log      []string
}

func newHistory(t *testing.T, seed uint64) *history {
	h := &history{t: t, rnd: rand.New(rand.NewPCG(seed, 11)), files: map[string]string{}, modules: 5}
	for i := 0; i < h.modules; i++ {
		h.files[fmt.Sprintf("modules/m%d/main.tf", i)] = h.moduleBody(i)
	}
	for i := 0; i < 6; i++ {
		h.addProject()
	}
	h.sb = sandbox.New(t, h.files)
	h.log = nil
	return h
}

func (h *history) calls(from string, n int, pick func() string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "module \"c%d\" {\n  source = %q\n}\n\n", i, pick())
	}
	fmt.Fprintf(&b, "resource \"terraform_data\" \"x\" {\n  input = %q\n}\n", from+fmt.Sprint(h.rnd.IntN(1000)))
	return b.String()
}

func (h *history) moduleBody(i int) string {
	n := 0
	if i < h.modules-1 {
		n = h.rnd.IntN(3)
	}
	return h.calls("m", n, func() string {
		if h.rnd.IntN(4) == 0 && h.files[fmt.Sprintf("modules/m%d/sub/main.tf", i)] != "" {
			return "./sub"
		}
		return fmt.Sprintf("../m%d", i+1+h.rnd.IntN(h.modules-1-i))
	})
}

func (h *history) projectBody(dir string) string {
	up := strings.Repeat("../", strings.Count(dir, "/")+1)
	return h.calls("p", h.rnd.IntN(3), func() string { return fmt.Sprintf("%smodules/m%d", up, h.rnd.IntN(h.modules)) })
}

func (h *history) addProject() {
	dir := fmt.Sprintf("conf/p%d", h.next)
	if h.rnd.IntN(3) == 0 {
		dir = fmt.Sprintf("conf/g%d/p%d", h.rnd.IntN(2), h.next)
	}
	h.next++
	h.files[dir+"/main.tf"] = h.projectBody(dir)
	h.files[dir+"/terraform.tfvars"] = fmt.Sprintf("n = %d\n", h.rnd.IntN(100))
	h.projects = append(h.projects, dir)
	h.log = append(h.log, "add "+dir)
}

// step makes one random change to the work tree.
func (h *history) step() {
	project := func() string { return h.projects[h.rnd.IntN(len(h.projects))] }
	module := func() string { return fmt.Sprintf("modules/m%d", h.rnd.IntN(h.modules)) }
	set := func(p, content string) {
		h.files[p] = content
		h.log = append(h.log, "write "+p)
	}
	remove := func(p string) {
		if _, ok := h.files[p]; ok {
			delete(h.files, p)
			h.log = append(h.log, "remove "+p)
		}
	}
	switch op := h.rnd.IntN(13); {
	case op == 10 && len(h.projects) > 1: // a project calls another: that one is a module now
		// Only a later directory is called, and names are never reused,
		// so no cycle forms.
		from, to := project(), project()
		if from < to {
			up := strings.Repeat("../", strings.Count(from, "/")+1)
			set(from+"/main.tf", h.files[from+"/main.tf"]+fmt.Sprintf("\nmodule \"other\" {\n  source = %q\n}\n", up+to))
		}
	case op == 11 && len(h.projects) > 0: // Terraform files in a project's subdirectory: a project of its own
		dir := project() + "/nested"
		if _, ok := h.files[dir+"/main.tf"]; ok {
			remove(dir + "/main.tf")
		} else {
			set(dir+"/main.tf", h.projectBody(dir))
		}
	case op == 12: // a module goes, whoever still calls it
		m := module()
		for p := range h.files {
			if strings.HasPrefix(p, m+"/") {
				remove(p)
			}
		}
	case op == 0 && len(h.projects) > 2: // delete a project
		dir := project()
		for p := range h.files {
			if strings.HasPrefix(p, dir+"/") {
				remove(p)
			}
		}
		h.projects = slices.DeleteFunc(h.projects, func(d string) bool { return d == dir })
	case op == 1 && len(h.projects) > 0: // move a project, files unchanged
		from := project()
		to := fmt.Sprintf("conf/p%d", h.next)
		h.next++
		if strings.Count(from, "/") != strings.Count(to, "/") {
			to = fmt.Sprintf("%s/p%d", path.Dir(from), h.next)
		}
		for p, c := range h.files {
			if strings.HasPrefix(p, from+"/") {
				delete(h.files, p)
				h.files[to+strings.TrimPrefix(p, from)] = c
			}
		}
		h.projects[slices.Index(h.projects, from)] = to
		h.log = append(h.log, "move "+from+" "+to)
	case op == 2:
		h.addProject()
	case op == 3 && len(h.projects) > 0:
		set(project()+"/terraform.tfvars", fmt.Sprintf("n = %d\n", h.rnd.IntN(1000)))
	case op == 4 && len(h.projects) > 0:
		dir := project()
		set(dir+"/main.tf", h.projectBody(dir))
	case op == 5:
		var i int
		fmt.Sscanf(module(), "modules/m%d", &i)
		set(fmt.Sprintf("modules/m%d/main.tf", i), h.moduleBody(i))
	case op == 6: // a file in a module's subdirectory, no Terraform there
		p := module() + "/templates/t.json"
		if h.rnd.IntN(3) == 0 {
			remove(p)
		} else {
			set(p, fmt.Sprintf("{\"v\": %d}\n", h.rnd.IntN(1000)))
		}
	case op == 7: // a subdirectory with Terraform files of its own
		p := module() + "/sub/main.tf"
		if _, ok := h.files[p]; ok && h.rnd.IntN(2) == 0 {
			// Unless the module still calls it.
			if !strings.Contains(h.files[path.Dir(path.Dir(p))+"/main.tf"], "./sub") {
				remove(p)
			}
		} else {
			set(p, fmt.Sprintf("output \"v\" {\n  value = %d\n}\n", h.rnd.IntN(1000)))
		}
	case op == 8 && len(h.projects) > 0: // a file in a project's subdirectory
		set(project()+"/files/a.txt", fmt.Sprint(h.rnd.IntN(1000)))
	default:
		set("README.md", fmt.Sprint(h.rnd.IntN(1000)))
	}
}

// commit writes the work tree (writeTree) and commits it all.
func (h *history) commit() string {
	h.t.Helper()
	h.writeTree()
	h.sb.Git("add", "-A")
	h.sb.Git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("step %d", len(h.log)))
	return h.sb.Git("rev-parse", "HEAD")
}

// writeTree writes the files to the work tree and removes the others.
func (h *history) writeTree() {
	h.t.Helper()
	err := filepath.WalkDir(h.sb.Work, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.sb.Work, p)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if _, keep := h.files[filepath.ToSlash(rel)]; !keep {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.sb.Write(h.files)
}

// between is Between's answer, split.
func (h *history) between(base, head string, store *cache.Store) (live, deleted []string) {
	return split(h.run(base, head, Options{Cache: store}))
}

// run calls Between.
func (h *history) run(base, head string, opt Options) *Result {
	h.t.Helper()
	from, ok := git.ParseHash(base)
	to, ok2 := git.ParseHash(head)
	if !ok || !ok2 {
		h.t.Fatalf("not commit hashes: %q, %q", base, head)
	}
	return h.scan(fmt.Sprintf("Between %s..%s (uncommitted %v)", base[:8], head[:8], opt.Uncommitted), func(repo *git.Repo, cfg *config.Config) (*Result, error) {
		return Between(repo, cfg, from, to, opt)
	})
}

// split divides a result's projects into the deleted ones and the rest,
// each sorted by directory.
func split(res *Result) (live, deleted []string) {
	for _, p := range res.Projects {
		if p.Status == "deleted" {
			deleted = append(deleted, p.Dir)
		} else {
			live = append(live, p.Dir)
		}
	}
	return live, deleted
}
