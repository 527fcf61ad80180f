package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/reporters"
	"github.com/pony-build/pony/web"
)

var _ web.Scoreboard = (*aggregator.Service)(nil)

// fixture serves the pages as pony-server does (mounted on the API's gin
// engine) over a real Service and SQLite store, with a clock the test moves.
type fixture struct {
	t   testing.TB
	svc *aggregator.Service
	h   http.Handler
	now time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.svc = aggregator.New(st, aggregator.Options{Now: clock, StaleAfter: 24 * time.Hour})
	pages, err := web.New(f.svc, web.Options{Logger: logger, Now: clock, BaseURL: "http://pony.example"})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	f.h = httpapi.New(f.svc, httpapi.Options{Logger: logger, Mount: pages.Register}).Handler()
	return f
}

// ingest stores a bag one minute after the previous one.
func (f *fixture) ingest(bag *pony.Bag) string {
	f.t.Helper()
	f.now = f.now.Add(time.Minute)
	res, err := f.svc.Ingest(context.Background(), bag, aggregator.IngestOptions{ClientIP: "192.0.2.7"})
	if err != nil {
		f.t.Fatalf("ingest: %v", err)
	}
	return res.Receipt.ResultKey
}

func (f *fixture) get(target string) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// parseTestdata parses a real runner's output kept under reporters/testdata.
func parseTestdata(t testing.TB, format, rel string) pony.Step {
	t.Helper()
	path := filepath.Join("..", "reporters", "testdata", rel)
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

// The hostile strings a test name and an output may hold.
const (
	hostileName   = `<script>alert(1)</script>`
	hostileOutput = `</pre><img src=x onerror=alert(1)>`
	hostilePkg    = `example.com/calc`
)

// hostileStep is a step whose test name, suite, message and output try to
// break out of the page.
func hostileStep() pony.Step {
	return pony.Step{
		Type: "test", Name: `hostile <b>step</b>`, Command: `echo "<i>x</i>"`, Status: 1,
		Output: hostileOutput, Format: "none",
		Tests: []pony.TestResult{
			{Suite: "evil<b>suite", Name: hostileName, Status: pony.StatusFail, Message: hostileOutput, Output: hostileOutput, Duration: 0.5},
		},
	}
}

// seeded is a store with real results: a package whose name holds a slash,
// two environments, go test -json and Surefire (with reruns) output, and a
// hostile step in one of them; and a pytest package.
type seeded struct {
	*fixture
	linuxKeys []string // oldest first
	macKey    string
	pyKey     string
}

func seed(t testing.TB) *seeded {
	s := &seeded{fixture: newFixture(t)}
	gotest := parseTestdata(t, "gotest", "gotest/everyday.json")
	surefire := parseTestdata(t, "junit", "junit/surefire-reruns.xml")
	surefire.Type = "test"
	linux := pony.ClientInfo{Package: hostilePkg, Host: "ci-linux", Arch: "linux-amd64", Runtime: "go1.22.4", Tags: []string{"nightly"}, Branch: "main"}
	for i := range 4 {
		ci := linux
		ci.Commit = fmt.Sprintf("%040d", i+1)
		ci.Extra = map[string]json.RawMessage{"os": json.RawMessage(`"debian 13"`)}
		s.linuxKeys = append(s.linuxKeys, s.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{gotest, surefire}}))
	}
	mac := pony.ClientInfo{Package: hostilePkg, Host: "ci-mac", Arch: "darwin-arm64", Runtime: "go1.23.1", Branch: "main", Commit: strings.Repeat("a", 40)}
	s.macKey = s.ingest(&pony.Bag{ClientInfo: mac, Steps: []pony.Step{gotest, hostileStep()}})
	py := parseTestdata(t, "junit", "junit/pytest-xunit2.xml")
	py.Type = "test"
	s.pyKey = s.ingest(&pony.Bag{ClientInfo: pony.ClientInfo{Package: "pyproj", Host: "py-box", Arch: "linux-amd64", Runtime: "3.12.3"}, Steps: []pony.Step{py}})
	return s
}

var escPkg = url.PathEscape(hostilePkg)

