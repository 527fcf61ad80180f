package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// recorder is a stand-in pony-server: it stores each idempotency key once,
// counts every request, and answers with the statuses it is told to, in
// order, before answering 201.
type recorder struct {
	mu       sync.Mutex
	answers  []int          // statuses to answer first, one per request
	requests int            // every request
	stored   map[string]int // idempotency key → times stored
	bodies   map[string][]byte
	headers  []http.Header
}

func newRecorder(answers ...int) *recorder {
	return &recorder{answers: answers, stored: map[string]int{}, bodies: map[string][]byte{}}
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	rc.headers = append(rc.headers, r.Header.Clone())
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/results" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if len(rc.answers) > 0 {
		code := rc.answers[0]
		rc.answers = rc.answers[1:]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error": "answer %d", "detail": "as told"}`, code)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var b pony.Bag
	if err := json.Unmarshal(body, &b); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error": %q}`, err.Error())
		return
	}
	rc.stored[key]++
	rc.bodies[key] = body
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"receipt": {"result_key": "r-%s", "time": "2026-11-22T10:00:00Z"}}`, key[:8])
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests
}

// noSleep records the waits instead of waiting.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	n.waits = append(n.waits, d)
	n.mu.Unlock()
	return ctx.Err()
}

func testSender(ns *noSleep) *Sender {
	return &Sender{
		Token: "s3cret",
		HTTP:  &http.Client{Timeout: 5 * time.Second},
		Retry: Retry{Attempts: 4, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second }, MaxWait: 5 * time.Second, Sleep: ns.sleep},
	}
}

func testEnvelope(t testing.TB, server string) *Envelope {
	t.Helper()
	b := &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "pony", Host: "h", Arch: "linux-amd64"},
		Steps: []pony.Step{{Type: "test", Name: "-", Format: "gotest", Tests: []pony.TestResult{
			{Suite: "p", Name: "TestA", Status: pony.StatusPass},
		}}},
		Receipt: &pony.Receipt{ResultKey: "forged"},
	}
	env, err := NewEnvelope(b, server)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSendHeadersAndBody(t *testing.T) {
	rc := newRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	env := testEnvelope(t, srv.URL+"/") // a trailing slash is tolerated
	rec, err := testSender(&noSleep{}).Send(context.Background(), env)
	if err != nil {
		t.Fatalf("Send: got %v, want no error", err)
	}
	if want := "r-" + env.IdempotencyKey[:8]; rec.ResultKey != want {
		t.Errorf("receipt: got %q, want %q", rec.ResultKey, want)
	}
	h := rc.headers[0]
	for k, want := range map[string]string{
		"Idempotency-Key": env.IdempotencyKey,
		"Authorization":   "Bearer s3cret",
		"Content-Type":    "application/json",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}
	if got := string(rc.bodies[env.IdempotencyKey]); got != string(env.Bag) {
		t.Errorf("body: got %s, want %s", got, env.Bag)
	}
	if strings.Contains(string(env.Bag), "forged") {
		t.Errorf("body: got a receipt in %s, want none (the server writes it)", env.Bag)
	}
	if len(env.IdempotencyKey) != 32 {
		t.Errorf("key: got %q, want 32 hex digits", env.IdempotencyKey)
	}
}

func TestSendRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answers    []int
		wantStatus int // 0: success
		wantTries  int
		wantWaits  []time.Duration
	}{
		{name: "500 then success", answers: []int{500}, wantTries: 2, wantWaits: []time.Duration{time.Second}},
		{name: "502 503 408 then success", answers: []int{502, 503, 408}, wantTries: 4,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{name: "429 honours Retry-After, bounded", answers: []int{429}, wantTries: 2, wantWaits: []time.Duration{5 * time.Second}},
		{name: "500 four times: give up", answers: []int{500, 500, 500, 500, 500}, wantStatus: 500, wantTries: 4,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{name: "401 is not retried", answers: []int{401}, wantStatus: 401, wantTries: 1},
		{name: "403 is not retried", answers: []int{403}, wantStatus: 403, wantTries: 1},
		{name: "413 is not retried", answers: []int{413}, wantStatus: 413, wantTries: 1},
		{name: "422 is not retried", answers: []int{422}, wantStatus: 422, wantTries: 1},
		{name: "400 is not retried", answers: []int{400}, wantStatus: 400, wantTries: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newRecorder(tc.answers...)
			srv := httptest.NewServer(rc)
			defer srv.Close()
			ns := &noSleep{}
			_, err := testSender(ns).Send(context.Background(), testEnvelope(t, srv.URL))
			var se *ServerError
			switch {
			case tc.wantStatus == 0 && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.wantStatus != 0 && (!errors.As(err, &se) || se.StatusCode != tc.wantStatus):
				t.Errorf("got %v, want a ServerError %d", err, tc.wantStatus)
			}
			if se != nil && !strings.Contains(se.Error(), fmt.Sprintf("server said %d", tc.wantStatus)) || se != nil && !strings.Contains(se.Error(), "(as told)") {
				t.Errorf("message: got %q, want the status and the server's error and detail", se.Error())
			}
			if got := rc.count(); got != tc.wantTries {
				t.Errorf("tries: got %d, want %d", got, tc.wantTries)
			}
			if fmt.Sprint(ns.waits) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("waits: got %v, want %v", ns.waits, tc.wantWaits)
			}
		})
	}
}

// deadServer returns the URL of a port nobody listens on.
func deadServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestSendUnreachable(t *testing.T) {
	ns := &noSleep{}
	_, err := testSender(ns).Send(context.Background(), testEnvelope(t, deadServer(t)))
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want an UnreachableError", err)
	}
	if len(ns.waits) != 3 {
		t.Errorf("waits: got %v, want 3 (4 tries)", ns.waits)
	}
}

func TestSendTooLarge(t *testing.T) {
	rc := newRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	env := testEnvelope(t, srv.URL)
	env.Bag = append([]byte(`{"x":"`), make([]byte, MaxBody)...)
	_, err := testSender(&noSleep{}).Send(context.Background(), env)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "65 MiB") {
		t.Errorf("got %v, want ErrTooLarge saying 65 MiB", err)
	}
	if rc.count() != 0 {
		t.Errorf("requests: got %d, want 0", rc.count())
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"error": "bad token"}`, "bad token"},
		{`{"error": "too big", "detail": {"limit": 10}}`, `too big ({"limit": 10})`},
		{"<html>\n<body>Bad Gateway</body>\n</html>", "<html> <body>Bad Gateway</body> </html>"},
		{"", ""},
	} {
		if got := errorMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("errorMessage(%q): got %q, want %q", tc.body, got, tc.want)
		}
	}
}
