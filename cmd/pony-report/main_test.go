package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pony-build/pony/internal/testenv"
)

// bin is the pony-report binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pony-report-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "pony-report")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pony-report: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// invocation is one run of the binary.
type invocation struct {
	args  []string
	stdin io.Reader
	env   map[string]string // added to a clean environment
	dir   string            // working directory; default the package's
}

type result struct {
	stdout, stderr string
	code           int
}

// ciPrefixes are the variables stripped from the tests' environment, so
// that running the tests on a CI machine does not change what they see.
var ciPrefixes = []string{"PONY_", "GITHUB_", "GITLAB_", "CI_", "JENKINS_", "BUILDKITE", "CIRCLE", "GIT_", "BRANCH_NAME", "CHANGE_", "BUILD_URL"}

func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range ciPrefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func runBin(t *testing.T, inv invocation) result {
	t.Helper()
	cmd := exec.Command(bin, inv.args...)
	cmd.Dir = inv.dir
	cmd.Stdin = inv.stdin
	env := map[string]string{"PONY_SPOOL_DIR": filepath.Join(t.TempDir(), "spool"), "PONY_TIMEOUT": "5s"}
	for k, v := range inv.env {
		env[k] = v
	}
	cmd.Env = cleanEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run pony-report: %v", err)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("pony-report %q crashed:\n%s", inv.args, r.stderr)
	}
	return r
}

// server is a stand-in pony-server recording what it is sent. It answers
// `code` (when not zero) to every request, else 201 with a receipt.
type server struct {
	mu       sync.Mutex
	code     int
	requests []*http.Request
	stored   map[string]int // idempotency key → times stored
	bags     map[string]map[string]any
	*httptest.Server
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/results" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if s.code != 0 {
		w.WriteHeader(s.code)
		fmt.Fprintf(w, `{"error": "token not accepted for package pony"}`)
		return
	}
	var bag map[string]any
	if err := json.Unmarshal(body, &bag); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error": %q}`, err.Error())
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.stored[key]++
	s.bags[key] = bag
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"receipt": {"result_key": "res-%d", "time": "2026-11-22T10:00:00Z"}}`, len(s.stored))
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// newServer starts a recording server; on addr when it is not "".
func newServer(t *testing.T, code int, addr string) *server {
	t.Helper()
	s := &server{code: code, stored: map[string]int{}, bags: map[string]map[string]any{}}
	s.Server = httptest.NewUnstartedServer(s)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s was taken meanwhile: %v", addr, err) // not the code under test
		}
		s.Listener.Close()
		s.Listener = l
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// deadAddr returns a local address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// repoRoot is the repository root.
func repoRoot(t *testing.T) string { return testenv.RepoRoot(t) }

// fixtures returns the shared real-world fixtures folder, read in place
// (see testenv.SharedFixtures).
func fixtures(t *testing.T) string {
	t.Helper()
	dir := testenv.SharedFixtures(t)
	if dir == "" {
		t.Skip("shared fixtures opted out")
	}
	return dir
}

// decodeBag reads the bag pony-report printed.
func decodeBag(t *testing.T, s string) map[string]any {
	t.Helper()
	var bag map[string]any
	if err := json.Unmarshal([]byte(s), &bag); err != nil {
		t.Fatalf("stdout is not a bag: %v\n%s", err, s)
	}
	return bag
}

func spoolFiles(t *testing.T, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
