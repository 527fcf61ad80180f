package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// The faults: a server that is down, or answering 500, when a run ends, and
// one that dies in the middle of a live run. The bag is spooled, the
// tests' verdict stays pony-report's exit status, and `pony-report flush`
// delivers it exactly once when the server is back.

// tapScript writes a shell script printing a TAP stream of two tests, one
// failing, and exiting 1 as a runner would, and returns its path.
func tapScript(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tests.sh")
	script := "printf 'TAP version 13\\n1..2\\nok 1 - works\\nnot ok 2 - breaks\\n'\nexit 1\n"
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// spooled lists the bags waiting in a spool directory.
func spooled(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// flush runs `pony-report flush` on a spool for one server.
func flush(t testing.TB, serverURL, spool string) outcome {
	t.Helper()
	return runReport(t, invocation{args: []string{"flush", "--server", serverURL, "--spool-dir", spool, "--retries", "1"}})
}

// storedBag GETs one stored result as raw JSON fields and as a bag.
func storedBag(t testing.TB, srv *server, key string) (map[string]json.RawMessage, *pony.Bag) {
	t.Helper()
	var raw map[string]json.RawMessage
	getJSON(t, srv.URL+"/api/v1/results/"+url.PathEscape(key), http.StatusOK, &raw)
	var b pony.Bag
	getJSON(t, srv.URL+"/api/v1/results/"+url.PathEscape(key), http.StatusOK, &b)
	return raw, &b
}

// onlyResult returns the key of the package's one stored result.
func onlyResult(t testing.TB, srv *server, pkg string) string {
	t.Helper()
	rs := results(t, srv, pkg)
	if len(rs) != 1 {
		t.Fatalf("%s has %d stored results, want 1: %v", pkg, len(rs), rs)
	}
	key, _ := rs[0]["result_key"].(string)
	if key == "" {
		t.Fatalf("no result_key in %v", rs[0])
	}
	return key
}

// TestServerDownThenFlush: no server listens when the run ends, so the bag
// is spooled and pony-report still exits with the tests' verdict; once the
// server starts on that address, flush delivers it once, and a second flush
// sends nothing.
func TestServerDownThenFlush(t *testing.T) {
	t.Parallel()
	addr, spool := freeAddr(t), t.TempDir()
	const pkg = "e2e-down"
	rep := runReport(t, invocation{args: []string{"run", "--server", "http://" + addr, "--package", pkg,
		"--spool-dir", spool, "--retries", "1", "--", "sh", tapScript(t)}})
	if rep.code != 1 {
		t.Fatalf("pony-report exited %d, want the tests' 1:\n%s", rep.code, rep.stderr)
	}
	if files := spooled(t, spool); len(files) != 1 {
		t.Fatalf("got %d spooled bags %v, want 1; stderr:\n%s", len(files), files, rep.stderr)
	}
	if !strings.Contains(rep.stderr, "pony-report flush") {
		t.Errorf("stderr does not say to run pony-report flush:\n%s", rep.stderr)
	}

	srv := startServerAt(t, addr, "")
	f := flush(t, srv.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "sent 1 spooled bag") {
		t.Fatalf("flush: got exit %d, want 0 and \"sent 1 spooled bag\":\n%s", f.code, f.stderr)
	}
	if files := spooled(t, spool); len(files) != 0 {
		t.Errorf("got %v still spooled after flush, want none", files)
	}
	_, bag := storedBag(t, srv, onlyResult(t, srv, pkg))
	if tot := bag.Totals(); tot.Tests != 2 || tot.Pass != 1 || tot.Fail != 1 {
		t.Errorf("got totals %+v, want 2 tests, 1 pass, 1 fail", tot)
	}
	posts := srv.requests("POST", "/api/v1/results")
	f = flush(t, srv.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d, want 0 and \"nothing spooled\":\n%s", f.code, f.stderr)
	}
	if got := srv.requests("POST", "/api/v1/results"); got != posts {
		t.Errorf("second flush: got %d POST /api/v1/results, want none", got-posts)
	}
	onlyResult(t, srv, pkg)
}

// failingProxy is a reverse proxy to a real server that answers 500 to
// every write (results and runs routes) while fail is set, and counts the
// writes it passed on.
type failingProxy struct {
	fail   atomic.Bool
	passed atomic.Int64
	URL    string
}

func newFailingProxy(t testing.TB, target string) *failingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &failingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := r.Method == http.MethodPost &&
			(strings.HasPrefix(r.URL.Path, "/api/v1/results") || strings.HasPrefix(r.URL.Path, "/api/v1/runs"))
		if write && p.fail.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error": "injected by the test's proxy"}`))
			return
		}
		if write {
			p.passed.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// TestServer500ThenFlush: the server answers 500 to the run and to the
// bag, so the bag is spooled; once it answers again, flush delivers it
// once, and a second flush sends nothing.
func TestServer500ThenFlush(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "")
	proxy := newFailingProxy(t, srv.URL)
	proxy.fail.Store(true)
	spool := t.TempDir()
	const pkg = "e2e-500"
	rep := runReport(t, invocation{args: []string{"run", "--server", proxy.URL, "--package", pkg,
		"--spool-dir", spool, "--retries", "1", "--", "sh", tapScript(t)}})
	if rep.code != 1 {
		t.Fatalf("pony-report exited %d, want the tests' 1:\n%s", rep.code, rep.stderr)
	}
	if files := spooled(t, spool); len(files) != 1 {
		t.Fatalf("got %d spooled bags %v, want 1; stderr:\n%s", len(files), files, rep.stderr)
	}
	if n := proxy.passed.Load(); n != 0 {
		t.Fatalf("%d writes reached the server while it answered 500", n)
	}
	if rs := results(t, srv, pkg); len(rs) != 0 {
		t.Fatalf("got %d stored results while the server answered 500, want 0", len(rs))
	}

	proxy.fail.Store(false)
	f := flush(t, proxy.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "sent 1 spooled bag") {
		t.Fatalf("flush: got exit %d, want 0 and \"sent 1 spooled bag\":\n%s", f.code, f.stderr)
	}
	if n := proxy.passed.Load(); n != 1 {
		t.Errorf("flush: got %d writes, want 1", n)
	}
	_, bag := storedBag(t, srv, onlyResult(t, srv, pkg))
	if tot := bag.Totals(); tot.Tests != 2 || tot.Fail != 1 {
		t.Errorf("got totals %+v, want 2 tests, 1 fail", tot)
	}
	f = flush(t, proxy.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d, want 0 and \"nothing spooled\":\n%s", f.code, f.stderr)
	}
	if n := proxy.passed.Load(); n != 1 {
		t.Errorf("second flush: got %d writes in all, want still 1", n)
	}
	onlyResult(t, srv, pkg)
}

