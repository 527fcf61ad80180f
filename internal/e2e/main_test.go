// Package e2e runs real test runners through the real pony-report binary
// against a real pony-server: the examples under examples/, a server that
// is down or failing when a run ends, and live reporting of a run in progress.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// serverBin and reportBin are the binaries, built once by TestMain.
var serverBin, reportBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pony-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, reportBin = filepath.Join(dir, "pony-server"), filepath.Join(dir, "pony-report")
	for _, b := range []struct{ out, pkg string }{{serverBin, "../../cmd/pony-server"}, {reportBin, "../../cmd/pony-report"}} {
		if out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a pony-server process.
type server struct {
	URL    string
	db     string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
}

// startServer runs pony-server on a free loopback port with the SQLite
// database db (a new one in a temporary directory when empty) and extra
// args, and waits until it says where it listens. The process is killed at
// the end of the test.
func startServer(t testing.TB, db string, args ...string) *server {
	t.Helper()
	return startServerAt(t, "127.0.0.1:0", db, args...)
}

// startServerAt is startServer listening on addr (host:port), so that a
// server can come back where its clients expect it (see freeAddr).
func startServerAt(t testing.TB, addr, db string, args ...string) *server {
	t.Helper()
	if db == "" {
		db = filepath.Join(t.TempDir(), "pony.db")
	}
	s := &server{db: db, stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serverBin, append([]string{"serve", "--addr", addr, "--db", db}, args...)...)
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- strings.TrimSpace(u)
			}
		}
	}()
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.kill)
	select {
	case s.URL = <-urls:
	case <-s.done:
		t.Fatalf("pony-server exited before listening:\n%s", s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("pony-server did not say where it listens within 30 s:\n%s", s.stderr)
	}
	return s
}

// kill stops the server with SIGKILL and waits for it.
func (s *server) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

// requests counts the requests the server logged with this method and
// route (the route pattern, e.g. /api/v1/runs/:key/steps).
func (s *server) requests(method, route string) int {
	return strings.Count(s.stderr.String(), "method="+method+" route="+route+" ")
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for a server that must start (or start again) on a known address.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor calls cond until it reports true, failing the test with cond's
// last word when deadline passes first.
func waitFor(t testing.TB, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s; last: %s", what, deadline, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getJSON GETs url and decodes its JSON into v, failing the test on any
// status but want.
func getJSON(t testing.TB, url string, want int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: got %d, want %d: %s", url, resp.StatusCode, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
}

// results lists a package's stored results.
func results(t testing.TB, srv *server, pkg string) []map[string]any {
	t.Helper()
	var page struct {
		Results []map[string]any `json:"results"`
	}
	getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/results", http.StatusOK, &page)
	return page.Results
}

// latest returns the newest stored bag of a package.
func latest(t testing.TB, srv *server, pkg string) *pony.Bag {
	t.Helper()
	var b pony.Bag
	getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/latest", http.StatusOK, &b)
	return &b
}

// invocation is one run of pony-report.
type invocation struct {
	dir  string
	args []string
	env  map[string]string
}

// outcome is what a process did.
type outcome struct {
	code           int
	stdout, stderr string
}

// cleanEnv is the test process's environment without the variables that
// would change pony-report's or the runners' behaviour (CI providers',
// PONY_*, GOFLAGS), plus extra.
func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PONY_"), strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "GITLAB_"),
			strings.HasPrefix(k, "CI_"), strings.HasPrefix(k, "BUILDKITE"), strings.HasPrefix(k, "CIRCLE"),
			strings.HasPrefix(k, "TRAVIS"), strings.HasPrefix(k, "JENKINS"), k == "CI", k == "TF_BUILD",
			k == "BUILD_URL", k == "JOB_NAME", k == "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// runReport runs pony-report and waits for it (at most two minutes).
func runReport(t testing.TB, inv invocation) outcome {
	t.Helper()
	return runProgram(t, reportBin, inv)
}

// runProgram runs prog (pony-report, or a test runner run directly to
// compare with) with inv's arguments, directory and clean environment, and
// waits for it (at most two minutes).
func runProgram(t testing.TB, prog string, inv invocation) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, inv.args...)
	cmd.Dir = inv.dir
	cmd.Env = cleanEnv(inv.env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A grandchild left holding the output pipes must not hang the test.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	o := outcome{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && o.code < 0 {
		t.Fatalf("%s %q: %v\n%s", filepath.Base(prog), inv.args, err, o.stderr)
	}
	return o
}

// running is a pony-report process started by startReport.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{}
}

// startReport starts pony-report without waiting for it; it is killed at
// the end of the test if still running.
func startReport(t testing.TB, inv invocation) *running {
	t.Helper()
	r := &running{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(reportBin, inv.args...)
	r.cmd.Dir = inv.dir
	r.cmd.Env = cleanEnv(inv.env)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	r.cmd.WaitDelay = 5 * time.Second
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait waits for the process to end (at most two minutes) and returns what
// it did.
func (r *running) wait(t testing.TB) outcome {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("pony-report %q still running after 2 minutes:\n%s", r.cmd.Args[1:], r.stderr)
	}
	return outcome{code: r.cmd.ProcessState.ExitCode(), stdout: r.stdout.String(), stderr: r.stderr.String()}
}

// fetch GETs url and returns the status and body.
func fetch(url string) (int, []byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// copyExample copies examples/NAME into a temporary directory, so that what
// the runners write stays out of the repository, and returns its path.
func copyExample(t testing.TB, name string) string {
	t.Helper()
	return copyExampleTo(t, t.TempDir(), name)
}

// copyExampleTo copies examples/NAME into parent/NAME and returns its path;
// examples that refer to each other (cron's steps run in ../go) are copied
// side by side.
func copyExampleTo(t testing.TB, parent, name string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "examples", name)
	dst := filepath.Join(parent, name)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "target" || d.Name() == "__pycache__" || d.Name() == ".pytest_cache" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// needTool fails the test when a runner is not installed: CI installs them
// (scripts/test.sh), so a missing one is a broken machine, not a skip.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; scripts/test.sh installs it (Debian packages)", name)
	}
	return p
}
