package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// freePort returns a loopback address nobody listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// countResults counts a package's results through the API.
func countResults(t *testing.T, base, pkg, token string) int {
	t.Helper()
	var p struct {
		Results []json.RawMessage `json:"results"`
	}
	getJSON(t, base+"/api/v1/packages/"+pkg+"/results?limit=500", token, 200, &p)
	return len(p.Results)
}

// The client's spool and flush against the real server: a bag sent while
// the server is down is spooled, flushed once it is up, and stored once
// however often it is flushed.
func TestSpoolFlush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	addr := freePort(t)
	report := testdata(t, "gotest/real_xsync.json") // a passing run

	r := runReport(t, nil, spool, "send", "--server", "http://"+addr, "--package", "spooled", "--host", "h1", report)
	if r.code != 0 || !strings.Contains(r.stderr, "spooled") {
		t.Fatalf("send with the server down: got exit %d and %q, want 0 (the tests passed) and the bag spooled", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(spool, "*.json"))
	if len(files) != 1 {
		t.Fatalf("got %d spooled files %q, want 1", len(files), files)
	}
	saved, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, "--db", filepath.Join(dir, "pony.db"), "--addr", addr)
	r = runReport(t, nil, spool, "flush")
	if r.code != 0 || !strings.Contains(r.stderr, "sent 1 spooled bag") {
		t.Fatalf("flush: got exit %d and %q, want 0 and \"sent 1 spooled bag\"", r.code, r.stderr)
	}
	if n := countResults(t, srv.URL, "spooled", ""); n != 1 {
		t.Fatalf("after flush: got %d results, want 1", n)
	}
	var page struct {
		Results []struct {
			Key string `json:"result_key"`
		} `json:"results"`
	}
	getJSON(t, srv.URL+"/api/v1/packages/spooled/results", "", 200, &page)
	first := page.Results[0].Key

	// Nothing left; flushing again sends nothing.
	r = runReport(t, nil, spool, "flush")
	if r.code != 0 || !strings.Contains(r.stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d and %q, want 0 and \"nothing spooled\"", r.code, r.stderr)
	}
	// The same spooled bag flushed again (as after a crash between the
	// server's 201 and the spool file's removal) is not stored twice: its
	// Idempotency-Key gives back the first receipt.
	if err := os.WriteFile(files[0], saved, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runReport(t, nil, spool, "flush")
	if r.code != 0 || !strings.Contains(r.stderr, "sent 1 spooled bag") {
		t.Fatalf("flush of the same bag again: got exit %d and %q, want 0 and \"sent 1 spooled bag\"", r.code, r.stderr)
	}
	if n := countResults(t, srv.URL, "spooled", ""); n != 1 {
		t.Errorf("after flushing the same bag twice: got %d results, want 1", n)
	}
	getJSON(t, srv.URL+"/api/v1/packages/spooled/results", "", 200, &page)
	if len(page.Results) != 1 || page.Results[0].Key != first {
		t.Errorf("got results %+v, want only %s", page.Results, first)
	}
	srv.stop(t)
}

// createToken runs `pony-server token create` and returns the secret.
func createToken(t *testing.T, db, pkg, scope, name string) string {
	t.Helper()
	out, code, stderr := runServerCmd(t, "token", "create", "--db", db, "--package", pkg, "--scope", scope, "--name", name)
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, "pony_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create: got exit %d, stdout %q, stderr %q; want 0 and the token alone on one line", code, out, stderr)
	}
	return tok
}

// runServerCmd runs a one-shot pony-server command.
func runServerCmd(t *testing.T, args ...string) (stdout string, code int, stderr string) {
	t.Helper()
	cmd := execServer(args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		} else {
			t.Fatal(err)
		}
	}
	return o.String(), code, e.String()
}

func TestTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "pony.db")
	write := createToken(t, db, "secure", "write", "ci")
	read := createToken(t, db, "secure", "read", "dashboard")
	other := createToken(t, db, "other", "write", "")

	out, code, stderr := runServerCmd(t, "token", "list", "--db", db)
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "dashboard") || !strings.Contains(out, "other") {
		t.Errorf("token list: got exit %d, %q (%s), want a header and 3 tokens", code, out, stderr)
	}
	for _, secret := range []string{write, read, other} {
		if strings.Contains(out, secret) || strings.Contains(out, strings.TrimPrefix(secret, "pony_")[8:]) {
			t.Errorf("token list printed a secret: %q", out)
		}
	}
	if b, err := os.ReadFile(db); err == nil && strings.Contains(string(b), strings.TrimPrefix(write, "pony_")) {
		t.Error("the database holds a token's secret, want its hash only")
	}

	srv := startServer(t, "--db", db)
	if strings.Contains(srv.stderr.String(), "WARNING") {
		t.Errorf("got stderr %q, want no open-server warning once a token exists", srv.stderr)
	}
	bag := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "secure", Host: "h"}, Steps: []pony.Step{realStep(t, "junit/pytest-xunit2.xml")}}
	ctx := context.Background()
	for _, tc := range []struct {
		name, token string
		want        int
		msg         string
	}{
		{"no token", "", 401, "token is required"},
		{"unknown token", "pony_0123456789", 401, "unknown token"},
		{"another package's token", other, 403, `"other"`},
		{"a read token", read, 403, "write token"},
		{"the package's write token", write, 201, ""},
	} {
		code, body, err := postBag(ctx, srv.URL, bag, "", tc.token)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		if code != tc.want || (tc.msg != "" && !strings.Contains(e.Error, tc.msg)) {
			t.Errorf("%s: got %d %s, want %d with an error holding %q", tc.name, code, body, tc.want, tc.msg)
		}
	}
	// pony-report with the token.
	r := runReport(t, nil, filepath.Join(dir, "spool"), "send", "--server", srv.URL, "--package", "secure", "--token", write, testdata(t, "gotest/real_xsync.json"))
	if r.code != 0 || !strings.Contains(r.stderr, "sent as") {
		t.Errorf("pony-report send --token: got exit %d and %q, want 0 and sent", r.code, r.stderr)
	}
	// Reads are public unless --private-reads.
	if n := countResults(t, srv.URL, "secure", ""); n != 2 {
		t.Errorf("got %d results, want 2", n)
	}
	srv.stop(t)

	srv = startServer(t, "--db", db, "--private-reads")
	getJSON(t, srv.URL+"/api/v1/packages/secure/results", "", 401, nil)
	getJSON(t, srv.URL+"/api/v1/packages/secure/results", other, 403, nil)
	getJSON(t, srv.URL+"/api/v1/packages/secure/results", read, 200, nil)
	getJSON(t, srv.URL+"/api/v1/packages/secure/results", write, 200, nil)
	srv.stop(t)
}

func TestLimits(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--db", filepath.Join(t.TempDir(), "pony.db"), "--max-body", "8KiB")
	ctx := context.Background()
	big := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "limits"}, Steps: []pony.Step{realStep(t, "tap/node-test.tap"), realStep(t, "junit/pytest-xunit2.xml"), realStep(t, "gotest/everyday.json")}}
	b, _ := json.Marshal(big)
	if len(b) <= 8<<10 {
		t.Fatalf("the big bag is %d bytes, want over 8 KiB", len(b))
	}
	code, body, err := postBag(ctx, srv.URL, big, "", "")
	if err != nil || code != 413 || !strings.Contains(string(body), "8192") {
		t.Errorf("a %d-byte bag: got %d %s (%v), want 413 naming the limit of 8192 bytes", len(b), code, body, err)
	}
	long := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "limits", Tags: []string{strings.Repeat("t", 2000)}}}
	code, body, _ = postBag(ctx, srv.URL, long, "", "")
	if code != 413 || !strings.Contains(string(body), "tags[0]") {
		t.Errorf("a 2000-byte tag: got %d %s, want 413 naming client_info.tags[0]", code, body)
	}
	small := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "limits"}, Steps: []pony.Step{realStep(t, "gotest/real_shlex.json")}}
	if code, body, _ := postBag(ctx, srv.URL, small, "", ""); code != 201 {
		t.Errorf("a small bag: got %d %s, want 201", code, body)
	}
	srv.stop(t)
}

