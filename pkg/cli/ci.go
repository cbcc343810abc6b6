package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atoll-tf/atoll/pkg/ci"
	"github.com/atoll-tf/atoll/pkg/config"
	"github.com/atoll-tf/atoll/pkg/env"
	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/guard"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/project"
	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/pflag"
)

// ciModeValue is --ci: one of ci.Modes, checked while parsing.
type ciModeValue struct{ p *string }

func (v ciModeValue) String() string { return *v.p }
func (v ciModeValue) Type() string   { return "MODE" }
func (v ciModeValue) Set(s string) error {
	if !contains(ci.Modes, s) {
		return &ci.ModeError{Value: s}
	}
	*v.p = s
	return nil
}

// ciEnv is the CI atoll runs in: --ci, else ATOLL_CI, else detected.
func (g *Globals) ciEnv() (ci.Env, error) {
	if g.ci != nil {
		return *g.ci, nil
	}
	mode := g.CI
	from := "--ci"
	if mode == "" {
		mode, from = os.Getenv("ATOLL_CI"), "ATOLL_CI"
	}
	e, err := ci.Detect(os.Getenv, mode)
	if err != nil {
		code := ExitUsage
		if from == "ATOLL_CI" {
			code = ExitInput
		}
		return e, &ExitError{Code: code, Err: fmt.Errorf("%s: %w", from, err), Hint: "use auto (the default: GitHub Actions and GitLab CI are recognised), github, gitlab or none"}
	}
	g.ci = &e
	return e, nil
}

// adoptCI takes from the CI what it knows about the change: the target
// branch as the base (unless --base or ATOLL_BASE names one), and the
// pull request's own head when HEAD is GitHub's merge commit of it. With
// --fetch, a shallow clone is deepened first. fs holds the command's
// flags (nil: none).
func (s *session) adoptCI(ctx context.Context, fs *pflag.FlagSet) error {
	e := s.CI
	if !e.Active() {
		return nil
	}
	changed := func(name string) bool {
		if fs == nil {
			return false
		}
		f := fs.Lookup(name)
		return f != nil && f.Changed
	}
	if e.BaseBranch != "" && !changed("base") && os.Getenv("ATOLL_BASE") == "" {
		// The pull request's target is the truth for this change, over
		// atoll.yaml's usual base.
		s.Config.Base = ""
		s.Repo.BaseHint = &git.BaseHint{Branch: e.BaseBranch, Var: e.BaseVar}
	}
	fetch := false
	if fs != nil {
		if f := fs.Lookup("fetch"); f != nil {
			fetch = f.Value.String() == "true"
		}
	}
	if fetch && s.Repo.IsShallow() {
		if err := s.deepen(ctx); err != nil {
			return err
		}
	}
	if e.MergeRef == "" || changed("head") {
		return nil
	}
	head, err := s.Repo.Head()
	if err != nil || head.Branch != "" || (e.SHA != "" && e.SHA != head.SHA.String()) {
		return nil // not the merge commit the CI made: HEAD is what was checked out on purpose
	}
	c, err := s.Repo.Commit(head.SHA)
	if err != nil || len(c.Parents) != 2 {
		return nil
	}
	branchHead := c.Parents[1]
	if !s.Repo.HasObject(branchHead) {
		return &git.ShallowError{Missing: branchHead, Need: fmt.Sprintf("as the pull request's head (the second parent of the merge commit %s that %s checked out)", head.SHA.Short(), e.MergeRef)}
	}
	s.Repo.SetHead(git.Head{SHA: branchHead, MergeCommit: head.SHA})
	s.headNote = fmt.Sprintf("HEAD is the merge commit %s that GitHub made for %s: examining its second parent %s, the pull request's head", head.SHA.Short(), e.MergeRef, branchHead.Short())
	fmt.Fprintf(s.errw, "%s %s\n", ui.NewStyles(s.errw, false).Muted.Render("atoll:"), s.headNote)
	return nil
}

