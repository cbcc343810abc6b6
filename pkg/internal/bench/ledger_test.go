package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-tf/atoll/pkg/git"
	"github.com/atoll-tf/atoll/pkg/ledger"
	"github.com/atoll-tf/atoll/pkg/ledger/gitstore"
)

const (
	benchLocks       = 1000
	benchEntries     = 10000
	benchLedgers     = 100 // 100 entries each
	ledgerTarget     = 2.0
	ledgerRounds     = 9
	ledgerFloorPush  = "git push origin <new commit>:refs/heads/bench-N"
	ledgerFloorFetch = "git fetch origin '+refs/atoll/*:refs/atoll/*'"
)

// TestLedgerBenchmark measures, against a file:// remote holding 1,000
// locks and 10,000 ledger entries: `atoll lock` and one ledger append
// against a plain git push of one ref, and the guard's remote checks
// (locks, applied) against one git fetch of refs/atoll/*, interleaved in
// one run. ATOLL_BENCH=1 runs it; ATOLL_BENCH_WRITE=1 writes its section
// of docs/performance.md.
func TestLedgerBenchmark(t *testing.T) {
	if os.Getenv("ATOLL_BENCH") != "1" {
		t.Log("benchmark not run: set ATOLL_BENCH=1 (see docs/performance.md)")
		return
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	atoll, err := Build(root, "./cmd/atoll", t.TempDir(), "atoll")
	if err != nil {
		t.Fatal(err)
	}
	env := append(Env(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	dir := t.TempDir()
	gitIn := func(d string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = d, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	origin := filepath.Join(dir, "origin.git")
	gitIn(dir, "init", "-q", "--bare", "-b", "main", origin)
	seed := filepath.Join(dir, "seed")
	gitIn(dir, "init", "-q", "-b", "main", seed)
	for _, p := range []string{"conf/a", "conf/b"} {
		if err := os.MkdirAll(filepath.Join(seed, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seed, p, "main.tf"), []byte("resource \"terraform_data\" \"r\" {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(seed, "add", "-A")
	gitIn(seed, "commit", "-q", "-m", "layout")
	gitIn(seed, "push", "-q", origin, "main")
	fillRemote(t, origin, env)

	clone := func(name string) string {
		d := filepath.Join(dir, name)
		gitIn(dir, "clone", "-q", "file://"+origin, d)
		gitIn(d, "checkout", "-q", "-b", "feature")
		gitIn(d, "commit", "-q", "--allow-empty", "-m", "feature")
		if err := os.WriteFile(filepath.Join(d, "conf/a/main.tf"), []byte("resource \"terraform_data\" \"r\" { input = 1 }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(d, "commit", "-q", "-am", "a: edit")
		gitIn(d, "fetch", "-q", "origin", "+refs/atoll/*:refs/atoll/*")
		return d
	}
	writer, floorDir, guardDir := clone("writer"), clone("floor"), clone("guard")

	run := func(series *Series, d string, okCodes []int, name string, args ...string) {
		var out bytes.Buffer
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = d, env, &out, &out
		sample, err := Run(cmd)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		ok := false
		for _, c := range okCodes {
			ok = ok || c == code
		}
		if !ok {
			t.Fatalf("%s %v: exit %d\n%s", name, args, code, out.Bytes())
		}
		if series != nil {
			*series = append(*series, sample)
		}
	}
	repo, err := git.Open(writer)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	st, err := gitstore.Open(repo, "origin", false)
	if err != nil {
		t.Fatal(err)
	}
	client := &ledger.Client{Store: st}

	var push, lock, unlock, appendS, fetch, guardFull, guardLocal Series
	for r := -1; r < ledgerRounds; r++ {
		keep := func(s *Series) *Series {
			if r < 0 {
				return nil // untimed warm-up round
			}
			return s
		}
		sha := gitIn(writer, "commit-tree", "-m", fmt.Sprintf("bench %d", r), gitIn(writer, "rev-parse", "HEAD^{tree}"))
		run(keep(&push), writer, []int{0}, "git", "push", "-q", "origin", fmt.Sprintf("%s:refs/heads/bench-%d", sha, r+1))
		run(keep(&lock), writer, []int{0}, atoll, "lock", "conf/a")
		start := time.Now()
		if _, err := client.Append(context.Background(), &ledger.Entry{Project: "conf/b", Dir: "conf/b", Branch: "feature", Head: sha, Result: ledger.Success}); err != nil {
			t.Fatal(err)
		}
		if s := keep(&appendS); s != nil {
			*s = append(*s, Sample{Wall: time.Since(start)})
		}
		// The remote moved (a lock, an entry): both readers fetch it.
		run(keep(&fetch), floorDir, []int{0}, "sh", "-c", ledgerFloorFetch+" 2>/dev/null")
		run(keep(&guardFull), guardDir, []int{3}, atoll, "guard")
		run(keep(&guardLocal), guardDir, []int{0, 3}, atoll, "guard", "--skip", "applied,locks")
		run(keep(&unlock), writer, []int{0}, atoll, "unlock", "conf/a")
	}
	remote := guardFull.Median() - guardLocal.Median()
	lockRatio := float64(lock.Median()) / float64(push.Median())
	unlockRatio := float64(unlock.Median()) / float64(push.Median())
	appendRatio := float64(appendS.Median()) / float64(push.Median())
	guardRatio := float64(remote) / float64(fetch.Median())
	verdict := func(x float64) string {
		if x <= ledgerTarget {
			return "PASS"
		}
		return "FAIL"
	}
	table := fmt.Sprintf("| case | median (min-max) | ratio | target |\n|---|--:|--:|---|\n"+
		"| floor: `%s` | %s | 1.0× | |\n"+
		"| `atoll lock conf/a` (whole process) | %s | %.2f× push | ≤ %.0f×: **%s** |\n"+
		"| `atoll unlock conf/a` (whole process: one read, one push) | %s | %.2f× push | ≤ %.0f×: **%s** |\n"+
		"| one ledger append (`ledger.Client.Append`, in process) | %s | %.2f× push | ≤ %.0f×: **%s** |\n"+
		"| floor: `%s` | %s | 1.0× | |\n"+
		"| `atoll guard` (merge stage) | %s | | |\n"+
		"| `atoll guard --skip applied,locks` | %s | | |\n"+
		"| the guard's remote checks (difference of the two) | %s | %.2f× fetch | ≤ %.0f×: **%s** |\n",
		ledgerFloorPush, spread(push),
		spread(lock), lockRatio, ledgerTarget, verdict(lockRatio),
		spread(unlock), unlockRatio, 2*ledgerTarget, verdict(unlockRatio/2), // a read and a push
		spread(appendS), appendRatio, ledgerTarget, verdict(appendRatio),
		ledgerFloorFetch, spread(fetch),
		spread(guardFull), spread(guardLocal),
		remote.Round(time.Millisecond), guardRatio, ledgerTarget, verdict(guardRatio))
	t.Logf("results:\n\n%s", table)
	for name, x := range map[string][2]float64{"lock": {lockRatio, ledgerTarget}, "unlock": {unlockRatio, 2 * ledgerTarget}, "append": {appendRatio, ledgerTarget}, "guard": {guardRatio, ledgerTarget}} {
		if x[0] > x[1] {
			t.Errorf("target missed: %s %.2f× (limit %.0f×)", name, x[0], x[1])
		}
	}
	if os.Getenv("ATOLL_BENCH_WRITE") == "1" {
		body := fmt.Sprintf("Measured on %s with atoll %s. Machine: %s.\n\n"+
			"A file:// remote holding %d locks and %d ledger entries (%d projects' ledgers); each round takes and releases a lock, "+
			"appends an entry and pushes a branch, so every reader has something new to fetch; medians of %d interleaved rounds.\n\n%s",
			time.Now().UTC().Format("2006-01-02"), describe(root), Machine(), benchLocks, benchEntries, benchLedgers, ledgerRounds, table)
		WriteSection(t, root, "ledger", body)
	}
}

// fillRemote writes the locks and ledger entries into the bare origin in
// one git fast-import stream.
func fillRemote(t *testing.T, origin string, env []string) {
	t.Helper()
	var s bytes.Buffer
	mark := 0
	commit := func(ref, msg string, body []byte, ts int) {
		mark++
		fmt.Fprintf(&s, "blob\nmark :%d\ndata %d\n%s\n", mark, len(body), body)
		fmt.Fprintf(&s, "commit %s\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\nM 100644 :%d %s\n", ref, ts, len(msg), msg, mark, ledger.FileName)
	}
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < benchLocks; i++ {
		dir := fmt.Sprintf("conf/l%d", i)
		body := fmt.Sprintf(`{"format":1,"kind":"lock","project":%q,"dir":%q,"branch":"b%d","head":"%040d","who":{"user":"bench"},"time":%q,"nonce":"%d"}`,
			dir, dir, i, i, when.Format(time.RFC3339), i)
		commit(ledger.LockRef(ledger.Key(dir, "")), "lock", []byte(body), 1800000000+i)
	}
	for i := 0; i < benchEntries; i++ {
		dir := fmt.Sprintf("conf/p%d", i%benchLedgers)
		if i%benchLedgers == 0 {
			dir = "conf/a" // the guard reads conf/a's whole ledger
		}
		body := fmt.Sprintf(`{"format":1,"kind":"ledger","id":"e%d","project":%q,"dir":%q,"branch":"old","head":"%040d","result":"success","counts":{"add":0,"change":1,"replace":0,"destroy":0},"who":{"user":"bench"},"time":%q}`,
			i, dir, dir, i, when.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
		commit(ledger.LedgerRef(ledger.Key(dir, "")), "entry", []byte(body), 1800000000+i)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env, cmd.Stdin = origin, env, &s
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
}
