package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/bundle"
	"github.com/atoll-tf/atoll/pkg/cli"
	"github.com/atoll-tf/atoll/pkg/internal/docblocks"
	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/record"
	"github.com/rogpeppe/go-internal/testscript"
)

// The package's other tests may already define -update (one flag rewrites
// every golden file); define it only when they do not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// updating reports whether -update was given: failing `cmp stdout want`
// lines then rewrite the file inside the script.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestMain lets the test binary act as atoll: testscript copies it onto the
// scripts' PATH under that name, so `exec atoll` runs cli.Main in a real
// process (exit code, stdout and stderr as a user sees them) without a
// separate `go build`.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"atoll": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script, one behaviour
// per file. Besides testscript's built-in commands they have:
//
//	exitcode N PROG [ARG...]  run PROG like exec; fail unless it exits with
//	                          exactly N (`! exec` only checks "non-zero")
//	gitrepo [-local] DIR      commit DIR's files as the first commit of main,
//	                          pushed to a bare origin DIR.git (no origin
//	                          with -local)
//	gitpush [-u] REFSPEC...   what `git push -q -f [-u] origin REFSPEC...`
//	                          leaves when git accepts it, written without
//	                          git's six processes: for a scenario's setup,
//	                          never for a push under test (hooks, refusals)
//	gitrev [-short] VAR REV   set VAR to the commit REV names (git rev-parse);
//	                          -short: its first 8 digits, as scratch
//	                          checkouts are named
//	tfbackend DIR STATE       write DIR/backend.tf: a local backend whose
//	                          path is STATE made absolute (txtar files cannot
//	                          hold $WORK, and atoll refuses relative paths)
//	expand SRC DST            copy SRC to DST, replacing $VAR and ${VAR}
//	glob [-count=N] [VAR] PATTERN
//	                          fail unless PATTERN matches exactly N paths
//	                          (default 1); set VAR to them, space-separated
//	json FILE [PATH=WANT...]  fail unless FILE is JSON and each PATH (keys
//	                          and array indexes joined by dots) holds WANT
//	                          (strings as is, other values as JSON); with !,
//	                          fail unless one of them differs
//	jsonvar VAR FILE PATH     set VAR to the value at PATH, rendered as for
//	                          json
//	replace FILE OLD NEW      replace the first OLD in FILE with NEW; fail
//	                          when there is none (tampering with records)
//	docblock NAME FILE        write to FILE the code block of README.md or
//	                          docs/*.md marked <!-- test: NAME -->, so that
//	                          the docs' commands run as written
//	reseal FILE               recompute the checksum of the plan or apply
//	                          record FILE, as anyone who can write the work
//	                          dir can: a checksum is no signature
//	waitfile FILE             wait (up to a minute) until FILE exists
//	backdate AGE PATH...      set the modification time of each PATH to AGE
//	                          (a Go duration) ago
//	bundleedit FILE OP...     rewrite the bundle FILE as a damaged transfer
//	                          or a forger would; each OP is one of
//	                          manifest KEY=VALUE (VALUE as JSON if it is,
//	                          and the manifest sealed again), noseal
//	                          KEY=VALUE (the same, not sealed again), entry
//	                          SUFFIX OLD NEW (replace OLD in the entry whose
//	                          name ends in SUFFIX), truncate N (keep the
//	                          first N bytes of the file; the only OP)
//
// The plan-*, apply-* and clean-* scripts run the real terraform binary on
// offline fixtures (terraform_data, local backend): it must be on PATH.
func TestScripts(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		// Never a skip: the plan, apply and clean scripts would prove nothing.
		t.Errorf("terraform is not on PATH: the plan-*, apply-* and clean-* scripts need it (install Terraform 1.5 or later)")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       updating(),
		Setup:               hermeticEnv,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exitcode":   cmdExitcode,
			"gitrepo":    cmdGitrepo,
			"gitrev":     cmdGitrev,
			"gitpush":    cmdGitpush,
			"tfbackend":  cmdTfbackend,
			"expand":     cmdExpand,
			"glob":       cmdGlob,
			"json":       cmdJSON,
			"jsonvar":    cmdJSONVar,
			"replace":    cmdReplace,
			"reseal":     cmdReseal,
			"docblock":   cmdDocblock,
			"waitfile":   cmdWaitfile,
			"backdate":   cmdBackdate,
			"bundleedit": cmdBundleEdit,
		},
	})
}

