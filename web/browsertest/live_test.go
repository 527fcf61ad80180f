package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters"
	"github.com/pony-build/pony/web"
)

// liveServer is pony-server's handler in this process, over a real Service
// and SQLite store, so that the test can drive a run through the Service
// while Chromium watches its page.
type liveServer struct {
	svc   *aggregator.Service
	pages *web.Handler
	srv   *httptest.Server
	// skew moves the server's clock ahead of the wall clock, so that a run
	// can go quiet past the run timeout without the test waiting for it.
	skew atomic.Int64
}

func (s *liveServer) now() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

func startLiveServer(t *testing.T) *liveServer {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	s := &liveServer{}
	s.svc = aggregator.New(st, aggregator.Options{Now: s.now, RunTimeout: 10 * time.Minute})
	// A quick poll keeps the test short; the page works the same at the
	// default second.
	if s.pages, err = web.New(s.svc, web.Options{Logger: logger, Now: s.now, LivePoll: 200 * time.Millisecond}); err != nil {
		t.Fatalf("web.New: %v", err)
	}
	s.srv = httptest.NewServer(httpapi.New(s.svc, httpapi.Options{Logger: logger, Mount: s.pages.Register}).Handler())
	t.Cleanup(func() { s.pages.Close(); s.srv.Close() })
	return s
}

// realStep parses a real runner's output kept under reporters/testdata.
func realStep(t *testing.T, format, rel string) pony.Step {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(t), "reporters", "testdata", rel)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := reporters.Parse(context.Background(), format, fh, reporters.Options{File: path})
	if err != nil && st == nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	return *st
}

