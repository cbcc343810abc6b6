package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestHistoryOracle checks `atoll changed` against a second, independent
// implementation of its rules, commit by commit along a history: at each
// first-parent commit, `atoll changed --base <parent> --no-cache` must
// name the projects the oracle names (modified, added or renamed ones
// together) and the deleted ones. The oracle shares no code with atoll:
// it lists trees with `git ls-tree`, finds module calls with a regular
// expression, and follows the rules of docs/changed.md in the most direct
// way, so a shortcut of atoll's (the index, the caches, the derived
// merge-base listing, the quick reader) that goes wrong shows up here.
//
// ATOLL_ORACLE_REPO names any repository to check (it is cloned without a
// work tree and never changed), e.g. a public Terraform monorepo; without
// it the generated r1000 is used. ATOLL_ORACLE_ROOTS sets the roots (as
// ATOLL_ROOTS; default: conf when HEAD has it, else the whole tree), and
// ATOLL_ORACLE_COMMITS how many commits (default 200). A commit atoll
// refuses with an error (a file that does not parse, a source leaving the
// repository) is logged, not judged: the oracle knows no such errors.
//
// The oracle is deliberately small: it reads only `.tf` files (module
// calls in `.tf.json` are not seen), no symlinks, direnv files, watch
// globs or atoll.yaml. Keep the repositories checked within that.
func TestHistoryOracle(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("not run: set ATOLL_BENCH=1 (see docs/testing.md)")
		return
	}
	commits := EnvCount(t, "ATOLL_ORACLE_COMMITS", 200, 1)
	tools := Setup(t)
	src := os.Getenv("ATOLL_ORACLE_REPO")
	if src == "" {
		sizes, _ := SelectSizes("1000")
		var err error
		if src, err = Repo(tools.Genrepo, tools.Repos, sizes[0]); err != nil {
			t.Fatal(err)
		}
	}
	repo := filepath.Join(t.TempDir(), "repo")
	env := Env()
	if out, err := exec.Command("git", "clone", "-q", "--no-checkout", src, repo).CombinedOutput(); err != nil {
		t.Fatalf("clone %s: %v\n%s", src, err, out)
	}
	o := newOracle(t, repo, env)
	defer o.close()
	roots := os.Getenv("ATOLL_ORACLE_ROOTS")
	if roots == "" {
		roots = "."
		if o.git("ls-tree", "--name-only", "HEAD", "conf") != "" {
			roots = "conf"
		}
	}
	o.root = roots
	history := strings.Fields(o.git("rev-list", "--first-parent", fmt.Sprintf("--max-count=%d", commits), "HEAD"))
	checked, refused := 0, 0
	for _, c := range history {
		parents := strings.Fields(o.git("rev-list", "--parents", "-n1", c))[1:]
		if len(parents) == 0 {
			continue
		}
		base := parents[0]
		o.git("update-ref", "--no-deref", "HEAD", c)
		var out, stderr bytes.Buffer
		cmd := exec.Command(tools.Atoll, "changed", "--base", base, "--no-cache", "--output", "json")
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, append(env, "ATOLL_ROOTS="+roots), &out, &stderr
		if err := cmd.Run(); err != nil {
			refused++
			t.Logf("%s: atoll refused (%v): %s", c[:12], err, firstLine(stderr.String()))
			continue
		}
		var report struct {
			Projects []struct{ Dir, Status string }
		}
		if err := json.Unmarshal(out.Bytes(), &report); err != nil {
			t.Fatalf("%s: reading atoll's JSON: %v\n%s", c[:12], err, out.Bytes())
		}
		var live, deleted []string
		for _, p := range report.Projects {
			if p.Status == "deleted" {
				deleted = append(deleted, p.Dir)
			} else {
				live = append(live, p.Dir)
			}
		}
		wantLive, wantDeleted := o.affected(base, c)
		if !slices.Equal(live, wantLive) || !slices.Equal(deleted, wantDeleted) {
			t.Errorf("%s (base %s): atoll and the oracle disagree\natoll:  affected %q, deleted %q\noracle: affected %q, deleted %q",
				c[:12], base[:12], live, deleted, wantLive, wantDeleted)
		}
		checked++
	}
	t.Logf("%d commits checked, %d refused by atoll, roots %s", checked, refused, roots)
	if checked == 0 {
		t.Fatal("no commit was checked")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// oracle is the independent implementation of TestHistoryOracle.
type oracle struct {
	t     *testing.T
	repo  string
	env   []string
	root  string
	blobs map[string]string
	// cat is one `git cat-file --batch` for all blob reads.
	cat *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func newOracle(t *testing.T, repo string, env []string) *oracle {
	o := &oracle{t: t, repo: repo, env: env, blobs: map[string]string{}}
	o.cat = exec.Command("git", "cat-file", "--batch")
	o.cat.Dir, o.cat.Env = repo, env
	var err error
	if o.in, err = o.cat.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := o.cat.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	o.out = bufio.NewReader(stdout)
	if err := o.cat.Start(); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *oracle) close() {
	_ = o.in.Close()
	_ = o.cat.Wait()
}

func (o *oracle) git(args ...string) string {
	o.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = o.repo, o.env
	out, err := cmd.Output()
	if err != nil {
		o.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func (o *oracle) blob(id string) string {
	if b, ok := o.blobs[id]; ok {
		return b
	}
	fmt.Fprintln(o.in, id)
	header, err := o.out.ReadString('\n')
	if err != nil {
		o.t.Fatalf("cat-file %s: %v", id, err)
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		o.t.Fatalf("cat-file %s: %q", id, header)
	}
	n, _ := strconv.Atoi(f[2])
	buf := make([]byte, n+1) // and the newline after the content
	if _, err := io.ReadFull(o.out, buf); err != nil {
		o.t.Fatalf("cat-file %s: %v", id, err)
	}
	o.blobs[id] = string(buf[:n])
	return o.blobs[id]
}

var (
	oracleModule = regexp.MustCompile(`(?ms)^module\s+"[^"]*"\s*\{(.*?)^\}`)
	oracleSource = regexp.MustCompile(`(?m)^\s*source\s*=\s*"([^"]*)"`)
)

// side is one commit as the oracle sees it.
type side struct {
	projects map[string]bool
	// tfDirs hold Terraform files of their own.
	tfDirs map[string]bool
	// uses are each project's local module directories, transitively.
	uses map[string]map[string]bool
	// fingerprint names each project's own files with their contents.
	fingerprint map[string]string
}

func (o *oracle) side(commit string) side {
	type entry struct{ mode, id string }
	files := map[string]entry{}
	byDir := map[string][]string{}
	for _, rec := range strings.Split(o.git("ls-tree", "-r", "-z", commit), "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		files[p] = entry{f[0], f[2]}
		byDir[path.Dir(p)] = append(byDir[path.Dir(p)], p)
	}
	s := side{projects: map[string]bool{}, tfDirs: map[string]bool{}, uses: map[string]map[string]bool{}, fingerprint: map[string]string{}}
	for dir, ps := range byDir {
		for _, p := range ps {
			if isTerraformName(p) {
				s.tfDirs[dir] = true
			}
		}
	}
	var candidates []string
	for dir := range s.tfDirs {
		if o.root == "." || dir == o.root || strings.HasPrefix(dir, o.root+"/") {
			candidates = append(candidates, dir)
		}
	}
	calls := map[string][]string{}
	var parse func(dir string)
	parse = func(dir string) {
		if _, done := calls[dir]; done {
			return
		}
		calls[dir] = []string{}
		for _, p := range byDir[dir] {
			if !strings.HasSuffix(p, ".tf") || files[p].mode == "120000" {
				continue
			}
			for _, m := range oracleModule.FindAllStringSubmatch(o.blob(files[p].id), -1) {
				src := oracleSource.FindStringSubmatch(m[1])
				if src != nil && (strings.HasPrefix(src[1], "./") || strings.HasPrefix(src[1], "../")) {
					calls[dir] = append(calls[dir], path.Join(dir, src[1]))
				}
			}
		}
		for _, target := range calls[dir] {
			parse(target)
		}
	}
	for _, dir := range candidates {
		parse(dir)
	}
	called := map[string]bool{}
	for _, targets := range calls {
		for _, target := range targets {
			called[target] = true
		}
	}
	for _, dir := range candidates {
		if called[dir] {
			continue
		}
		s.projects[dir] = true
		var own []string
		for _, p := range byDir[dir] {
			own = append(own, path.Base(p)+" "+files[p].id)
		}
		slices.Sort(own)
		s.fingerprint[dir] = strings.Join(own, "\n")
		uses := map[string]bool{}
		stack := []string{dir}
		for len(stack) > 0 {
			d := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, target := range calls[d] {
				if !uses[target] {
					uses[target] = true
					stack = append(stack, target)
				}
			}
		}
		s.uses[dir] = uses
	}
	return s
}

func isTerraformName(p string) bool {
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// owner is the deepest project holding p, unless a directory with
// Terraform files of its own comes first.
func (s side) owner(p string) string {
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if s.projects[dir] {
			return dir
		}
		if s.tfDirs[dir] || dir == "." {
			return ""
		}
	}
}

// affected answers what `atoll changed --base base` at head should: the
// projects of head affected (sorted), and the projects of base that are
// gone (sorted). A base project whose directory still directly holds
// files at head, but no Terraform file, is neither (atoll warns about it
// instead: deleting it would mean a destroy).
func (o *oracle) affected(base, head string) (live, deleted []string) {
	h, b := o.side(head), o.side(base)
	set := map[string]bool{}
	fields := strings.Split(strings.TrimSuffix(o.git("diff", "--name-status", "--no-renames", "-z", base, head), "\x00"), "\x00")
	headDirs := map[string]bool{}
	for _, p := range strings.Split(o.git("ls-tree", "-r", "-z", "--name-only", head), "\x00") {
		headDirs[path.Dir(p)] = true
	}
	for i := 0; i+1 < len(fields); i += 2 {
		status, p := fields[i], fields[i+1]
		atHead, atBase := status != "D", status != "A"
		if atHead {
			if owner := h.owner(p); owner != "" {
				set[owner] = true
			}
		}
		if atBase {
			if owner := b.owner(p); owner != "" && h.projects[owner] {
				set[owner] = true
			}
		}
		for dir := path.Dir(p); ; dir = path.Dir(dir) {
			for project, uses := range h.uses {
				if uses[dir] {
					set[project] = true
				}
			}
			if dir == "." || (!atHead || h.tfDirs[dir] || h.projects[dir]) && (!atBase || b.tfDirs[dir] || b.projects[dir]) {
				break
			}
		}
	}
	usedAtHead := map[string]bool{}
	for _, uses := range h.uses {
		for dir := range uses {
			usedAtHead[dir] = true
		}
	}
	for dir := range b.projects {
		if !h.projects[dir] && (!headDirs[dir] || usedAtHead[dir]) {
			deleted = append(deleted, dir)
		}
	}
	// A deleted and an added project with the same files (names and
	// contents), shared with no other deleted or added one, are one
	// moved project: reported at its new directory only.
	added, gone := map[string][]string{}, map[string]int{}
	for dir := range set {
		live = append(live, dir)
		if !b.projects[dir] {
			added[h.fingerprint[dir]] = append(added[h.fingerprint[dir]], dir)
		}
	}
	for _, dir := range deleted {
		gone[b.fingerprint[dir]]++
	}
	deleted = slices.DeleteFunc(deleted, func(dir string) bool {
		fp := b.fingerprint[dir]
		return len(added[fp]) == 1 && gone[fp] == 1
	})
	slices.Sort(live)
	slices.Sort(deleted)
	return live, deleted
}