// hermeticEnv makes git and atoll independent of the machine: no user or
// system git configuration, a fixed identity and date, no colour.
func hermeticEnv(env *testscript.Env) error {
	for _, kv := range [][2]string{
		{"HOME", env.WorkDir},
		{"GIT_CONFIG_GLOBAL", os.DevNull},
		{"GIT_CONFIG_NOSYSTEM", "1"},
		{"GIT_AUTHOR_NAME", "atoll"},
		{"GIT_AUTHOR_EMAIL", "atoll@example.com"},
		{"GIT_COMMITTER_NAME", "atoll"},
		{"GIT_COMMITTER_EMAIL", "atoll@example.com"},
		{"GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"},
		{"GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"},
		{"GIT_TERMINAL_PROMPT", "0"},
		// Settings a user's configuration would otherwise decide.
		{"GIT_CONFIG_COUNT", "6"},
		{"GIT_CONFIG_KEY_0", "init.defaultBranch"},
		{"GIT_CONFIG_VALUE_0", "main"},
		{"GIT_CONFIG_KEY_1", "commit.gpgSign"},
		{"GIT_CONFIG_VALUE_1", "false"},
		{"GIT_CONFIG_KEY_2", "core.autocrlf"},
		{"GIT_CONFIG_VALUE_2", "false"},
		{"GIT_CONFIG_KEY_3", "advice.detachedHead"},
		{"GIT_CONFIG_VALUE_3", "false"},
		// No `git maintenance run --auto` after every commit.
		{"GIT_CONFIG_KEY_4", "maintenance.auto"},
		{"GIT_CONFIG_VALUE_4", "false"},
		{"GIT_CONFIG_KEY_5", "gc.auto"},
		{"GIT_CONFIG_VALUE_5", "0"},
		{"NO_COLOR", "1"},
		// Terraform: scratch checkouts and records inside $WORK, no user
		// configuration, no calls home.
		{"ATOLL_WORKDIR", filepath.Join(env.WorkDir, "atoll-work")},
		{"TF_CLI_CONFIG_FILE", os.DevNull},
		{"CHECKPOINT_DISABLE", "1"},
		{"TF_IN_AUTOMATION", "1"},
	} {
		env.Setenv(kv[0], kv[1])
	}
	return nil
}

// cmdExitcode runs a program through ts.Exec, so that stdout and stderr
// assertions that follow see its output, and checks its exact exit code.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode (name the expected code instead)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	var ee *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdGitrepo turns a directory unpacked from the script into a repository
// whose main has one commit holding its files, pushed to a bare origin with
// origin/HEAD set: the refs a fresh clone has. The git commands run through
// ts.Exec with the script's hermetic environment (they replace stdout and
// stderr); the origin is written by sandbox.Publish.
func cmdGitrepo(ts *testscript.TestScript, neg bool, args []string) {
	local := len(args) > 0 && args[0] == "-local"
	if local {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gitrepo [-local] DIR")
	}
	dir := ts.MkAbs(args[0])
	origin := dir + ".git"
	git := func(args ...string) {
		if err := ts.Exec("git", args...); err != nil {
			ts.Fatalf("git %v: %v", args, err)
		}
	}
	git("init", "-q", dir)
	git("-C", dir, "add", "-A")
	git("-C", dir, "commit", "-q", "--allow-empty", "-m", "initial layout")
	if local {
		return
	}
	// The origin and the refs `git init --bare`, `remote add`, `push -u`
	// and `remote set-head` would leave, written without their ten
	// processes.
	if err := sandbox.Publish(dir, origin); err != nil {
		ts.Fatalf("gitrepo: %v", err)
	}
}

// cmdGitpush publishes branches to the current repository's origin (a
// local path or file:// URL) through sandbox.PushTo.
func cmdGitpush(ts *testscript.TestScript, neg bool, args []string) {
	upstream := len(args) > 0 && args[0] == "-u"
	if upstream {
		args = args[1:]
	}
	if neg || len(args) == 0 {
		ts.Fatalf("usage: gitpush [-u] REFSPEC...")
	}
	work := ts.MkAbs(".")
	origin, err := sandbox.OriginOf(work)
	ts.Check(err)
	ts.Check(sandbox.PushTo(work, origin, args...))
	if upstream {
		for _, b := range args {
			ts.Check(sandbox.SetUpstream(work, b))
		}
	}
}