// waitText waits until the page's text holds want (or, with gone, no
// longer holds it).
func waitText(t *testing.T, b *browser, want string, gone bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := run(t, b, "read text", chromedp.Evaluate[string](`document.readyState === "complete" && document.body ? document.body.innerText : ""`))
		if strings.Contains(text, want) != gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for the page to %s %q; it shows:\n%s", map[bool]string{false: "show", true: "drop"}[gone], want, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLiveRunInChromium opens a run, watches its page in Chromium while
// steps arrive through the Service (the page swaps its content in place,
// without a reload), then finishes the run and sees the complete result.
func TestLiveRunInChromium(t *testing.T) {
	exe := chromium(t)
	s := startLiveServer(t)
	ctx := context.Background()
	shots := os.Getenv("PONY_SCREENSHOT_DIR")
	if shots == "" {
		shots = filepath.Join(testenv.RepoRoot(t), "docs", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	const pkg = "example.com/live-demo"
	ci := pony.ClientInfo{
		Package: pkg, Host: "ci-linux-1", Arch: "linux-amd64", Runtime: "go1.23.1", Tags: []string{"nightly"},
		Commit: "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39", Branch: "main", BuildURL: "https://ci.example/live-demo/builds/1842",
	}
	// A previous complete result of the same environment, so that the
	// finished run has one to be compared with.
	shlex := realStep(t, "gotest", "gotest/real_shlex.json")
	if _, err := s.svc.Ingest(ctx, &pony.Bag{ClientInfo: ci, Steps: []pony.Step{shlex}}, aggregator.IngestOptions{IdempotencyKey: "live-demo-1841"}); err != nil {
		t.Fatalf("ingest the previous result: %v", err)
	}

	// A run on macOS went quiet 11 minutes ago: the reaper closed it.
	mac := ci
	mac.Host, mac.Arch, mac.Tags = "mac-mini", "darwin-arm64", nil
	const token = "live-demo-update-token-1842"
	quiet, err := s.svc.OpenRun(ctx, &pony.Bag{ClientInfo: mac, Steps: []pony.Step{realStep(t, "gotest", "gotest/real_shlex.json")}}, aggregator.RunOptions{IdempotencyKey: "live-demo-mac-77", UpdateToken: token})
	if err != nil {
		t.Fatalf("open the quiet run: %v", err)
	}
	s.skew.Store(int64(11 * time.Minute))
	if n, err := s.svc.ReapRuns(ctx); err != nil || n != 1 {
		t.Fatalf("reap: got %d, %v; want 1 run abandoned", n, err)
	}

	opened, err := s.svc.OpenRun(ctx, &pony.Bag{ClientInfo: ci}, aggregator.RunOptions{IdempotencyKey: "live-demo-1842", UpdateToken: token})
	if err != nil {
		t.Fatalf("open run: %v", err)
	}
	key := opened.ResultKey
	setup := pony.Step{Type: "setup", Name: "go mod download", Command: "go mod download", Format: "none", Duration: 2.4,
		Output: "go: downloading github.com/google/shlex v0.0.0-20191202100458-e7afc7fbc510\n"}
	build := pony.Step{Type: "build", Name: "go vet", Command: "go vet ./...", Format: "none", Duration: 6.1}
	test := realStep(t, "gotest", "gotest/everyday.json")
	test.Type, test.Name, test.Command = "test", "go test ./...", "go test -json ./..."
	steps := []pony.Step{setup, build, test}
	appendStep := func(seq int) {
		t.Helper()
		if _, stored, err := s.svc.AppendRunStep(ctx, key, token, seq, steps[seq]); err != nil || !stored {
			t.Fatalf("append step %d: got stored %v, %v; want stored", seq, stored, err)
		}
	}
	appendStep(0)
	appendStep(1)
	if err := s.svc.RunProgress(ctx, key, token, aggregator.RunProgress{Step: "go test ./...", Tests: 3, Elapsed: 9.2}); err != nil {
		t.Fatalf("progress: %v", err)
	}

	b := newBrowser(t, exe, s.srv.URL)
	path := "/r/" + url.PathEscape(key)
	v := b.load(t, path)
	if !strings.Contains(v.Title, "running") {
		t.Errorf("running page: got title %q, want it to say running", v.Title)
	}
	for _, want := range []string{"Running", "go mod download", "go vet", "exit 0", "running now", "ci-linux-1"} {
		if !strings.Contains(v.Text, want) {
			t.Errorf("running page: got no %q in the text, want it", want)
		}
	}
	if strings.Contains(v.Text, "TestFailing") {
		t.Fatalf("running page: got TestFailing before its step arrived")
	}
	mark := b.mark()
	run(t, b, "set the marker", chromedp.Evaluate[int](`window.ponyMarker = 1842`))

	// The test step arrives: the page shows it without a reload.
	appendStep(2)
	if err := s.svc.RunProgress(ctx, key, token, aggregator.RunProgress{Step: "go test ./integration/...", Tests: 57, Failed: 1, Elapsed: 48.6}); err != nil {
		t.Fatalf("progress: %v", err)
	}
	waitText(t, b, "TestFailing", false)
	waitText(t, b, "go test ./integration/...", false)
	if got := run(t, b, "read the marker", chromedp.Evaluate[int](`window.ponyMarker || 0`)); got != 1842 {
		t.Errorf("after an update: got window.ponyMarker %d, want 1842 (the page must update in place, not reload)", got)
	}
	b.checkConsole(t, path, mark)
	run(t, b, "scroll to the top", chromedp.Evaluate[int](`window.scrollTo(0, 0), 0`))
	light, dark := b.screenshot(t, shots, "result-running")
	if ll, ld := luminance(light), luminance(dark); ll < 0 || ld < 0 || ld >= ll {
		t.Errorf("running page: got background %s in light and %s in dark, want the dark one darker", light, dark)
	}

	// The package page lists the run as running now.
	pv := b.load(t, "/p/"+url.PathEscape(pkg))
	for _, want := range []string{"Running now", "3 steps", "go test ./integration/...", "abandoned", "incomplete", "mac-mini"} {
		if !strings.Contains(pv.Text, want) {
			t.Errorf("package page: got no %q in the text, want it", want)
		}
	}
	b.screenshot(t, shots, "package-running")

	// The quiet run's page says it is abandoned and shown as incomplete.
	av := b.load(t, "/r/"+url.PathEscape(quiet.ResultKey))
	for _, want := range []string{"Abandoned", "no word from the client since", "shown as incomplete", "mac-mini"} {
		if !strings.Contains(av.Text, want) {
			t.Errorf("abandoned run's page: got no %q in the text, want it", want)
		}
	}

	// Back on the run; it finishes: the page becomes the complete result.
	b.load(t, path)
	run(t, b, "set the marker", chromedp.Evaluate[int](`window.ponyMarker = 1842`))
	mark = b.mark()
	final := &pony.Bag{ClientInfo: ci, Steps: steps}
	if _, err := s.svc.FinishRun(ctx, key, token, final, "127.0.0.1"); err != nil {
		t.Fatalf("finish: %v", err)
	}
	waitText(t, b, "Changes against the previous result", false)
	waitText(t, b, "Running", true)
	v = run(t, b, "read the result", chromedp.Evaluate[view](readView))
	if !strings.Contains(v.Text, "JUnit XML") || strings.Contains(v.Title, "running") {
		t.Errorf("finished run: got title %q and no JUnit link, want the complete result page", v.Title)
	}
	b.checkConsole(t, path, mark)
}
