// Package oracle is a second, deliberately simple implementation of the
// rules of `atoll changed` (docs/changed.md), for differential tests: it
// lists trees with `git ls-tree`, finds module calls with a regular
// expression, and shares no code with atoll. It reads only .tf files; it
// knows no symlinks, direnv files, watch globs or atoll.yaml.
package oracle

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Oracle answers what `atoll changed --base BASE` at HEAD should say,
// with none of atoll's code (see docs/testing.md).
type Oracle struct {
	// NoRenames reports a moved project as deleted and added, as atoll
	// does when HEAD's side is the work tree: uncommitted files have no
	// identity to compare.
	NoRenames bool

	t     testing.TB
	repo  string
	env   []string
	root  string
	blobs map[string]string
	sides map[string]side
	// cat is one `git cat-file --batch` for all blob reads.
	cat *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// New starts an oracle for the repository at repo, with the roots root
// ("." for the whole tree); env is git's environment. Close ends it.
func New(t testing.TB, repo, root string, env []string) *Oracle {
	o := &Oracle{t: t, repo: repo, root: root, env: env, blobs: map[string]string{}, sides: map[string]side{}}
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

// Close stops the oracle's git process.
func (o *Oracle) Close() {
	_ = o.in.Close()
	_ = o.cat.Wait()
}

// Git runs git in the repository and returns its trimmed output.
func (o *Oracle) Git(args ...string) string {
	o.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = o.repo, o.env
	out, err := cmd.Output()
	if err != nil {
		o.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func (o *Oracle) blob(id string) string {
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
	// dirs directly hold files.
	dirs map[string]bool
}

// side reads a commit once; its answer is kept.
func (o *Oracle) side(commit string) side {
	if s, ok := o.sides[commit]; ok {
		return s
	}
	type entry struct{ mode, id string }
	files := map[string]entry{}
	byDir := map[string][]string{}
	for _, rec := range strings.Split(o.Git("ls-tree", "-r", "-z", commit), "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		files[p] = entry{f[0], f[2]}
		byDir[path.Dir(p)] = append(byDir[path.Dir(p)], p)
	}
	s := side{projects: map[string]bool{}, tfDirs: map[string]bool{}, uses: map[string]map[string]bool{}, fingerprint: map[string]string{}, dirs: map[string]bool{}}
	for dir, ps := range byDir {
		s.dirs[dir] = true
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
	o.sides[commit] = s
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

// Affected answers what `atoll changed --base base` at head should: the
// projects of head affected (sorted), and the projects of base that are
// gone (sorted). A base project whose directory still directly holds
// files at head, but no Terraform file, is neither (atoll warns about it
// instead: deleting it would mean a destroy).
func (o *Oracle) Affected(base, head string) (live, deleted []string) {
	h, b := o.side(head), o.side(base)
	set := map[string]bool{}
	fields := strings.Split(strings.TrimSuffix(o.Git("diff", "--name-status", "--no-renames", "-z", base, head), "\x00"), "\x00")
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
		if !h.projects[dir] && (!h.dirs[dir] || usedAtHead[dir]) {
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
		return !o.NoRenames && len(added[fp]) == 1 && gone[fp] == 1
	})
	slices.Sort(live)
	slices.Sort(deleted)
	return live, deleted
}
