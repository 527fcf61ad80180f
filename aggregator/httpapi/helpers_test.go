package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
)

// fixture is a Server over a real store (SQLite in a temporary directory).
type fixture struct {
	t    testing.TB
	svc  *aggregator.Service
	h    http.Handler
	logs *syncBuffer
	now  *time.Time
}

type fixtureOpts struct {
	svc  aggregator.Options
	http httpapi.Options
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, logs: logs}
	if o.svc.Now == nil {
		now := time.Now().UTC()
		f.now = &now
		o.svc.Now = func() time.Time { return *f.now }
	}
	f.svc = aggregator.New(st, o.svc)
	if o.http.Logger == nil {
		o.http.Logger = logger
	}
	f.h = httpapi.New(f.svc, o.http).Handler()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return f
}

// response is a recorded answer.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, clipBody(r.Body))
	}
}

// errorText returns the "error" of a JSON error answer.
func (r response) errorText(t testing.TB) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	return e.Error
}

func clipBody(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// do sends a request; header is "Name: value" pairs.
func (f *fixture) do(method, target string, body io.Reader, header ...string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = "192.0.2.7:40000"
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func (f *fixture) get(target string, header ...string) response {
	f.t.Helper()
	return f.do(http.MethodGet, target, nil, header...)
}

func (f *fixture) post(target string, body []byte, header ...string) response {
	f.t.Helper()
	return f.do(http.MethodPost, target, bytes.NewReader(body), header...)
}

// postBag posts a bag and returns its receipt, failing unless 201.
func (f *fixture) postBag(bag *pony.Bag, header ...string) pony.Receipt {
	f.t.Helper()
	b, err := json.Marshal(bag)
	if err != nil {
		f.t.Fatal(err)
	}
	r := f.post("/api/v1/results", b, header...)
	if r.Code != http.StatusCreated {
		f.t.Fatalf("POST bag: got %d %s, want 201", r.Code, clipBody(r.Body))
	}
	var ans struct {
		Receipt pony.Receipt `json:"receipt"`
	}
	r.json(f.t, &ans)
	return ans.Receipt
}

// token creates a token and returns the header carrying it.
func (f *fixture) token(pkg string, scope aggregator.Scope) string {
	f.t.Helper()
	secret, _, err := f.svc.CreateToken(context.Background(), pkg, scope, "test")
	if err != nil {
		f.t.Fatal(err)
	}
	return "Authorization: Bearer " + secret
}

func boolp(b bool) *bool { return &b }

// sampleBag is a small bag of package pkg on host.
func sampleBag(pkg, host string, tests ...pony.TestResult) *pony.Bag {
	if len(tests) == 0 {
		tests = []pony.TestResult{
			{Suite: "pkg/a", Name: "TestOne", Status: pony.StatusPass, Duration: 0.5},
			{Suite: "pkg/a", Name: "TestTwo", Status: pony.StatusFail, Message: "want 1, got 2", Output: "a_test.go:12: want 1, got 2\n"},
		}
	}
	return &pony.Bag{
		ClientInfo: pony.ClientInfo{
			Package: pkg, Host: host, Arch: "linux-amd64", Tags: []string{"nightly", "go1.22"}, Runtime: "go1.22.4",
			Branch: "main", Commit: "9f1c2d", Duration: 12.5,
			Extra: map[string]json.RawMessage{"ci_job": json.RawMessage(`{"id":42,"retries":[1,2]}`), "owner": json.RawMessage(`"web team"`)},
		},
		Steps: []pony.Step{{Type: "test", Name: "go test ./...", Command: "go test -json ./...", Status: 1, Format: "gotest", Duration: 11.9, Tests: tests,
			Extra: map[string]json.RawMessage{"shard": json.RawMessage(`3`)}}},
	}
}