// cmdGitrev sets a variable to the commit a revision names.
func cmdGitrev(ts *testscript.TestScript, neg bool, args []string) {
	short := len(args) > 0 && args[0] == "-short"
	if short {
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gitrev [-short] VAR REV")
	}
	if err := ts.Exec("git", "rev-parse", "--verify", args[1]+"^{commit}"); err != nil {
		ts.Fatalf("git rev-parse %s: %v", args[1], err)
	}
	sha := strings.TrimSpace(ts.ReadFile("stdout"))
	if short {
		sha = sha[:8]
	}
	ts.Setenv(args[0], sha)
}

// cmdTfbackend writes a local backend with an absolute state path.
func cmdTfbackend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tfbackend DIR STATE")
	}
	src := fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", ts.MkAbs(args[1]))
	ts.Check(os.MkdirAll(ts.MkAbs(args[0]), 0o755))
	ts.Check(os.WriteFile(filepath.Join(ts.MkAbs(args[0]), "backend.tf"), []byte(src), 0o644))
}

// cmdExpand copies a file, expanding the script's variables in it.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
	ts.Check(os.WriteFile(dst, []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o644))
}

// cmdGlob counts the paths a pattern matches and can keep them in a variable.
func cmdGlob(ts *testscript.TestScript, neg bool, args []string) {
	want := 1
	if len(args) > 0 && strings.HasPrefix(args[0], "-count=") {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "-count="))
		if err != nil {
			ts.Fatalf("glob: bad %s", args[0])
		}
		want, args = n, args[1:]
	}
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: glob [-count=N] [VAR] PATTERN")
	}
	pattern := ts.MkAbs(args[len(args)-1])
	matches, err := filepath.Glob(pattern)
	ts.Check(err)
	if len(matches) != want {
		ts.Fatalf("%s matches %d paths, want %d: %q", pattern, len(matches), want, matches)
	}
	if len(args) == 2 {
		ts.Setenv(args[0], strings.Join(matches, " "))
	}
}

// jsonAt reads FILE as JSON and renders the value at a dotted path.
func jsonAt(ts *testscript.TestScript, file, path string) (string, bool) {
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(file)), &v); err != nil {
		ts.Fatalf("%s is not valid JSON: %v", file, err)
	}
	if path == "" {
		return "", true
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	if s, ok := v.(string); ok {
		return s, true
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

// cmdJSON checks values in a JSON file.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: json FILE [PATH=WANT...]")
	}
	jsonAt(ts, args[0], "")
	var diffs []string
	for _, a := range args[1:] {
		path, want, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("json: %q is not PATH=WANT", a)
		}
		got, found := jsonAt(ts, args[0], path)
		switch {
		case !found:
			diffs = append(diffs, fmt.Sprintf("%s: no such path", path))
		case got != want:
			diffs = append(diffs, fmt.Sprintf("%s is %q, want %q", path, got, want))
		}
	}
	switch {
	case neg && len(args) > 1 && len(diffs) == 0:
		ts.Fatalf("%s: every value is as listed", args[0])
	case !neg && len(diffs) > 0:
		ts.Fatalf("%s: %s", args[0], strings.Join(diffs, "; "))
	}
}

// cmdJSONVar keeps a value of a JSON file in a variable.
func cmdJSONVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsonvar VAR FILE PATH")
	}
	v, ok := jsonAt(ts, args[1], args[2])
	if !ok {
		ts.Fatalf("%s: no %s", args[1], args[2])
	}
	ts.Setenv(args[0], v)
}

// cmdReplace edits a file in place.
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	s := ts.ReadFile(args[0])
	if !strings.Contains(s, args[1]) {
		ts.Fatalf("%s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Replace(s, args[1], args[2], 1)), 0o644))
}

// cmdDocblock copies a marked block of the docs into the script's files.
func cmdDocblock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: docblock NAME FILE")
	}
	docs, err := filepath.Glob("../../docs/*.md")
	ts.Check(err)
	var found []docblocks.Block
	for _, file := range append([]string{"../../README.md"}, docs...) {
		blocks, err := docblocks.Read(file)
		ts.Check(err)
		for _, b := range blocks {
			if b.Name == args[0] {
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		ts.Fatalf("%d blocks are marked <!-- test: %s -->, want 1", len(found), args[0])
	}
	ts.Logf("%s:%d:\n%s", found[0].File, found[0].Line, found[0].Text)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(found[0].Text+"\n"), 0o644))
}

