package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// runServer is a stand-in pony-server speaking the incremental protocol of
// DESIGN.md §5 (runs-contract section A): open, steps, progress, finish, and
// /api/v1/results completing an open run with its idempotency key. Faults
// are queued per route: a status to answer before doing anything, or "drop"
// to do the work and then cut the connection without an answer.
type runServer struct {
	mu       sync.Mutex
	token    string
	runs     map[string]*fakeRun // result key → run
	byIdem   map[string]string   // idempotency key → result key
	faults   map[string][]string // route (open, steps, progress, finish, results) → faults
	requests map[string]int      // route → requests
	headers  map[string][]http.Header
	opens    []map[string]json.RawMessage
	progress []LiveProgress
	block    chan struct{} // when set, progress waits on it
}

type fakeRun struct {
	key, token, idem string
	steps            []pony.Step
	complete         bool
	bag              *pony.Bag
	via              string // finish or results
}

func newRunServer() *runServer {
	return &runServer{token: "s3cret", runs: map[string]*fakeRun{}, byIdem: map[string]string{},
		faults: map[string][]string{}, requests: map[string]int{}, headers: map[string][]http.Header{}}
}

func (rs *runServer) fault(route string, f ...string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.faults[route] = append(rs.faults[route], f...)
}

func (rs *runServer) count(route string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.requests[route]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (rs *runServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route, key := "", ""
	switch p := r.URL.Path; {
	case p == "/api/v1/runs":
		route = "open"
	case p == "/api/v1/results":
		route = "results"
	case strings.HasPrefix(p, "/api/v1/runs/"):
		rest := strings.TrimPrefix(p, "/api/v1/runs/")
		key, route, _ = strings.Cut(rest, "/")
	}
	rs.mu.Lock()
	rs.requests[route]++
	rs.headers[route] = append(rs.headers[route], r.Header.Clone())
	var f string
	if q := rs.faults[route]; len(q) > 0 {
		f, rs.faults[route] = q[0], q[1:]
	}
	block := rs.block
	rs.mu.Unlock()
	if route == "progress" && block != nil {
		<-block
	}
	if f != "" && f != "drop" {
		code := 0
		fmt.Sscan(f, &code)
		writeJSON(w, code, map[string]string{"error": "fault " + f})
		return
	}
	rs.mu.Lock()
	code, answer := rs.serve(r, route, key, body)
	rs.mu.Unlock()
	if f == "drop" {
		// The work is done; the answer is lost on the way.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if code == http.StatusNoContent {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, answer)
}

type errAnswer struct {
	Error  string `json:"error"`
	Detail any    `json:"detail,omitempty"`
}

// serve applies one request; the caller holds rs.mu.
func (rs *runServer) serve(r *http.Request, route, key string, body []byte) (int, any) {
	if r.Method != http.MethodPost || route == "" {
		return http.StatusNotFound, errAnswer{Error: "no such route"}
	}
	if r.Header.Get("Authorization") != "Bearer "+rs.token {
		return http.StatusUnauthorized, errAnswer{Error: "bearer token required"}
	}
	receipt := func(run *fakeRun) map[string]any {
		return map[string]any{"receipt": map[string]any{"result_key": run.key, "time": "2026-11-22T10:00:00Z"}}
	}
	complete := func(run *fakeRun, via string) (int, any) {
		if run.complete {
			return http.StatusOK, receipt(run)
		}
		var b pony.Bag
		if err := json.Unmarshal(body, &b); err != nil {
			return http.StatusBadRequest, errAnswer{Error: err.Error()}
		}
		if len(b.Steps) == 0 {
			b.Steps = run.steps
		}
		run.bag, run.complete, run.via = &b, true, via
		return http.StatusCreated, receipt(run)
	}
	switch route {
	case "open":
		idem := r.Header.Get("Idempotency-Key")
		if idem == "" {
			return http.StatusBadRequest, errAnswer{Error: "Idempotency-Key required"}
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return http.StatusBadRequest, errAnswer{Error: err.Error()}
		}
		rs.opens = append(rs.opens, m)
		var tok string
		json.Unmarshal(m["update_token"], &tok)
		var b pony.Bag
		if err := json.Unmarshal(body, &b); err != nil {
			return http.StatusBadRequest, errAnswer{Error: err.Error()}
		}
		if k, ok := rs.byIdem[idem]; ok {
			run := rs.runs[k]
			if tok == "" || tok != run.token {
				return http.StatusConflict, errAnswer{Error: "idempotency key already used by another run"}
			}
			return http.StatusOK, map[string]string{"result_key": run.key, "update_token": run.token, "state": "running"}
		}
		if tok == "" {
			tok = "server-made-token-0123456789"
		}
		run := &fakeRun{key: fmt.Sprintf("run%d", len(rs.runs)+1), token: tok, idem: idem, steps: b.Steps}
		rs.runs[run.key], rs.byIdem[idem] = run, run.key
		return http.StatusCreated, map[string]string{"result_key": run.key, "update_token": tok, "state": "running"}
	case "results":
		if k, ok := rs.byIdem[r.Header.Get("Idempotency-Key")]; ok {
			return complete(rs.runs[k], "results")
		}
		return http.StatusCreated, map[string]any{"receipt": map[string]any{"result_key": "plain"}}
	}
	run := rs.runs[key]
	if run == nil {
		return http.StatusNotFound, errAnswer{Error: "no run " + key}
	}
	if r.Header.Get(UpdateTokenHeader) != run.token {
		return http.StatusUnauthorized, errAnswer{Error: "wrong or missing update token"}
	}
	switch route {
	case "steps":
		if run.complete {
			return http.StatusConflict, errAnswer{Error: "run is complete"}
		}
		var req struct {
			Seq  int       `json:"seq"`
			Step pony.Step `json:"step"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return http.StatusBadRequest, errAnswer{Error: err.Error()}
		}
		n := len(run.steps)
		switch {
		case req.Seq == n:
			run.steps = append(run.steps, req.Step)
			return http.StatusCreated, map[string]int{"next": n + 1}
		case req.Seq < n:
			return http.StatusOK, map[string]int{"next": n}
		default:
			return http.StatusConflict, errAnswer{Error: fmt.Sprintf("step %d out of order", req.Seq), Detail: map[string]int{"next": n}}
		}
	case "progress":
		var p LiveProgress
		if err := json.Unmarshal(body, &p); err != nil {
			return http.StatusBadRequest, errAnswer{Error: err.Error()}
		}
		rs.progress = append(rs.progress, p)
		return http.StatusNoContent, nil
	case "finish":
		return complete(run, "finish")
	}
	return http.StatusNotFound, errAnswer{Error: "no such route"}
}

func (rs *runServer) run(t *testing.T, key string) *fakeRun {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.runs[key]
	if r == nil {
		t.Fatalf("run %q: got none on the server", key)
	}
	return r
}

func stepNames(steps []pony.Step) string {
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

func liveFixture(t *testing.T) (*runServer, *Live, *noSleep) {
	t.Helper()
	rs := newRunServer()
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)
	ns := &noSleep{}
	return rs, &Live{Sender: testSender(ns), Server: srv.URL, IdempotencyKey: NewIdempotencyKey()}, ns
}

func liveBag(steps ...string) *pony.Bag {
	b := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "pony", Host: "h"}, Receipt: &pony.Receipt{ResultKey: "forged"}}
	for _, s := range steps {
		b.Steps = append(b.Steps, pony.Step{Type: "test", Name: s})
	}
	return b
}

func TestLiveWholeRun(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	key, err := live.Open(ctx, liveBag("setup"))
	if err != nil {
		t.Fatalf("Open: got %v, want no error", err)
	}
	if key != live.ResultKey() || key == "" {
		t.Fatalf("result key: got %q and ResultKey %q, want the same, not empty", key, live.ResultKey())
	}
	for _, name := range []string{"build", "test"} {
		if err := live.Step(ctx, pony.Step{Type: "test", Name: name}); err != nil {
			t.Fatalf("Step %s: got %v, want no error", name, err)
		}
	}
	if err := live.Progress(ctx, LiveProgress{Step: "test", Tests: 120, Failed: 2, Elapsed: 31.5}); err != nil {
		t.Fatalf("Progress: got %v, want no error", err)
	}
	env, err := NewEnvelope(liveBag("setup", "build", "test"), live.Server)
	if err != nil {
		t.Fatal(err)
	}
	env.IdempotencyKey = live.IdempotencyKey
	rec, err := live.Finish(ctx, env)
	if err != nil {
		t.Fatalf("Finish: got %v, want no error", err)
	}
	if rec.ResultKey != key {
		t.Errorf("receipt: got %q, want %q", rec.ResultKey, key)
	}
	if live.Failed() != nil {
		t.Errorf("Failed: got %v, want nil", live.Failed())
	}
	run := rs.run(t, key)
	if got := stepNames(run.steps); got != "setup,build,test" {
		t.Errorf("steps streamed: got %s, want setup,build,test", got)
	}
	if !run.complete || run.via != "finish" || stepNames(run.bag.Steps) != "setup,build,test" {
		t.Errorf("run: got complete %v via %q with %s, want complete via finish with setup,build,test", run.complete, run.via, stepNames(run.bag.Steps))
	}
	if want := (LiveProgress{Step: "test", Tests: 120, Failed: 2, Elapsed: 31.5}); len(rs.progress) != 1 || rs.progress[0] != want {
		t.Errorf("progress: got %+v, want [%+v]", rs.progress, want)
	}
	// The open body: the bag without its receipt, and the client's own token.
	open := rs.opens[0]
	var tok string
	json.Unmarshal(open["update_token"], &tok)
	if len(tok) < 16 || tok != run.token {
		t.Errorf("update_token: got %q (server holds %q), want the client's own, at least 16 chars", tok, run.token)
	}
	if _, ok := open["receipt"]; ok {
		t.Errorf("open body: got a receipt, want none")
	}
	if !strings.Contains(string(open["client_info"]), `"package":"pony"`) {
		t.Errorf("open body client_info: got %s, want the bag's", open["client_info"])
	}
	for route, want := range map[string]map[string]string{
		"open":     {"Authorization": "Bearer s3cret", "Idempotency-Key": live.IdempotencyKey},
		"steps":    {"Authorization": "Bearer s3cret", UpdateTokenHeader: tok},
		"progress": {"Authorization": "Bearer s3cret", UpdateTokenHeader: tok},
		"finish":   {"Authorization": "Bearer s3cret", UpdateTokenHeader: tok, "Idempotency-Key": live.IdempotencyKey},
	} {
		h := rs.headers[route][0]
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("%s header %s: got %q, want %q", route, k, got, v)
			}
		}
	}
	// A repeated finish is answered with the same receipt.
	if rec2, err := live.Finish(ctx, env); err != nil || rec2.ResultKey != key {
		t.Errorf("second Finish: got %+v, %v; want receipt %q", rec2, err, key)
	}
}

func TestLiveRetries(t *testing.T) {
	tests := []struct {
		name   string
		route  string
		faults []string
		// requests is how many the route gets in all.
		requests int
	}{
		{"open answered 503 then 201", "open", []string{"503"}, 2},
		{"open taken, answer lost: the retry is a replay", "open", []string{"drop"}, 2},
		{"step answered 502 twice", "steps", []string{"502", "502"}, 2 + 3},
		{"step taken, connection dropped: the retry is a replay", "steps", []string{"drop"}, 1 + 3},
		{"finish taken, answer lost", "finish", []string{"drop"}, 2},
		{"finish answered 500", "finish", []string{"500"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, live, _ := liveFixture(t)
			rs.fault(tc.route, tc.faults...)
			ctx := context.Background()
			key, err := live.Open(ctx, liveBag())
			if err != nil {
				t.Fatalf("Open: got %v, want no error", err)
			}
			for _, name := range []string{"a", "b", "c"} {
				if err := live.Step(ctx, pony.Step{Type: "test", Name: name}); err != nil {
					t.Fatalf("Step %s: got %v, want no error", name, err)
				}
			}
			env, _ := NewEnvelope(liveBag("a", "b", "c"), live.Server)
			env.IdempotencyKey = live.IdempotencyKey
			if _, err := live.Finish(ctx, env); err != nil {
				t.Fatalf("Finish: got %v, want no error", err)
			}
			if got := rs.count(tc.route); got != tc.requests {
				t.Errorf("%s requests: got %d, want %d", tc.route, got, tc.requests)
			}
			if len(rs.runs) != 1 {
				t.Errorf("runs: got %d, want 1", len(rs.runs))
			}
			if got := stepNames(rs.run(t, key).steps); got != "a,b,c" {
				t.Errorf("steps: got %s, want a,b,c (each once, in order)", got)
			}
		})
	}
}

func TestLiveStepKeptWhileServerDown(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	key, err := live.Open(ctx, liveBag())
	if err != nil {
		t.Fatal(err)
	}
	rs.fault("steps", "503", "503", "503", "503") // every try of step a
	err = live.Step(ctx, pony.Step{Type: "test", Name: "a"})
	var se *ServerError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("Step a: got %v, want a 503 ServerError", err)
	}
	if live.Stopped() != nil || live.Failed() == nil {
		t.Errorf("after a 503: got Stopped %v, Failed %v; want nil and the error (a 503 is worth retrying)", live.Stopped(), live.Failed())
	}
	if err := live.Step(ctx, pony.Step{Type: "test", Name: "b"}); err != nil {
		t.Fatalf("Step b: got %v, want no error", err)
	}
	if got := stepNames(rs.run(t, key).steps); got != "a,b" {
		t.Errorf("steps: got %s, want a,b (the kept step sent first)", got)
	}
}

func TestLiveStops(t *testing.T) {
	tests := []struct {
		name  string
		setup func(rs *runServer, run *fakeRun)
		want  int // the status that stops it
	}{
		{"the server lost steps", func(rs *runServer, run *fakeRun) { run.steps = nil }, http.StatusConflict},
		{"the run is complete", func(rs *runServer, run *fakeRun) { run.complete = true }, http.StatusConflict},
		{"the update token is refused", func(rs *runServer, run *fakeRun) { run.token = "another-token-0123456789" }, http.StatusUnauthorized},
		{"the run is unknown", func(rs *runServer, run *fakeRun) { delete(rs.runs, run.key) }, http.StatusNotFound},
		{"the bearer token is refused", func(rs *runServer, run *fakeRun) { rs.token = "other" }, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, live, _ := liveFixture(t)
			ctx := context.Background()
			key, err := live.Open(ctx, liveBag())
			if err != nil {
				t.Fatal(err)
			}
			if err := live.Step(ctx, pony.Step{Type: "test", Name: "a"}); err != nil {
				t.Fatal(err)
			}
			rs.mu.Lock()
			tc.setup(rs, rs.runs[key])
			rs.mu.Unlock()
			err = live.Step(ctx, pony.Step{Type: "test", Name: "b"})
			var se *ServerError
			if !errors.As(err, &se) || se.StatusCode != tc.want {
				t.Fatalf("Step b: got %v, want a %d ServerError", err, tc.want)
			}
			if live.Stopped() == nil {
				t.Errorf("Stopped: got nil, want the error")
			}
			before := rs.count("steps") + rs.count("progress")
			if err := live.Step(ctx, pony.Step{Type: "test", Name: "c"}); err == nil {
				t.Errorf("Step c: got no error, want one (stopped)")
			}
			if err := live.Progress(ctx, LiveProgress{Tests: 1}); err == nil {
				t.Errorf("Progress: got no error, want one (stopped)")
			}
			if got := rs.count("steps") + rs.count("progress"); got != before {
				t.Errorf("requests after stopping: got %d more, want none", got-before)
			}
			if got := rs.count("steps"); got != 2 {
				t.Errorf("step requests: got %d, want 2 (a refusal is not retried)", got)
			}
		})
	}
}

func TestLiveGapIsReported(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	key, _ := live.Open(ctx, liveBag("setup"))
	rs.mu.Lock()
	rs.runs[key].steps = nil
	rs.mu.Unlock()
	err := live.Step(ctx, pony.Step{Type: "test", Name: "a"})
	if err == nil || !strings.Contains(err.Error(), "step 1: the server has only 0 steps") {
		t.Fatalf("Step: got %v, want the gap named (step 1, server has 0)", err)
	}
	// The bag at the end carries everything: finish still works.
	env, _ := NewEnvelope(liveBag("setup", "a"), live.Server)
	env.IdempotencyKey = live.IdempotencyKey
	if _, err := live.Finish(ctx, env); err != nil {
		t.Fatalf("Finish: got %v, want no error", err)
	}
	if got := stepNames(rs.run(t, key).bag.Steps); got != "setup,a" {
		t.Errorf("finished bag: got %s, want setup,a", got)
	}
}

func TestLiveOpenRefused(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	// Another run already holds this idempotency key with another token.
	other := &Live{Sender: live.Sender, Server: live.Server, IdempotencyKey: live.IdempotencyKey}
	if _, err := other.Open(ctx, liveBag()); err != nil {
		t.Fatal(err)
	}
	_, err := live.Open(ctx, liveBag())
	var se *ServerError
	if !errors.As(err, &se) || se.StatusCode != http.StatusConflict {
		t.Fatalf("Open: got %v, want a 409", err)
	}
	if live.ResultKey() != "" || live.Stopped() == nil {
		t.Errorf("got result key %q, Stopped %v; want none and stopped", live.ResultKey(), live.Stopped())
	}
	for name, err := range map[string]error{
		"Step":     live.Step(ctx, pony.Step{Name: "a"}),
		"Progress": live.Progress(ctx, LiveProgress{}),
		"Finish":   func() error { _, err := live.Finish(ctx, testEnvelope(t, live.Server)); return err }(),
	} {
		if !errors.Is(err, ErrNotOpen) {
			t.Errorf("%s: got %v, want ErrNotOpen", name, err)
		}
	}
	if got := rs.count("open"); got != 2 {
		t.Errorf("open requests: got %d, want 2 (a 409 is not retried)", got)
	}
}

func TestLiveProgressSingleTry(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	if _, err := live.Open(ctx, liveBag()); err != nil {
		t.Fatal(err)
	}
	rs.fault("progress", "503")
	if err := live.Progress(ctx, LiveProgress{Tests: 3}); err == nil {
		t.Errorf("Progress against a 503: got no error, want one")
	}
	if got := rs.count("progress"); got != 1 {
		t.Errorf("progress requests: got %d, want 1 (never retried)", got)
	}
	if live.Stopped() != nil {
		t.Errorf("Stopped after a 503: got %v, want nil", live.Stopped())
	}
	// A server that does not answer: Progress gives up after its timeout.
	block := make(chan struct{})
	rs.mu.Lock()
	rs.block = block
	rs.mu.Unlock()
	defer close(block)
	live.ProgressTimeout = 50 * time.Millisecond
	err := live.Progress(ctx, LiveProgress{Tests: 4})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Progress against a silent server: got %v, want a deadline error", err)
	}
	if live.Stopped() != nil {
		t.Errorf("Stopped after a timeout: got %v, want nil", live.Stopped())
	}
}

func TestLiveProgressSkippedWhileBusy(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	if _, err := live.Open(ctx, liveBag()); err != nil {
		t.Fatal(err)
	}
	live.mu.Lock() // a step being sent
	err := live.Progress(ctx, LiveProgress{Tests: 1})
	live.mu.Unlock()
	if err != nil || rs.count("progress") != 0 {
		t.Errorf("Progress while busy: got %v and %d requests, want nil and none", err, rs.count("progress"))
	}
}

// TestLiveThenDeliver is the run command's fallback: finish fails, and the
// whole bag posted to /api/v1/results with the run's idempotency key
// completes the run.
func TestLiveThenDeliver(t *testing.T) {
	rs, live, _ := liveFixture(t)
	ctx := context.Background()
	key, err := live.Open(ctx, liveBag())
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Step(ctx, pony.Step{Type: "test", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	rs.fault("finish", "500", "500", "500", "500")
	env, _ := NewEnvelope(liveBag("a"), live.Server)
	env.IdempotencyKey = live.IdempotencyKey
	if _, err := live.Finish(ctx, env); err == nil {
		t.Fatalf("Finish against 500s: got no error, want one")
	}
	d, err := Deliver(ctx, live.Sender, &Spool{Dir: t.TempDir()}, env)
	if err != nil || d.Receipt == nil || d.Spooled != "" {
		t.Fatalf("Deliver: got %+v, %v; want a receipt", d, err)
	}
	if d.Receipt.ResultKey != key {
		t.Errorf("receipt: got %q, want the run's %q", d.Receipt.ResultKey, key)
	}
	if run := rs.run(t, key); !run.complete || run.via != "results" {
		t.Errorf("run: got complete %v via %q, want complete via results", run.complete, run.via)
	}
}

func TestLiveServerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	ns := &noSleep{}
	live := &Live{Sender: testSender(ns), Server: srv.URL, IdempotencyKey: NewIdempotencyKey()}
	_, err := live.Open(context.Background(), liveBag())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Open: got %v, want an UnreachableError", err)
	}
	if got := len(ns.waits); got != 3 {
		t.Errorf("waits between tries: got %d, want 3", got)
	}
	if live.ResultKey() != "" || live.Failed() == nil {
		t.Errorf("got result key %q, Failed %v; want none and the error", live.ResultKey(), live.Failed())
	}
}