func TestPages(t *testing.T) {
	s := seed(t)
	suite := "example.com/everyday/calc"
	tests := []struct {
		name    string
		target  string
		status  int
		want    []string
		wantNot []string
		hostile bool // the page shows the hostile test: it must be escaped
	}{
		{name: "scoreboard", target: "/", status: 200,
			want: []string{"<title>pony · scoreboard</title>", `href="/p/example.com%2Fcalc"`, "pyproj", "ci-linux", "ci-mac", "✗", `href="/r/` + s.macKey + `"`}},
		{name: "package", target: "/p/" + escPkg, status: 200,
			want: []string{"<title>pony · example.com/calc</title>", "ci-linux", "darwin-arm64", "nightly", "<svg class=\"chart\"", "<polyline", `href="/r/` + s.linuxKeys[3] + `"`, "/p/example.com%2Fcalc/latest?", "/p/example.com%2Fcalc/matrix", "/p/example.com%2Fcalc/flaky"}},
		{name: "matrix suites", target: "/p/" + escPkg + "/matrix", status: 200,
			want: []string{"<title>pony · example.com/calc · matrix</title>", suite, "example.ExampleTests", `<td class="F"><a href="/r/`, "rows=test", "evil&lt;b&gt;suite", "∅</span> expected failure", "✓</span> unexpected pass", "~</span> flaky", "?</span> missing"}},
		{name: "matrix tests of a suite", target: "/p/" + escPkg + "/matrix?rows=test&suite=" + url.QueryEscape(suite), status: 200,
			want:    []string{"TestFailing", "TestPassing", `href="/r/` + s.macKey + `"`, "/p/example.com%2Fcalc/t/example.com%2Feveryday%2Fcalc/TestFailing"},
			wantNot: []string{"alwaysPasses"}},
		{name: "matrix failing tests by runtime", target: "/p/" + escPkg + "/matrix?rows=test&filter=failing&cols=runtime", status: 200, hostile: true,
			want: []string{"go1.22.4", "go1.23.1", "TestFailing"}, wantNot: []string{">TestPassing<"}},
		{name: "matrix bad axis", target: "/p/" + escPkg + "/matrix?cols=nope", status: 400, want: []string{"unknown axis"}},
		{name: "flaky", target: "/p/" + escPkg + "/flaky", status: 200,
			want:    []string{"<title>pony · example.com/calc · flaky</title>", "failsAssertionFirstTwoAttempts", "throwsOnlyFirstAttempt", "retry flake"},
			wantNot: []string{">alwaysPasses<"}},
		{name: "result", target: "/r/" + s.macKey, status: 200, hostile: true,
			want: []string{"ci-mac", "client_info", "exit 1", "TestFailing", "Slowest tests", "/r/" + s.macKey + ".json", "/r/" + s.macKey + "/junit.xml", "First result of this environment", `<h1><span class="mark v-fail"`}},
		{name: "result with changes", target: "/r/" + s.linuxKeys[3], status: 200,
			want: []string{"previous result", `href="/r/` + s.linuxKeys[2] + `"`, "debian 13", "failsAssertionAlways"}},
		{name: "pytest result", target: "/r/" + s.pyKey, status: 200,
			want: []string{"test_fixture_error", "v-error", "3.12.3"}},
		{name: "test history", target: "/p/" + escPkg + "/t?suite=" + url.QueryEscape(suite) + "&name=TestFailing", status: 200,
			want: []string{"<title>pony · example.com/calc · test · TestFailing</title>", "ci-linux", "ci-mac", "No durations were reported", "5 verdicts", `class="feed"`, `<line class="base"`}},
		{name: "test history with durations", target: "/p/pyproj/t?suite=test_sample&name=test_fail", status: 200,
			want: []string{"<rect class=\"bar", "py-box", "1 verdict in 1 environment."}},
		{name: "test history by path", target: "/p/" + escPkg + "/t/" + url.PathEscape(suite) + "/TestFailing", status: 200,
			want: []string{"<title>pony · example.com/calc · test · TestFailing</title>", "ci-linux", "5 verdicts"}},
		{name: "hostile test history by path", target: "/p/" + escPkg + "/t/" + url.PathEscape("evil<b>suite") + "/" + url.PathEscape(hostileName), status: 200, hostile: true},
		{name: "test with a + by path", target: "/p/" + escPkg + "/t/" + url.PathEscape(suite) + "/TestNested%2F1%2B2", status: 200,
			want: []string{"TestNested/1&#43;2"}},
		{name: "test with a raw + by path (url.PathEscape keeps +)", target: "/p/" + escPkg + "/t/" + url.PathEscape(suite) + "/" + url.PathEscape("TestNested/1+2"), status: 200,
			want: []string{"TestNested/1&#43;2"}},
		{name: "unknown test by path", target: "/p/" + escPkg + "/t/x/y", status: 404},
		{name: "hostile test history", target: "/p/" + escPkg + "/t?suite=" + url.QueryEscape("evil<b>suite") + "&name=" + url.QueryEscape(hostileName), status: 200, hostile: true},
		{name: "unknown package", target: "/p/nope", status: 404, want: []string{"nope"}},
		{name: "unknown result", target: "/r/nope", status: 404},
		{name: "unknown test", target: "/p/" + escPkg + "/t?suite=x&name=y", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.get(tc.target)
			body := rec.Body.String()
			if rec.Code != tc.status {
				t.Fatalf("GET %s: got status %d, want %d\n%s", tc.target, rec.Code, tc.status, body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("got Content-Type %q, want text/html; charset=utf-8", ct)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: page lacks %q", tc.target, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: page holds %q", tc.target, w)
				}
			}
			for _, bad := range []string{hostileName, "<img src=x", "<b>suite", "<b>step"} {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s: got unescaped %q in the page", tc.target, bad)
				}
			}
			if tc.hostile && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("GET %s: got no escaped hostile test name, want &lt;script&gt;alert(1)&lt;/script&gt;", tc.target)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("GET %s: got a <script> element, want none", tc.target)
			}
		})
	}
}