// TestServerDiesMidRun: a live run's server is killed (SIGKILL) once it
// acknowledged the first step, and comes back after the run ended. The
// final bag is spooled, and flush completes the SAME run: one result, under
// the run's result key, with every step.
func TestServerDiesMidRun(t *testing.T) {
	t.Parallel()
	addr, spool, db := freeAddr(t), t.TempDir(), filepath.Join(t.TempDir(), "pony.db")
	srv := startServerAt(t, addr, db)
	const pkg = "e2e-dies"
	g := newGatedScript(t)
	run := startReport(t, invocation{args: []string{"run", "--server", srv.URL, "--package", pkg,
		"--spool-dir", spool, "--retries", "1", "--setup", "echo setting up", "--", "sh", g.script}})
	r := waitForRun(t, srv, pkg, func(r liveRun) bool { return len(r.Bag.Steps) == 1 })
	srv.kill()
	g.open(t)
	rep := run.wait(t)
	if rep.code != 1 {
		t.Fatalf("pony-report exited %d, want the tests' 1:\n%s", rep.code, rep.stderr)
	}
	if files := spooled(t, spool); len(files) != 1 {
		t.Fatalf("got %d spooled bags %v, want 1; stderr:\n%s", len(files), files, rep.stderr)
	}

	srv = startServerAt(t, addr, db)
	// Before the flush the server still holds the run, as it was left.
	var before map[string]json.RawMessage
	getJSON(t, srv.URL+"/api/v1/results/"+url.PathEscape(r.Key), http.StatusOK, &before)
	if s := string(before["state"]); s != `"running"` && s != `"abandoned"` {
		t.Errorf("before the flush: got state %s, want running or abandoned", s)
	}
	f := flush(t, srv.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "sent 1 spooled bag") {
		t.Fatalf("flush: got exit %d, want 0 and \"sent 1 spooled bag\":\n%s", f.code, f.stderr)
	}
	if key := onlyResult(t, srv, pkg); key != r.Key {
		t.Errorf("got result key %s, want the run's %s", key, r.Key)
	}
	raw, bag := storedBag(t, srv, r.Key)
	if _, ok := raw["state"]; ok {
		t.Errorf("the completed result still has a state: %s", raw["state"])
	}
	if len(bag.Steps) != 2 {
		t.Errorf("got %d steps, want 2 (setup and the tests)", len(bag.Steps))
	} else if tot := bag.Steps[1].Totals(); tot.Tests != 2 || tot.Fail != 1 {
		t.Errorf("got the test step's totals %+v, want 2 tests, 1 fail", tot)
	}
	if runs := packageRuns(t, srv, pkg); len(runs) != 0 {
		t.Errorf("got runs %+v still open after the flush, want none", runs)
	}
	f = flush(t, srv.URL, spool)
	if f.code != 0 || !strings.Contains(f.stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d, want 0 and \"nothing spooled\":\n%s", f.code, f.stderr)
	}
	onlyResult(t, srv, pkg)
}

