package gitstore_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atoll-tf/atoll/pkg/internal/sandbox"
	"github.com/atoll-tf/atoll/pkg/ledger"
)

// gitServer serves the repositories under root with git http-backend
// (git's smart HTTP protocol) behind basic auth. drop makes it break the
// connection of the next pushes: "before" the backend runs (nothing is
// accepted) or "after" it ran (accepted, but the client never hears).
type gitServer struct {
	URL  string
	drop atomic.Value
}

func serveGit(t *testing.T, root string) *gitServer {
	t.Helper()
	bin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: bin, Args: []string{"http-backend"}, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=ana"}}
	gs := &gitServer{}
	gs.drop.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ana" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		push := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack")
		mode := gs.drop.Load().(string)
		if !push || mode == "" {
			backend.ServeHTTP(w, r)
			return
		}
		if mode == "after" {
			backend.ServeHTTP(httptest.NewRecorder(), r)
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	gs.URL = srv.URL
	return gs
}

// credentialHelper makes git answer the server's challenge with a
// password, as a user's credential helper would.
func credentialHelper(t *testing.T, password string) {
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "credential.helper")
	t.Setenv("GIT_CONFIG_VALUE_0", "!f() { test \"$1\" = get && echo username=ana && echo password="+password+"; }; f")
}

func TestLocksAndLedgerOverSmartHTTP(t *testing.T) {
	sb := sandbox.New(t, map[string]string{"conf/a/main.tf": "", "conf/b/main.tf": "", "conf/c/main.tf": ""})
	if _, err := sandbox.Git(sb.Origin, "config", "http.receivepack", "true"); err != nil {
		t.Fatal(err)
	}
	gs := serveGit(t, filepath.Dir(sb.Origin))
	credentialHelper(t, "s3cret")
	url := gs.URL + "/origin.git"
	a := client(t, clone(t, url, "feature-a"))
	ctx := context.Background()
	onServer := func(ref string) string {
		out, _ := sandbox.Git(sb.Origin, "for-each-ref", "--format=%(objectname)", ref)
		return out
	}

	if _, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/a", "feature-a")}, held); err != nil {
		t.Fatalf("lock over http: %v", err)
	}
	if onServer("refs/atoll/locks/conf_a") == "" {
		t.Fatal("the server holds no lock")
	}

	// Wrong credentials: a clear error, nothing recorded.
	credentialHelper(t, "wrong")
	_, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/b", "feature-a")}, held)
	var re *ledger.RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "no lock was taken") {
		t.Fatalf("bad password: %v", err)
	}
	if onServer("refs/atoll/locks/conf_b") != "" {
		t.Fatal("a lock was recorded with bad credentials")
	}
	credentialHelper(t, "s3cret")

	// The server dies before it accepts: nothing reported, nothing
	// written, and the next command takes the lock.
	gs.drop.Store("before")
	if _, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/b", "feature-a")}, held); !errors.As(err, &re) {
		t.Fatalf("server killed before accepting: %v", err)
	}
	if onServer("refs/atoll/locks/conf_b") != "" {
		t.Fatal("half a lock on the server")
	}
	gs.drop.Store("")
	if got, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/b", "feature-a")}, held); err != nil || len(got.Taken) != 1 {
		t.Fatalf("next lock: %+v %v", got, err)
	}

	// The server accepts, then dies before answering: the lock is not
	// reported taken, and the next command finds it is this branch's.
	gs.drop.Store("after")
	if _, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/c", "feature-a")}, held); !errors.As(err, &re) {
		t.Fatalf("server killed after accepting: %v", err)
	}
	gs.drop.Store("")
	if got, err := a.Acquire(ctx, []*ledger.Lock{lock("conf/c", "feature-a")}, held); err != nil || len(got.Already) != 1 {
		t.Fatalf("recovery: %+v %v", got, err)
	}

	// An append the server accepted without the client hearing: kept
	// locally, pushed by the next command, never twice.
	gs.drop.Store("after")
	id, kept, err := a.AppendOrKeep(ctx, &ledger.Entry{Dir: "conf/a", Project: "conf/a", Head: "0123456789abcdef0123456789abcdef01234567", Result: ledger.Success})
	if err != nil || !kept || id != "" {
		t.Fatalf("append with the server killed: id %q kept %v err %v", id, kept, err)
	}
	gs.drop.Store("")
	snap, err := a.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := snap.History(ledger.Key("conf/a", ""), 0)
	if err != nil || len(hist) != 1 {
		t.Fatalf("ledger after recovery: %d entries, %v", len(hist), err)
	}
	if p, _ := a.Store.Pending(); len(p) != 0 {
		t.Fatalf("%d entries still pending", len(p))
	}
}