func TestResultEscapesOutput(t *testing.T) {
	s := seed(t)
	body := s.get("/r/" + s.macKey).Body.String()
	for _, want := range []string{
		"&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"evil&lt;b&gt;suite",
		"hostile &lt;b&gt;step&lt;/b&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("got no %q in the result page", want)
		}
	}
	// Failures come before the steps.
	if f, st := strings.Index(body, "<h2>Failures"), strings.Index(body, "<h2>Steps"); f < 0 || st < 0 || f > st {
		t.Errorf("got failures at %d and steps at %d, want failures first", f, st)
	}
}

func TestLatestRedirect(t *testing.T) {
	s := seed(t)
	tests := []struct {
		query string
		code  int
		want  string
	}{
		{"host=ci-linux&arch=linux-amd64&runtime=go1.22.4&tag=nightly", 302, s.linuxKeys[3]},
		{"host=ci-mac", 302, s.macKey},
		{"", 302, s.macKey},
		{"host=ci-linux&tag=weekly", 404, ""},
	}
	for _, tc := range tests {
		rec := s.get("/p/" + escPkg + "/latest?" + tc.query)
		if rec.Code != tc.code {
			t.Errorf("latest?%s: got status %d, want %d", tc.query, rec.Code, tc.code)
			continue
		}
		if got := rec.Header().Get("Location"); tc.want != "" && got != "/r/"+tc.want {
			t.Errorf("latest?%s: got Location %q, want %q", tc.query, got, "/r/"+tc.want)
		}
	}
}

func TestRawAndJUnit(t *testing.T) {
	s := seed(t)
	rec := s.get("/r/" + s.macKey + ".json")
	if rec.Code != 200 {
		t.Fatalf("raw bag: got status %d, want 200", rec.Code)
	}
	var bag pony.Bag
	if err := json.Unmarshal(rec.Body.Bytes(), &bag); err != nil {
		t.Fatalf("raw bag: %v", err)
	}
	if bag.Receipt == nil || bag.Receipt.ResultKey != s.macKey || bag.ClientInfo.Host != "ci-mac" {
		t.Errorf("raw bag: got receipt %+v host %q, want key %s host ci-mac", bag.Receipt, bag.ClientInfo.Host, s.macKey)
	}
	rec = s.get("/r/" + s.macKey + "/junit.xml")
	if rec.Code != 200 {
		t.Fatalf("junit: got status %d, want 200", rec.Code)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("junit: %v", err)
	}
	found := false
	for _, su := range doc.Suites {
		for _, c := range su.Cases {
			found = found || c.Name == hostileName
		}
	}
	if !found {
		t.Errorf("junit: got no testcase named %q", hostileName)
	}
	if rec := s.get("/r/nope.json"); rec.Code != 404 {
		t.Errorf("raw bag of an unknown key: got status %d, want 404", rec.Code)
	}
}