// deepen fetches the history a shallow CI clone lacks: the base branch
// and, for GitHub's merge commit, its ref.
func (s *session) deepen(ctx context.Context) error {
	remote := "origin"
	var refs []string
	switch {
	case s.Repo.BaseHint != nil:
		refs = append(refs, "refs/heads/"+s.Repo.BaseHint.Branch)
	case s.Config.Base != "":
		b := strings.TrimPrefix(strings.TrimPrefix(s.Config.Base, "refs/remotes/"), "origin/")
		refs = append(refs, "refs/heads/"+strings.TrimPrefix(b, "refs/heads/"))
	default:
		if t, ok := s.Repo.SymbolicTarget("refs/remotes/origin/HEAD"); ok {
			if _, b, ok := git.RemoteOf(t); ok {
				refs = append(refs, "refs/heads/"+b)
			}
		}
		if len(refs) == 0 {
			refs = append(refs, "refs/heads/main")
		}
	}
	if s.CI.MergeRef != "" {
		refs = append(refs, s.CI.MergeRef)
	} else if s.CI.HeadBranch != "" {
		refs = append(refs, "refs/heads/"+s.CI.HeadBranch)
	}
	if err := s.Repo.Deepen(ctx, remote, refs); err != nil {
		return &ExitError{Code: ExitRepository, Err: fmt.Errorf("--fetch could not deepen this shallow clone: %w", err),
			Hint: "check the network and the remote's URL (git remote -v); or fetch the whole history when checking out: " + s.CI.ShallowFix()}
	}
	s.deepened = true
	return nil
}

// identity is who runs atoll, for locks and ledger entries: the CI's
// actor and run, else the git user on this host.
func (s *session) identity() ledger.Identity {
	// An apply records its identity in the lock and in each ledger entry:
	// git's user.name is read once.
	s.whoOnce.Do(func() { s.who = s.askIdentity() })
	return s.who
}

func (s *session) askIdentity() ledger.Identity {
	host, _ := os.Hostname()
	id := ledger.IdentityFrom(os.Getenv, s.Repo.ConfigValue("user.name"), host)
	if r := s.CI.Run; s.CI.Active() {
		if r.Actor != "" {
			id.User = r.Actor
		}
		id.CI, id.RunURL, id.Pipeline, id.Job = string(s.CI.System), r.URL, r.Pipeline, r.Job
	}
	return id
}

// branchOf names the branch being worked on: HEAD's, else (a detached CI
// checkout) ATOLL_BRANCH or the CI's.
func (s *session) branchOf(h git.Head) string {
	if h.Branch != "" {
		return h.Branch
	}
	if b := os.Getenv("ATOLL_BRANCH"); b != "" {
		return b
	}
	return s.CI.HeadBranch
}

// ciHint is the hint for errors whose fix is a CI setting.
func ciHint(e ci.Env, err error, hint string) string {
	if !e.Active() {
		return hint
	}
	var shallow *git.ShallowError
	var nf *git.BaseNotFoundError
	switch {
	case errors.As(err, &shallow):
		return fmt.Sprintf("%s fetched only part of the history: run atoll with --fetch to deepen the clone, or %s", e.Title(), e.ShallowFix())
	case errors.As(err, &nf) && nf.Var != "":
		return fmt.Sprintf("fetch it: run atoll with --fetch, or git fetch origin %s before atoll; or %s", nf.Explicit, e.ShallowFix())
	}
	return hint
}

// errorAnnotation ties an error to the file (and line) it is about, for
// an ::error:: annotation; ok is false for errors about no file.
func errorAnnotation(err error, root string) (ci.Annotation, bool) {
	var (
		cfgErr *config.Error
		synErr *project.SyntaxError
		prjErr *project.Error
		envrc  *env.EnvrcError
	)
	a := ci.Annotation{Level: ci.Error, Title: "atoll", Message: err.Error()}
	switch {
	case errors.As(err, &cfgErr) && cfgErr.File != "":
		a.File, a.Line = cfgErr.File, cfgErr.Line
	case errors.As(err, &synErr):
		a.File, a.Line, a.Col = synErr.File, synErr.Line, synErr.Column
	case errors.As(err, &prjErr) && prjErr.File != "":
		a.File, a.Line = prjErr.File, prjErr.Line
	case errors.As(err, &envrc):
		a.File = envrc.File
	default:
		return a, false
	}
	a.File = repoRelative(root, a.File)
	return a, true
}

// repoRelative writes a path as GitHub wants it: relative to the
// repository root, with slashes.
func repoRelative(root, p string) string {
	if filepath.IsAbs(p) && root != "" {
		if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		}
	}
	return filepath.ToSlash(p)
}

// warningAnnotations turns warnings of the "path:line: message" form into
// annotations on those files.
func warningAnnotations(root string, warnings []string) []ci.Annotation {
	exists := func(p string) bool {
		if root == "" || filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			return false
		}
		_, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
		return err == nil
	}
	var out []ci.Annotation
	for _, w := range warnings {
		a := ci.Locate(ci.Warning, w, exists)
		a.Title = "atoll"
		out = append(out, a)
	}
	return out
}