// cmdReseal seals an edited record again the way pkg/record does: SHA-256
// of the record's JSON with its checksum field empty.
func cmdReseal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: reseal FILE")
	}
	data := []byte(ts.ReadFile(args[0]))
	var probe map[string]any
	ts.Check(json.Unmarshal(data, &probe))
	var rec any = &record.Apply{}
	if _, ok := probe["plan_file"]; ok {
		rec = &record.Plan{}
	}
	ts.Check(json.Unmarshal(data, rec))
	sum := reflect.ValueOf(rec).Elem().FieldByName("Checksum")
	sum.SetString("")
	b, err := json.Marshal(rec)
	ts.Check(err)
	h := sha256.Sum256(b)
	sum.SetString(hex.EncodeToString(h[:]))
	out, err := json.MarshalIndent(rec, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), append(out, '\n'), 0o600))
}

// cmdWaitfile waits for a background command to create a file.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	file := ts.MkAbs(args[0])
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear within a minute", file)
}

// cmdBackdate makes files and directories look old.
func cmdBackdate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: backdate AGE PATH...")
	}
	age, err := time.ParseDuration(args[0])
	ts.Check(err)
	then := time.Now().Add(-age)
	for _, p := range args[1:] {
		ts.Check(os.Chtimes(ts.MkAbs(p), then, then))
	}
}

// cmdBundleEdit rewrites a bundle: its manifest (sealed again or not), an
// entry's bytes, or its length.
func cmdBundleEdit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: bundleedit FILE OP...")
	}
	file := ts.MkAbs(args[0])
	raw, err := os.ReadFile(file)
	ts.Check(err)
	type entry struct {
		hdr  *tar.Header
		data []byte
	}
	var entries []entry
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	ts.Check(err)
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		ts.Check(err)
		data, err := io.ReadAll(tr)
		ts.Check(err)
		entries = append(entries, entry{hdr, data})
	}
	ops := args[1:]
	for len(ops) > 0 {
		switch op := ops[0]; {
		case (op == "manifest" || op == "noseal") && len(ops) >= 2:
			key, val, ok := strings.Cut(ops[1], "=")
			if !ok {
				ts.Fatalf("bundleedit: %q is not KEY=VALUE", ops[1])
			}
			var m map[string]any
			ts.Check(json.Unmarshal(entries[0].data, &m))
			var v any = val
			if json.Unmarshal([]byte(val), &v) != nil {
				v = val
			}
			m[key] = v
			b, err := json.Marshal(m)
			ts.Check(err)
			if op == "manifest" {
				var man bundle.Manifest
				ts.Check(json.Unmarshal(b, &man))
				man.Checksum = ""
				sealed, err := json.Marshal(&man)
				ts.Check(err)
				h := sha256.Sum256(sealed)
				m["checksum"] = hex.EncodeToString(h[:])
				b, err = json.Marshal(m)
				ts.Check(err)
			}
			entries[0].data, entries[0].hdr.Size = b, int64(len(b))
			ops = ops[2:]
		case op == "entry" && len(ops) >= 4:
			found := false
			for i := range entries {
				if strings.HasSuffix(entries[i].hdr.Name, ops[1]) && bytes.Contains(entries[i].data, []byte(ops[2])) {
					entries[i].data = bytes.Replace(entries[i].data, []byte(ops[2]), []byte(ops[3]), 1)
					entries[i].hdr.Size = int64(len(entries[i].data))
					found = true
					break
				}
			}
			if !found {
				ts.Fatalf("bundleedit: no entry ending in %s holds %q", ops[1], ops[2])
			}
			ops = ops[4:]
		case op == "truncate" && len(ops) >= 2:
			n, err := strconv.Atoi(ops[1])
			ts.Check(err)
			raw = raw[:n]
			ts.Check(os.WriteFile(file, raw, 0o600))
			return
		default:
			ts.Fatalf("bundleedit: bad operation %q", op)
		}
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		ts.Check(tw.WriteHeader(e.hdr))
		_, err := tw.Write(e.data)
		ts.Check(err)
	}
	ts.Check(tw.Close())
	ts.Check(zw.Close())
	ts.Check(os.WriteFile(file, out.Bytes(), 0o600))
}