func TestStaticAssets(t *testing.T) {
	s := newFixture(t)
	page := s.get("/").Body.String()
	m := regexp.MustCompile(`href="(/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("got no versioned stylesheet link in the page")
	}
	rec := s.get(m[1])
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: got %d, Cache-Control %q, Content-Type %q; want 200, immutable, text/css", m[1], rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(rec.Body.String(), "prefers-color-scheme: dark") {
		t.Errorf("got a stylesheet without a dark theme")
	}
	if rec := s.get("/static/style.css"); strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("got an immutable unversioned asset, want a short cache")
	}
	if rec := s.get("/favicon.ico"); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Body.String(), "<svg") {
		t.Errorf("GET /favicon.ico: got %d, Content-Type %q; want 200, image/svg+xml and the SVG icon", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(page, `<link rel="icon"`) {
		t.Errorf("got no <link rel=\"icon\"> in the layout, want one")
	}
	if rec := s.get("/static/nope.css"); rec.Code != 404 {
		t.Errorf("unknown asset: got %d, want 404", rec.Code)
	}
	if !strings.Contains(page, "No results yet") {
		t.Errorf("empty scoreboard: got no hint to send results")
	}
}

// hostileEnv names every part of an environment, a package that never
// reported, an expected environment and two tests with markup, quotes and
// ampersands, each its own so that each is looked for.
var hostileEnv = struct {
	pkg, host, runtime, tag, branch, ghost, expected, flaky, failing string
}{
	pkg:      `<script>alert(1)</script>"pkg'&`,
	host:     `<script>alert(2)</script>"host'&`,
	runtime:  `<script>alert(3)</script>"rt'&`,
	tag:      `<script>alert(4)</script>"tag'&`,
	branch:   `<script>alert(5)</script>"br'&`,
	ghost:    `<script>alert(6)</script>"ghost'&`,
	expected: `<script>alert(7)</script>"exp'&`,
	flaky:    `<script>alert(8)</script>"flaky'&`,
	failing:  `<script>alert(9)</script>"fail'&`,
}

// TestHostileEnvironmentNames: the pages, the feeds and the badge of a
// package whose package, host, runtime, tag and branch names are hostile
// (a <script> element, quotes, an ampersand), with a flaky and a newly
// failing test of hostile names, a quiet expected environment of a hostile
// name and a hostile package that never reported: no hostile value comes
// out raw, no <script> element at all, and each value the page shows is
// there escaped.
func TestHostileEnvironmentNames(t *testing.T) {
	f := newFixture(t)
	x := hostileEnv
	ci := pony.ClientInfo{Package: x.pkg, Host: x.host, Arch: "linux-amd64", Runtime: x.runtime, Tags: []string{x.tag}, Branch: x.branch, Commit: strings.Repeat("c", 40)}
	step := func(last bool) pony.Step {
		st := pony.Step{Type: "test", Name: "go test", Format: "gotest", Tests: []pony.TestResult{
			{Suite: "s", Name: x.flaky, Status: pony.StatusPass},
			{Suite: "s", Name: x.failing, Status: pony.StatusPass},
		}}
		if last { // the flaky test passes on its second attempt; the other fails
			st.Status = 1
			st.Tests = []pony.TestResult{
				{Suite: "s", Name: x.flaky, Status: pony.StatusFail, Attempt: 1, Message: "timeout"},
				{Suite: "s", Name: x.flaky, Status: pony.StatusPass, Attempt: 2},
				{Suite: "s", Name: x.failing, Status: pony.StatusFail, Message: "boom"},
			}
		}
		return st
	}
	f.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{step(false)}})
	key := f.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{step(true)}})
	ctx := context.Background()
	if err := f.svc.SetExpected(ctx, x.pkg, []aggregator.ExpectedEnv{{Name: x.expected, Match: aggregator.Env{Host: "gone"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetExpected(ctx, x.ghost, []aggregator.ExpectedEnv{{Name: x.expected, Match: aggregator.Env{Host: "gone"}}}); err != nil {
		t.Fatal(err)
	}
	raw := []string{x.pkg, x.host, x.runtime, x.tag, x.branch, x.ghost, x.expected, x.flaky, x.failing}
	pkg := url.PathEscape(x.pkg)
	env := x.pkg + x.host + x.runtime + x.tag // a mark: the environment's values
	badge := "/p/" + pkg + "/badge.svg?"
	tests := []struct {
		target string
		want   []string // raw values, looked for escaped
	}{
		{"/", []string{env, x.ghost, x.expected}},
		{"/p/" + pkg, []string{env, x.branch, x.expected}},
		{"/p/" + url.PathEscape(x.ghost), []string{x.ghost, x.expected, "never reported"}},
		{"/p/" + pkg + "/flaky", []string{env, x.branch, x.flaky}},
		{"/p/" + pkg + "/flaky?branch=" + url.QueryEscape(x.branch), []string{x.pkg, x.host, x.branch, x.flaky}},
		{"/p/" + pkg + "/matrix", []string{env}},
		{"/p/" + pkg + "/matrix?rows=test&cols=host,runtime,tags&branch=" + url.QueryEscape(x.branch), []string{env, x.branch, x.flaky, x.failing}},
		{"/p/" + pkg + "/t?suite=s&name=" + url.QueryEscape(x.flaky), []string{x.pkg, x.host, x.runtime, x.tag, x.flaky}},
		{"/r/" + key, []string{env, x.branch, x.flaky, x.failing}},
		{"/feed.atom", []string{env, x.branch, x.failing}},
		{"/feed.rss", []string{env, x.branch, x.failing}},
		{"/p/" + pkg + "/feed.atom", []string{env, x.branch, x.failing}},
		{"/p/" + pkg + "/feed.rss?failures=1", []string{env, x.branch, x.failing}},
		{badge + "host=" + url.QueryEscape(x.host), []string{x.host, "1 failing"}},
		{badge + "runtime=" + url.QueryEscape(x.runtime), []string{x.runtime, "1 failing"}},
		{badge + "tag=" + url.QueryEscape(x.tag), []string{x.tag, "1 failing"}},
		{badge + "branch=" + url.QueryEscape(x.branch), []string{x.branch, "1 failing"}},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := f.get(tc.target)
			body := rec.Body.String()
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: got status %d, want 200\n%s", tc.target, rec.Code, body)
			}
			for _, v := range raw {
				if strings.Contains(body, v) {
					t.Errorf("GET %s: got the raw %q in the answer", tc.target, v)
				}
			}
			if strings.Contains(body, "<script") {
				t.Errorf("GET %s: got a <script> element, want none", tc.target)
			}
			for _, w := range tc.want {
				vals := []string{w}
				if w == env {
					vals = []string{x.pkg, x.host, x.runtime, x.tag}
				}
				for _, v := range vals {
					if e := template.HTMLEscapeString(v); !strings.Contains(body, e) {
						t.Errorf("GET %s: got no %q, want %q escaped there", tc.target, e, v)
					}
				}
			}
		})
	}
}

