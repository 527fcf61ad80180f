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
	if db == "" {
		db = filepath.Join(t.TempDir(), "pony.db")
	}
	s := &server{db: db, stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serverBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, reportBin, inv.args...)
	cmd.Dir = inv.dir
	cmd.Env = cleanEnv(inv.env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := outcome{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && o.code < 0 {
		t.Fatalf("pony-report %q: %v\n%s", inv.args, err, o.stderr)
	}
	return o
}

// copyExample copies examples/NAME into a temporary directory, so that what
// the runners write stays out of the repository, and returns its path.
func copyExample(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "examples", name)
	dst := filepath.Join(t.TempDir(), name)
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
