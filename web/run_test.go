package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/web"
)

// liveFixture serves the pages over a real Service and SQLite store, with a
// clock safe to move while an event stream reads it.
type liveFixture struct {
	t     testing.TB
	svc   *aggregator.Service
	pages *web.Handler
	h     http.Handler

	mu  sync.Mutex
	now time.Time
}

func newLiveFixture(t testing.TB, opts web.Options) *liveFixture {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &liveFixture{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	f.svc = aggregator.New(st, aggregator.Options{Now: f.clock, StaleAfter: 24 * time.Hour})
	opts.Logger, opts.Now, opts.BaseURL = logger, f.clock, "http://pony.example"
	if f.pages, err = web.New(f.svc, opts); err != nil {
		t.Fatalf("web.New: %v", err)
	}
	f.h = httpapi.New(f.svc, httpapi.Options{Logger: logger, Mount: f.pages.Register}).Handler()
	return f
}

func (f *liveFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *liveFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *liveFixture) get(target string) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// liveToken is the update token the tests' runs choose themselves.
const liveToken = "tok-0123456789abcdef"

// open opens a run of ci under the idempotency key idem.
func (f *liveFixture) open(ci pony.ClientInfo, idem string) string {
	f.t.Helper()
	f.advance(time.Second)
	o, err := f.svc.OpenRun(context.Background(), &pony.Bag{ClientInfo: ci}, aggregator.RunOptions{IdempotencyKey: idem, UpdateToken: liveToken, ClientIP: "192.0.2.9"})
	if err != nil {
		f.t.Fatalf("open run: %v", err)
	}
	return o.ResultKey
}

func (f *liveFixture) step(key string, seq int, st pony.Step) {
	f.t.Helper()
	f.advance(time.Second)
	if _, stored, err := f.svc.AppendRunStep(context.Background(), key, liveToken, seq, st); err != nil || !stored {
		f.t.Fatalf("append step %d: got stored %v, err %v; want stored", seq, stored, err)
	}
}

func (f *liveFixture) progress(key string, p aggregator.RunProgress) {
	f.t.Helper()
	f.advance(time.Second)
	if err := f.svc.RunProgress(context.Background(), key, liveToken, p); err != nil {
		f.t.Fatalf("progress: %v", err)
	}
}

var liveCI = pony.ClientInfo{Package: hostilePkg, Host: "ci-live", Arch: "linux-amd64", Runtime: "go1.23.1", Branch: "main", Commit: strings.Repeat("c", 40)}

// TestRunningResultPage opens a run, sends it a real go test step and a
// hostile one, and a progress report; its result page shows it running,
// with what came so far, escaped, and follows it live.
func TestRunningResultPage(t *testing.T) {
	f := newLiveFixture(t, web.Options{})
	key := f.open(liveCI, "idem-running")
	f.step(key, 0, parseTestdata(t, "gotest", "gotest/everyday.json"))
	f.step(key, 1, hostileStep())
	f.progress(key, aggregator.RunProgress{Step: "go test ./slow/...", Tests: 120, Failed: 2, Elapsed: 31.5})

	rec := f.get("/r/" + key)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /r/KEY of a running run: got status %d, want 200\n%s", rec.Code, body)
	}
	for _, want := range []string{
		"<title>pony · example.com/calc · running · ci-live · linux-amd64 · go1.23.1</title>",
		`class="run-banner run-running"`, "Running</strong>",
		"last word from the client",
		"ci-live", "client_info",
		"exit 1", "TestFailing", // the steps so far, with exit codes and failures
		"go test ./slow/...", "running now", // the step running now
		"31.50s", // elapsed
		`<noscript><meta http-equiv="refresh" content="10"></noscript>`,
		`<script src="/static/live.js?v=`,
		`data-events="/r/` + key + `/events"`,
		"Failures in the steps received",
		"Steps received so far",
		"/r/" + key + ".json",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("running page: got no %q, want it", want)
		}
	}
	if strings.Contains(body, "/junit.xml") {
		t.Errorf("running page: got a JUnit link, want none before the run is complete")
	}
	// Failures come first, then the steps.
	if fi, st := strings.Index(body, "<h2>Failures"), strings.Index(body, "<h2>Steps"); fi < 0 || st < 0 || fi > st {
		t.Errorf("running page: got failures at %d and steps at %d, want failures first", fi, st)
	}
	// The hostile step is escaped; the one script is the page's own.
	for _, bad := range []string{hostileName, "<img src=x", "<b>suite", "<b>step", `<i>x</i>`} {
		if strings.Contains(body, bad) {
			t.Errorf("running page: got unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;", "hostile &lt;b&gt;step&lt;/b&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("running page: got no escaped %q", want)
		}
	}
	if n := strings.Count(body, "<script"); n != 1 {
		t.Errorf("running page: got %d <script> elements, want 1 (live.js)", n)
	}
	// Tests and failures so far: the steps' and the running step's.
	var want struct {
		tests, failed int
	}
	bag, _ := f.svc.Run(context.Background(), key)
	tot := bag.Bag.Totals()
	want.tests, want.failed = tot.Tests+120, tot.Fail+tot.Error+2
	for _, w := range []string{"<dt>tests done</dt><dd>" + strconv.Itoa(want.tests) + "</dd>", "<dt>failures so far</dt><dd class=\"n-fail\">" + strconv.Itoa(want.failed) + "</dd>"} {
		if !strings.Contains(body, w) {
			t.Errorf("running page: got no %q, want it", w)
		}
	}

	// The JSON of the bag so far says where the run stands.
	rec = f.get("/r/" + key + ".json")
	var raw struct {
		ClientInfo pony.ClientInfo         `json:"client_info"`
		Steps      []pony.Step             `json:"results_list"`
		State      string                  `json:"state"`
		Progress   *aggregator.RunProgress `json:"progress"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || rec.Code != 200 {
		t.Fatalf("GET /r/KEY.json: got %d %v, want 200 and JSON", rec.Code, err)
	}
	if raw.State != "running" || len(raw.Steps) != 2 || raw.Progress == nil || raw.Progress.Tests != 120 || raw.ClientInfo.Host != "ci-live" {
		t.Errorf("GET /r/KEY.json: got state %q, %d steps, progress %+v, host %q; want running, 2, 120 tests, ci-live", raw.State, len(raw.Steps), raw.Progress, raw.ClientInfo.Host)
	}

	// The package page lists it as running now, above the recent results.
	rec = f.get("/p/" + escPkg)
	body = rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("package page with only a running run: got %d, want 200\n%s", rec.Code, body)
	}
	for _, want := range []string{"<h2>Running now</h2>", `href="/r/` + key + `"`, "2 steps", "go test ./slow/...", "120 tests", "31.50s", "ci-live"} {
		if !strings.Contains(body, want) {
			t.Errorf("package page: got no %q, want it", want)
		}
	}
	if r, e := strings.Index(body, "Running now"), strings.Index(body, "Recent results"); r < 0 || r > e {
		t.Errorf("package page: got the running list at %d and recent results at %d, want it above", r, e)
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, "<script") {
		t.Errorf("package page: got unescaped markup or a script")
	}
}

// TestAbandonedResultPage lets a run go quiet past the run timeout: the
// reaper closes it, and its page and the package page show it incomplete,
// no longer refreshing; a later word revives it.
func TestAbandonedResultPage(t *testing.T) {
	f := newLiveFixture(t, web.Options{})
	key := f.open(liveCI, "idem-abandoned")
	f.step(key, 0, parseTestdata(t, "gotest", "gotest/everyday.json"))
	last := f.clock()
	f.advance(11 * time.Minute)
	if n, err := f.svc.ReapRuns(context.Background()); err != nil || n != 1 {
		t.Fatalf("reap: got %d, %v; want 1 run abandoned", n, err)
	}
	rec := f.get("/r/" + key)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /r/KEY of an abandoned run: got %d, want 200\n%s", rec.Code, body)
	}
	for _, want := range []string{
		"<title>pony · example.com/calc · abandoned · ci-live · linux-amd64 · go1.23.1</title>",
		`class="run-banner run-abandoned"`, "Abandoned</strong>",
		"no word from the client since " + last.Format("2006-01-02 15:04:05Z") + " (11m ago); shown as incomplete",
		"last heard running", "TestFailing",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("abandoned page: got no %q, want it", want)
		}
	}
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("abandoned page: got a refresh, want none")
	}
	body = f.get("/p/" + escPkg).Body.String()
	for _, want := range []string{`<tr class="run-abandoned">`, ">incomplete</span>", "abandoned</a>"} {
		if !strings.Contains(body, want) {
			t.Errorf("package page: got no %q for the abandoned run, want it", want)
		}
	}
	// A step from the client revives it.
	f.step(key, 1, hostileStep())
	if body := f.get("/r/" + key).Body.String(); !strings.Contains(body, "run-banner run-running") {
		t.Errorf("revived run: got no running banner, want one")
	}
}

// sseEvent is one Server-Sent Event, or a comment.
type sseEvent struct {
	Event, Data, Comment string
}

// readEvents parses an event stream into a channel, closed at its end.
func readEvents(r io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "event":
					ev.Event = v
				case "data":
					ev.Data += v
				}
			}
		}
	}()
	return ch
}

// nextEvent returns the next event (comments skipped); ok is false when
// the stream ended.
func nextEvent(t *testing.T, ch <-chan sseEvent) (ev sseEvent, ok bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if ok && ev.Event == "" {
				continue
			}
			return ev, ok
		case <-timeout:
			t.Fatalf("got no event within 10 s")
			return sseEvent{}, false
		}
	}
}

// openEvents GETs an event stream of srv.
func openEvents(t *testing.T, srv *httptest.Server, path string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, readEvents(resp.Body)
}

type liveData struct {
	State    string                  `json:"state"`
	Steps    int                     `json:"steps"`
	Tests    int                     `json:"tests"`
	Failed   int                     `json:"failed"`
	Progress *aggregator.RunProgress `json:"progress"`
	Key      string                  `json:"result_key"`
}

func decode(t *testing.T, ev sseEvent) liveData {
	t.Helper()
	var d liveData
	if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
		t.Fatalf("event %q: data %q is not JSON: %v", ev.Event, ev.Data, err)
	}
	return d
}

// TestRunEvents follows a run through /r/KEY/events: an update at once,
// one after each step and progress, heartbeats, and done when it is
// finished, after which the stream closes.
func TestRunEvents(t *testing.T) {
	f := newLiveFixture(t, web.Options{LivePoll: 20 * time.Millisecond, LiveHeartbeat: 30 * time.Millisecond})
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	key := f.open(liveCI, "idem-events")

	resp, events := openEvents(t, srv, "/r/"+key+"/events")
	if resp.StatusCode != 200 {
		t.Fatalf("GET events: got %d, want 200", resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("events: got %s %q, want %q", h, got, want)
		}
	}
	ev, ok := nextEvent(t, events)
	if d := decode(t, ev); !ok || ev.Event != "update" || d.State != "running" || d.Steps != 0 {
		t.Fatalf("first event: got %q %+v, want update running with 0 steps", ev.Event, d)
	}

	step := parseTestdata(t, "gotest", "gotest/everyday.json")
	f.step(key, 0, step)
	ev, _ = nextEvent(t, events)
	tot := step.Totals()
	if d := decode(t, ev); ev.Event != "update" || d.Steps != 1 || d.Tests != tot.Tests || d.Failed != tot.Fail+tot.Error {
		t.Fatalf("after a step: got %q %+v, want update with 1 step, %d tests, %d failed", ev.Event, d, tot.Tests, tot.Fail+tot.Error)
	}
	f.progress(key, aggregator.RunProgress{Step: "go test ./b", Tests: 7, Failed: 1, Elapsed: 3})
	ev, _ = nextEvent(t, events)
	if d := decode(t, ev); ev.Event != "update" || d.Progress == nil || d.Progress.Tests != 7 || d.Progress.Step != "go test ./b" {
		t.Fatalf("after progress: got %q %+v, want update with the progress", ev.Event, d)
	}

	// Nothing changes: heartbeats only, no update.
	deadline := time.After(200 * time.Millisecond)
	beats := 0
wait:
	for {
		select {
		case ev := <-events:
			if ev.Event != "" {
				t.Fatalf("no change: got event %q %s, want none", ev.Event, ev.Data)
			}
			beats++
		case <-deadline:
			break wait
		}
	}
	if beats == 0 {
		t.Errorf("no change for 200 ms: got no heartbeat comment, want some every 30 ms")
	}

	bag := &pony.Bag{ClientInfo: liveCI, Steps: []pony.Step{step}}
	if _, err := f.svc.FinishRun(context.Background(), key, liveToken, bag, "192.0.2.9"); err != nil {
		t.Fatalf("finish: %v", err)
	}
	ev, _ = nextEvent(t, events)
	if d := decode(t, ev); ev.Event != "done" || d.Key != key || d.State != "complete" {
		t.Fatalf("after finish: got %q %+v, want done", ev.Event, d)
	}
	if ev, ok := nextEvent(t, events); ok {
		t.Errorf("after done: got %+v, want the stream closed", ev)
	}

	// The page is the complete result now, without the live parts.
	body := f.get("/r/" + key).Body.String()
	if strings.Contains(body, "<script") || strings.Contains(body, "run-banner") || !strings.Contains(body, "/junit.xml") {
		t.Errorf("finished run: got a page with a script or a banner or without JUnit, want the complete result page")
	}
	// A complete result's stream says done at once.
	_, events = openEvents(t, srv, "/r/"+key+"/events")
	if ev, _ := nextEvent(t, events); ev.Event != "done" {
		t.Errorf("events of a complete result: got %q, want done", ev.Event)
	}
	if ev, ok := nextEvent(t, events); ok {
		t.Errorf("events of a complete result after done: got %+v, want the end", ev)
	}
	// An unknown key is a 404, which stops EventSource for good.
	if resp, _ := openEvents(t, srv, "/r/nope/events"); resp.StatusCode != 404 {
		t.Errorf("events of an unknown key: got %d, want 404", resp.StatusCode)
	}
}

// TestRunEventsEnd: a stream ends after its lifetime and when the Handler
// is closed, without a done event (EventSource then reconnects).
func TestRunEventsEnd(t *testing.T) {
	f := newLiveFixture(t, web.Options{LivePoll: 20 * time.Millisecond, LiveLifetime: 150 * time.Millisecond})
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	key := f.open(liveCI, "idem-end")
	_, events := openEvents(t, srv, "/r/"+key+"/events")
	if ev, _ := nextEvent(t, events); ev.Event != "update" {
		t.Fatalf("got %q, want update first", ev.Event)
	}
	if ev, ok := nextEvent(t, events); ok {
		t.Fatalf("after the lifetime: got %+v, want the stream closed", ev)
	}

	g := newLiveFixture(t, web.Options{LivePoll: 20 * time.Millisecond})
	srv2 := httptest.NewServer(g.h)
	t.Cleanup(srv2.Close)
	key = g.open(liveCI, "idem-close")
	_, events = openEvents(t, srv2, "/r/"+key+"/events")
	if ev, _ := nextEvent(t, events); ev.Event != "update" {
		t.Fatalf("got %q, want update first", ev.Event)
	}
	g.pages.Close()
	g.pages.Close() // twice is fine
	if ev, ok := nextEvent(t, events); ok {
		t.Fatalf("after Close: got %+v, want the stream closed", ev)
	}
}