// gated is a test script that prints a first TAP test point, waits until
// its gate file exists (or 60 s pass), then prints the rest: a test command
// the test holds in the middle of its run.
type gated struct {
	script, gate string
}

func newGatedScript(t testing.TB) *gated {
	t.Helper()
	dir := t.TempDir()
	g := &gated{script: filepath.Join(dir, "slow.sh"), gate: filepath.Join(dir, "gate")}
	script := `printf 'TAP version 13\n1..2\nok 1 - before the gate\n'
i=0
while [ ! -e '` + g.gate + `' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
printf 'not ok 2 - after the gate\n'
exit 1
`
	if err := os.WriteFile(g.script, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever happens to the test, the script ends soon after it.
	t.Cleanup(func() { os.WriteFile(g.gate, nil, 0o644) })
	return g
}

// open lets the script go on.
func (g *gated) open(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(g.gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// liveRun is a run as GET /api/v1/packages/PKG/runs lists it.
type liveRun struct {
	Key      string         `json:"result_key"`
	State    string         `json:"state"`
	Bag      pony.Bag       `json:"bag"`
	Progress map[string]any `json:"progress"`
	Started  time.Time      `json:"started"`
	Updated  time.Time      `json:"updated"`
}

// packageRuns lists a package's runs that are not complete.
func packageRuns(t testing.TB, srv *server, pkg string) []liveRun {
	t.Helper()
	var list struct {
		Runs []liveRun `json:"runs"`
	}
	getJSON(t, srv.URL+"/api/v1/packages/"+url.PathEscape(pkg)+"/runs", http.StatusOK, &list)
	return list.Runs
}

// waitForRun polls the package's runs until one satisfies ok (at most 30 s)
// and returns it.
func waitForRun(t testing.TB, srv *server, pkg string, ok func(liveRun) bool) liveRun {
	t.Helper()
	var found liveRun
	waitFor(t, 30*time.Second, "the run of "+pkg, func() (bool, string) {
		code, body, err := fetch(srv.URL + "/api/v1/packages/" + url.PathEscape(pkg) + "/runs")
		if err != nil || code != http.StatusOK {
			return false, string(body)
		}
		var list struct {
			Runs []liveRun `json:"runs"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return false, err.Error()
		}
		for _, r := range list.Runs {
			if ok(r) {
				found = r
				return true, ""
			}
		}
		return false, string(body)
	})
	return found
}
