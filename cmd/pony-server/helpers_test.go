package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters"
)

// serverBin and reportBin are the pony-server and pony-report binaries,
// built once by TestMain.
var serverBin, reportBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pony-server-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, reportBin = filepath.Join(dir, "pony-server"), filepath.Join(dir, "pony-report")
	for _, b := range []struct{ out, pkg string }{{serverBin, "."}, {reportBin, "../pony-report"}} {
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

// server is a pony-server process started by a test.
type server struct {
	URL    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit error, set before done is closed
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

// startServer runs pony-server with args (plus --addr 127.0.0.1:0 unless
// args name an --addr) and waits for the line giving its URL. The process
// is killed at the end of the test if still running.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s, err := tryStartServer(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.kill() })
	return s
}

func tryStartServer(args ...string) (*server, error) {
	hasAddr := false
	for _, a := range args {
		hasAddr = hasAddr || a == "--addr" || strings.HasPrefix(a, "--addr=")
	}
	if !hasAddr {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	s := &server{stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serverBin, args...)
	s.cmd.Env = serverEnv()
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "pony-server listening on "); ok {
				urlc <- u
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.URL = <-urlc:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("pony-server %q exited before listening: %v\n%s", args, s.err, s.stderr)
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("pony-server %q did not say where it listens within 60 s\n%s", args, s.stderr)
	}
}

// serverEnv is the environment of the processes the tests start: without
// the PONY_ variables of whoever runs the tests.
func serverEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PONY_") {
			out = append(out, kv)
		}
	}
	return out
}

// stderrHas reports whether the server's stderr holds every one of want,
// waiting up to 10 s for them: the stderr copy may lag the stdout line
// startServer waits for.
func (s *server) stderrHas(want ...string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, w := range want {
			all = all && strings.Contains(s.stderr.String(), w)
		}
		if all || time.Now().After(deadline) {
			return all
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop sends SIGTERM and waits (up to a minute) for a graceful exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		s.kill()
		t.Fatalf("pony-server did not stop within a minute of SIGTERM\n%s", s.stderr)
	}
	if s.err != nil {
		t.Errorf("pony-server exited with %v after SIGTERM, want 0\n%s", s.err, s.stderr)
	}
}

// realStep parses a real report from reporters/testdata into a step.
func realStep(t testing.TB, rel string) pony.Step {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(t), "reporters", "testdata", rel)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := reporters.Parse(context.Background(), "auto", f, reporters.Options{File: rel})
	if err != nil && st == nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	return *st
}

// httpClient is the tests' client: no retries, a generous timeout.
var httpClient = &http.Client{Timeout: 2 * time.Minute}

// postBag sends a bag as JSON, with an Idempotency-Key and a token when
// given, and returns the status and the body.
func postBag(ctx context.Context, url string, bag *pony.Bag, key, token string) (int, []byte, error) {
	body, err := json.Marshal(bag)
	if err != nil {
		return 0, nil, err
	}
	return post(ctx, url+"/api/v1/results", "application/json", body, key, token)
}

func post(ctx context.Context, url, contentType string, body []byte, key, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// receiptOf reads the receipt of a 201 answer.
func receiptOf(t testing.TB, body []byte) pony.Receipt {
	t.Helper()
	var r struct {
		Receipt pony.Receipt `json:"receipt"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Receipt.ResultKey == "" {
		t.Fatalf("got answer %s, want {\"receipt\": {\"result_key\": …}} (%v)", body, err)
	}
	return r.Receipt
}

// fetchJSON GETs url (with a token when given) into v; a status other than
// 200 is an error. Unlike getJSON it may be called from any goroutine.
func fetchJSON(url, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: got %d %s, want 200", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: got %s: %w", url, b, err)
	}
	return nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// getJSON GETs url (with a token when given) into v and returns the status;
// a status other than want fails the test.
func getJSON(t testing.TB, url, token string, want int, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: got %d %s, want %d", url, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: got %s: %v", url, b, err)
		}
	}
}

// execServer returns a command running pony-server with args.
func execServer(args ...string) *exec.Cmd {
	cmd := exec.Command(serverBin, args...)
	cmd.Env = serverEnv()
	return cmd
}