// TestScoreboardFlakyAndNeverReported: the scoreboard's flaky count is
// the number of tests the flaky page lists (here two tests whose commit
// passed and failed, neither a retry flake in the latest result), and a
// package that expects environments but never reported has its row, its
// expected environment missing.
func TestScoreboardFlakyAndNeverReported(t *testing.T) {
	f := newFixture(t)
	for i, st := range []pony.Status{pony.StatusPass, pony.StatusFail, pony.StatusPass} {
		ci := pony.ClientInfo{Package: "p", Host: "h1", Arch: "linux-amd64", Branch: "main", Commit: fmt.Sprintf("c%d", i/2)}
		f.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{{Type: "test", Name: "go test", Tests: []pony.TestResult{
			{Suite: "s", Name: "TestA", Status: st}, {Suite: "s", Name: "TestB", Status: st}, {Suite: "s", Name: "TestC", Status: pony.StatusPass},
		}}}})
	}
	if err := f.svc.SetExpected(context.Background(), "ghost", []aggregator.ExpectedEnv{{Name: "nightly-box", Match: aggregator.Env{Host: "n1"}}}); err != nil {
		t.Fatal(err)
	}
	ranked, err := f.svc.Flaky(context.Background(), "p", "")
	if err != nil || len(ranked) != 2 {
		t.Fatalf("flaky ranking: got %+v, %v; want TestA and TestB", ranked, err)
	}
	if flaky := f.get("/p/p/flaky").Body.String(); !strings.Contains(flaky, ">TestA<") || !strings.Contains(flaky, ">TestB<") {
		t.Fatalf("flaky page: got no TestA and TestB, want them listed:\n%s", flaky)
	}
	body := f.get("/").Body.String()
	rows := map[string]string{}
	for _, row := range strings.Split(body, "<tr>")[1:] {
		if m := regexp.MustCompile(`<a class="pkg" href="/p/([^"]+)"`).FindStringSubmatch(row); m != nil {
			rows[m[1]] = row
		}
	}
	if p := rows["p"]; !strings.Contains(p, `href="/p/p/flaky">2 ~</a>`) || strings.Contains(p, "retry flake") {
		t.Errorf("scoreboard row of p: got %q, want 2 flaky linking to the flaky page, and no retry flake", p)
	}
	g := rows["ghost"]
	for _, want := range []string{"no results yet", "nightly-box", "never reported", "0 results", ">never<"} {
		if !strings.Contains(g, want) {
			t.Errorf("scoreboard row of ghost: got %q, want %q in it", g, want)
		}
	}
	for _, link := range []string{"/p/ghost", "/p/ghost/matrix", "/p/ghost/flaky"} { // the row's links
		if rec := f.get(link); rec.Code != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", link, rec.Code)
		}
	}
}