// fetchFirst is --fetch of changed, plan and apply: the base as the
// remote has it now (a shallow clone was deepened by adoptCI already,
// base included).
func (s *session) fetchFirst(ctx context.Context) error {
	if s.deepened {
		return nil
	}
	if h := s.Repo.BaseHint; h != nil {
		if err := s.Repo.Deepen(ctx, "origin", []string{"refs/heads/" + h.Branch}); err != nil {
			return &ExitError{Code: ExitRepository, Err: err, Hint: "check the network and the remote's URL (git remote -v)"}
		}
		return nil
	}
	return s.fetchBase()
}

// publish hands a command's result to the CI (see ci.Report): its
// annotations on w, its Markdown to the job summary unless stdout
// already carries Markdown (the job then appends it where it wants).
// Opting in is implementing ci.Report over the command's result and
// calling publish once the result is rendered.
func (s *session) publish(w io.Writer, output string, r ci.Report) {
	if err := s.CI.Publish(w, r, output != "markdown"); err != nil {
		fmt.Fprintf(s.errw, "%s %v\n", ui.NewStyles(s.errw, false).Warning.Render("warning:"), err)
	}
}

// guardCI is atoll guard's report for the CI.
type guardCI struct{ rep *guard.Report }

func (g guardCI) Summary() string              { return ui.GuardMarkdown(g.rep) }
func (g guardCI) Annotations() []ci.Annotation { return ui.GuardAnnotations(g.rep) }

// statusCI is atoll status's report for the CI.
type statusCI struct {
	rep *guard.StatusReport
	now time.Time
}

func (s statusCI) Summary() string              { return ui.StatusMarkdown(s.rep, s.now) }
func (s statusCI) Annotations() []ci.Annotation { return nil }

// runCI is a plan or apply run's report for the CI: the projects that
// failed or were refused, and the warnings about files, as annotations.
type runCI struct {
	rep      *runner.Report
	warnings []string
	root     string
}

func (r runCI) Summary() string { return strings.Join(ui.RunMarkdown(r.rep), "\n") }

func (r runCI) Annotations() []ci.Annotation {
	var out []ci.Annotation
	for _, p := range r.rep.Projects {
		if p.Status != runner.StatusFailed && p.Status != runner.StatusRefused {
			continue
		}
		msg := p.Error
		if p.Hint != "" {
			msg += ". Fix: " + p.Hint
		}
		out = append(out, ci.Annotation{Level: ci.Error, File: p.ErrorFile, Title: fmt.Sprintf("atoll %s: %s %s", r.rep.Command, p.Dir, p.Status), Message: msg})
	}
	return append(out, warningAnnotations(r.root, append(append([]string(nil), r.warnings...), r.rep.Warnings...))...)
}

// changedCI is atoll changed's report for the CI: no summary of its own
// (--output markdown is the PR comment), the warnings as annotations.
type changedCI struct {
	warnings []string
	root     string
}

func (c changedCI) Summary() string              { return "" }
func (c changedCI) Annotations() []ci.Annotation { return warningAnnotations(c.root, c.warnings) }

// logGroups shows each project's Terraform output in the job log, in a
// collapsible group, as the project finishes: its log, then the text of
// its plan when there is one (the log of terraform plan -json holds only a
// line per change).
func logGroups(e ci.Env, w io.Writer, command string, next func(runner.Event)) func(runner.Event) {
	if !e.Active() {
		return next
	}
	var mu sync.Mutex
	return func(ev runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		next(ev)
		if ev.Phase != runner.PhaseDone || ev.Result == nil || ev.Result.LogFile == "" {
			return
		}
		text, err := readLog(ev.Result.LogFile)
		if err != nil {
			return
		}
		if plan := ev.Result.PlanText; plan != "" {
			text = strings.TrimRight(text, "\n") + "\n\n" + plan
		}
		g := e.StartGroup(w, fmt.Sprintf("atoll %s %s: Terraform output (%s)", command, ev.Result.Dir, ev.Result.Status), time.Now)
		g.Verbatim(text)
		g.End()
	}
}

// logLimit keeps one project's log in the job log to a readable size;
// the whole log stays in its file.
const logLimit = 1 << 20

func readLog(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, logLimit+1))
	if err != nil {
		return "", err
	}
	if len(b) > logLimit {
		return string(b[:logLimit]) + fmt.Sprintf("\n[atoll: the log goes on; all of it is in %s]\n", path), nil
	}
	return string(b), nil
}