// SIGTERM lets a request in flight finish, refuses new connections, and
// exits 0 with the result stored.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "pony.db")
	srv := startServer(t, "--db", db)
	bag := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "shutdown", Host: "h"}, Steps: []pony.Step{realStep(t, "gotest/everyday.json")}}
	body, _ := json.Marshal(bag)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/results", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		code int
		body []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := httpClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{resp.StatusCode, b, err}
	}()
	half := len(body) / 2
	if _, err := pw.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server is reading the body
	if err := srv.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case <-srv.done:
		t.Fatalf("pony-server exited with a request in flight\n%s", srv.stderr)
	default:
	}
	// New connections are refused while the old request finishes.
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), time.Second); err == nil {
		t.Errorf("a new connection was accepted after SIGINT, want it refused")
	}
	if _, err := pw.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	a := <-done
	if a.err != nil || a.code != 201 {
		t.Fatalf("the request in flight: got %d %s (%v), want 201", a.code, a.body, a.err)
	}
	key := receiptOf(t, a.body).ResultKey
	srv.stop(t) // already stopping: waits for exit 0
	if !strings.Contains(srv.stderr.String(), "shutting down") {
		t.Errorf("got stderr %q, want it to say it is shutting down", srv.stderr)
	}
	srv = startServer(t, "--db", db)
	getJSON(t, srv.URL+"/api/v1/results/"+key, "", 200, nil)
	srv.stop(t)
}

// Without migrations at start, a stale schema is refused with a clear
// message; `pony-server migrate` fixes it.
func TestNoMigrate(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "pony.db")
	out, code, stderr := runServerCmd(t, "--no-migrate", "--db", db, "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "migrate") || strings.Contains(out, "listening") {
		t.Fatalf("--no-migrate on an empty database: got exit %d, stdout %q, stderr %q; want a failure saying to migrate", code, out, stderr)
	}
	if _, code, stderr := runServerCmd(t, "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: got exit %d (%s), want 0", code, stderr)
	}
	srv := startServer(t, "--no-migrate", "--db", db)
	getJSON(t, srv.URL+"/healthz", "", 200, nil)
	srv.stop(t)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "token create"},
		{[]string{"serve", "--help"}, 0, "-max-body"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"--max-body", "lots"}, 2, `bad size "lots"`},
		{[]string{"--log-format", "xml", "--db", filepath.Join(t.TempDir(), "x.db")}, 2, "--log-format"},
		{[]string{"token", "create", "--package", "p"}, 2, "--scope"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,lb.example"}, 2, `"lb.example" is neither an IP nor a CIDR`},
		{[]string{"--expected", "no-such-expected.json"}, 2, "--expected: open no-such-expected.json"},
		{[]string{"serve", "--help"}, 0, "-expected"},
		{[]string{"serve", "--help"}, 0, "-base-url"},
		{[]string{"serve", "--help"}, 0, "-flaky-window"},
		{[]string{"--flaky-window", "65"}, 2, "--flaky-window 65: want 1 to 64"},
		{[]string{"--infra-fraction", "0"}, 2, "--infra-fraction must be over 0"},
		{[]string{"--recover-after", "0"}, 2, "--recover-after"},
		{[]string{"token", "list", "--db", filepath.Join(t.TempDir(), "typo.db")}, 1, "no database at"},
		{[]string{"--base-url", "pony.example.org"}, 2, `--base-url: want an absolute http(s) URL`},
		{[]string{"token", "create", "--package", "p", "--scope", "admin", "--db", filepath.Join(t.TempDir(), "y.db")}, 2, "scope must be read or write"},
	} {
		out, code, stderr := runServerCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.want) {
			t.Errorf("pony-server %q: got exit %d and %q, want %d and %q", tc.args, code, out+stderr, tc.code, tc.want)
		}
	}
}
