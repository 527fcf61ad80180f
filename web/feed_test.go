package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/mmcdole/gofeed"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/reporters"
)

// fbFixture serves the feeds and badges of a Handler over a real Service
// and store (SQLite in a temporary directory), with a clock the test moves.
type fbFixture struct {
	t   testing.TB
	svc *aggregator.Service
	h   http.Handler
	now time.Time
}

const fbBase = "http://pony.example:8080"

func newFBFixture(t testing.TB) *fbFixture {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fbFixture{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.svc = aggregator.New(st, aggregator.Options{Now: clock})
	h, err := New(f.svc, Options{Logger: logger, Now: clock, BaseURL: fbBase + "/"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.UseEscapedPath = true
	e.UnescapePathValues = true
	h.Register(e)
	f.h = e
	return f
}

// ingest stores a bag one minute after the previous one.
func (f *fbFixture) ingest(bag *pony.Bag) pony.Receipt {
	f.t.Helper()
	f.now = f.now.Add(time.Minute)
	res, err := f.svc.Ingest(context.Background(), bag, aggregator.IngestOptions{ClientIP: "192.0.2.7"})
	if err != nil {
		f.t.Fatalf("ingest: %v", err)
	}
	return res.Receipt
}

func (f *fbFixture) get(target string) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// fbFixturesDir is the shared fixtures folder beside the repository; it
// must be there unless PONY_NO_SHARED_FIXTURES=1.
func fbFixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		if os.Getenv("PONY_NO_SHARED_FIXTURES") == "1" {
			t.Skipf("shared fixtures missing (%v) and PONY_NO_SHARED_FIXTURES=1", err)
		}
		t.Fatalf("shared fixtures missing: %v (set PONY_NO_SHARED_FIXTURES=1 to skip)", err)
	}
	return fx
}

// realStep parses a real JUnit report of the shared fixtures.
func realStep(t testing.TB, rel string) pony.Step {
	t.Helper()
	path := filepath.Join(fbFixturesDir(t), rel)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := reporters.Parse(context.Background(), "junit", fh, reporters.Options{File: path})
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	st.Type, st.Name = "test", "pytest"
	return *st
}

// allPassing is step with every failing or erroring test made to pass:
// the run before the real one broke.
func allPassing(step pony.Step) pony.Step {
	step.Tests = append([]pony.TestResult(nil), step.Tests...)
	for i := range step.Tests {
		if s := step.Tests[i].Status; s == pony.StatusFail || s == pony.StatusError {
			step.Tests[i].Status, step.Tests[i].Message, step.Tests[i].Output = pony.StatusPass, "", ""
		}
	}
	step.Status = 0
	return step
}

func fbBag(pkg, host string, steps ...pony.Step) *pony.Bag {
	return &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: pkg, Host: host, Arch: "linux-amd64", Runtime: "cpython3.12", Branch: "main", Commit: "9f1c2d"},
		Steps:      steps,
	}
}

// hostileName is a package or test name that would run in a page or a
// feed reader if anything forgot to escape it.
const hostileName = `<script>alert("x&y")</script>`

// seeded is a store holding a real pytest run (first all passing, then
// with its real failures), and a package and test with hostile names.
type seeded struct {
	f                   *fbFixture
	pass, fail, hostile pony.Receipt
	hostilePass         pony.Receipt
	realFailing         int
}

func seed(t *testing.T) seeded {
	f := newFBFixture(t)
	step := realStep(t, "junit/dorny/python-xunit-pytest.xml")
	s := seeded{f: f}
	for _, tr := range step.Tests {
		if tr.Status == pony.StatusFail || tr.Status == pony.StatusError {
			s.realFailing++
		}
	}
	if s.realFailing == 0 {
		t.Fatal("the pytest fixture has no failing test; the feed tests need one")
	}
	s.pass = f.ingest(fbBag("pytest-demo", "ci-linux-3", allPassing(step)))
	step.Status = 1
	s.fail = f.ingest(fbBag("pytest-demo", "ci-linux-3", step))
	hostile := func(st pony.Status) pony.Step {
		return pony.Step{Type: "test", Name: "go test", Status: map[bool]int{true: 1}[st == pony.StatusFail], Tests: []pony.TestResult{
			{Suite: "evil/" + hostileName, Name: hostileName, Status: st, Message: "]]> & <b>"},
			{Suite: "evil", Name: "TestFine", Status: pony.StatusPass},
		}}
	}
	bag := fbBag(hostileName+"/pkg", hostileName, hostile(pony.StatusPass))
	s.hostilePass = f.ingest(bag)
	bag = fbBag(hostileName+"/pkg", hostileName, hostile(pony.StatusFail))
	s.hostile = f.ingest(bag)
	return s
}

// parseFeed fetches and parses a feed, checking status, content type and
// format.
func parseFeed(t *testing.T, f *fbFixture, target, wantType string) (*gofeed.Feed, string) {
	t.Helper()
	rec := f.get(target)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: got %d %s, want 200", target, rec.Code, rec.Body)
	}
	ct := map[string]string{"atom": atomContentType, "rss": rssContentType}[wantType]
	if got := rec.Header().Get("Content-Type"); got != ct {
		t.Errorf("GET %s: content type: got %q, want %q", target, got, ct)
	}
	body := rec.Body.String()
	feed, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatalf("GET %s: gofeed: %v\n%s", target, err, body)
	}
	if feed.FeedType != wantType {
		t.Errorf("GET %s: feed type: got %q, want %q", target, feed.FeedType, wantType)
	}
	return feed, body
}

func itemTime(it *gofeed.Item) time.Time {
	if it.UpdatedParsed != nil {
		return *it.UpdatedParsed
	}
	if it.PublishedParsed != nil {
		return *it.PublishedParsed
	}
	return time.Time{}
}

func TestFeeds(t *testing.T) {
	s := seed(t)
	hostilePkg := "/p/" + url.PathEscape(hostileName+"/pkg")
	type want struct {
		keys  []string // the entries' result keys, newest first
		title string   // the first entry's title
	}
	all := []string{s.hostile.ResultKey, s.hostilePass.ResultKey, s.fail.ResultKey, s.pass.ResultKey}
	realTitle := "pytest-demo on ci-linux-3 (cpython3.12, linux-amd64): "
	hostileTitle := hostileName + "/pkg on " + hostileName + " (cpython3.12, linux-amd64): 1 failing of 2"
	cases := []struct {
		path string
		want want
	}{
		{"/feed", want{all, hostileTitle}},
		{"/feed?failures=1", want{[]string{s.hostile.ResultKey, s.fail.ResultKey}, hostileTitle}},
		{"/p/pytest-demo/feed", want{[]string{s.fail.ResultKey, s.pass.ResultKey}, realTitle}},
		{"/p/pytest-demo/feed?failures=1", want{[]string{s.fail.ResultKey}, realTitle}},
		{hostilePkg + "/feed", want{[]string{s.hostile.ResultKey, s.hostilePass.ResultKey}, hostileTitle}},
		{"/p/no-such-package/feed", want{nil, ""}},
	}
	for _, tc := range cases {
		for _, kind := range []string{"atom", "rss"} {
			path, query, _ := strings.Cut(tc.path, "?")
			target := path + "." + kind
			if query != "" {
				target += "?" + query
			}
			t.Run(target, func(t *testing.T) {
				feed, body := parseFeed(t, s.f, target, kind)
				if strings.Contains(body, "<script") {
					t.Errorf("the raw feed holds an unescaped <script>:\n%s", body)
				}
				if feed.Link == "" || !strings.HasPrefix(feed.Link, fbBase+"/") {
					t.Errorf("feed link: got %q, want one under %s", feed.Link, fbBase)
				}
				if len(feed.Items) != len(tc.want.keys) {
					t.Fatalf("entries: got %d, want %d", len(feed.Items), len(tc.want.keys))
				}
				for i, it := range feed.Items {
					link := fbBase + "/r/" + tc.want.keys[i]
					if it.Link != link {
						t.Errorf("entry %d link: got %q, want %q", i, it.Link, link)
					}
					if it.GUID != link {
						t.Errorf("entry %d id: got %q, want %q", i, it.GUID, link)
					}
					if i > 0 && itemTime(it).After(itemTime(feed.Items[i-1])) {
						t.Errorf("entry %d is newer than entry %d: got %v after %v, want newest first", i, i-1, itemTime(it), itemTime(feed.Items[i-1]))
					}
				}
				if len(feed.Items) > 0 && !strings.HasPrefix(feed.Items[0].Title, tc.want.title) {
					t.Errorf("first title: got %q, want it to start with %q", feed.Items[0].Title, tc.want.title)
				}
			})
		}
	}
}

// TestFeedEntryContent checks one entry in detail, in both formats: the
// title's counts, the receipt time, the newly failing tests of the real
// run, and hostile names coming back intact (escaped on the wire, text
// after parsing).
func TestFeedEntryContent(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	failBag, err := s.f.svc.Result(ctx, s.fail.ResultKey)
	if err != nil {
		t.Fatal(err)
	}
	var tests int
	var newly []string
	for _, tr := range failBag.Steps[0].Tests {
		tests++
		if tr.Status == pony.StatusFail || tr.Status == pony.StatusError {
			newly = append(newly, feedTestName(tr.Suite, tr.Name))
		}
	}
	for _, kind := range []string{"atom", "rss"} {
		t.Run(kind, func(t *testing.T) {
			feed, _ := parseFeed(t, s.f, "/feed."+kind, kind)
			byLink := map[string]*gofeed.Item{}
			for _, it := range feed.Items {
				byLink[it.Link] = it
			}
			real := byLink[fbBase+"/r/"+s.fail.ResultKey]
			if real == nil {
				t.Fatalf("no entry for the failing pytest run %s", s.fail.ResultKey)
			}
			wantTitle := "pytest-demo on ci-linux-3 (cpython3.12, linux-amd64): " + strconv.Itoa(s.realFailing) + " failing of " + strconv.Itoa(tests)
			if real.Title != wantTitle {
				t.Errorf("title: got %q, want %q", real.Title, wantTitle)
			}
			if got := itemTime(real); !got.Equal(s.fail.Time.Truncate(time.Second)) {
				t.Errorf("date: got %v, want the receipt time %v", got, s.fail.Time)
			}
			text := real.Description
			for _, n := range newly {
				if !strings.Contains(text, n) {
					t.Errorf("summary %q: lacks newly failing test %q", text, n)
				}
			}
			if !strings.Contains(text, "Newly failing: ") || !strings.Contains(text, "Commit 9f1c2d on main.") {
				t.Errorf("summary: got %q, want the newly failing tests and the commit", text)
			}
			if len(real.Categories) != 1 || real.Categories[0] != "pytest-demo" {
				t.Errorf("categories: got %q, want [pytest-demo]", real.Categories)
			}
			passing := byLink[fbBase+"/r/"+s.pass.ResultKey]
			if passing == nil || strings.Contains(passing.Description, "Newly failing") {
				t.Errorf("passing entry: got %+v, want one without newly failing tests", passing)
			}

			evil := byLink[fbBase+"/r/"+s.hostile.ResultKey]
			if evil == nil {
				t.Fatalf("no entry for the hostile result")
			}
			wantEvil := hostileName + "/pkg on " + hostileName + " (cpython3.12, linux-amd64): 1 failing of 2"
			if evil.Title != wantEvil {
				t.Errorf("hostile title: got %q, want %q", evil.Title, wantEvil)
			}
			if want := "Newly failing: evil/" + hostileName + " › " + hostileName + "."; !strings.Contains(evil.Description, want) {
				t.Errorf("hostile summary: got %q, want it to hold %q", evil.Description, want)
			}
		})
	}
}

// TestFeedAllPackagesNewest: the all-packages feed holds the newest
// feedLen results of every package together, newest first.
func TestFeedAllPackagesNewest(t *testing.T) {
	f := newFBFixture(t)
	pkgs := []string{"alpha", "beta", "gamma"}
	var keys []string // oldest first
	for i := range feedLen + 10 {
		st := pony.Step{Type: "test", Name: "t", Tests: []pony.TestResult{{Name: "TestA", Status: pony.StatusPass}}}
		keys = append(keys, f.ingest(fbBag(pkgs[(i*7)%3], "h", st)).ResultKey)
	}
	for _, kind := range []string{"atom", "rss"} {
		feed, _ := parseFeed(t, f, "/feed."+kind, kind)
		if len(feed.Items) != feedLen {
			t.Fatalf("%s entries: got %d, want %d", kind, len(feed.Items), feedLen)
		}
		for i, it := range feed.Items {
			want := fbBase + "/r/" + keys[len(keys)-1-i]
			if it.Link != want {
				t.Fatalf("%s entry %d: got %q, want %q", kind, i, it.Link, want)
			}
		}
	}
}

// BenchmarkFeed measures the all-packages Atom feed over 3 packages of 100
// results, beside its baseline: the Service reads alone (RecentResults and
// ChangesFor of its failing results), without the XML.
func BenchmarkFeed(b *testing.B) {
	f := newFBFixture(b)
	for i := range 300 {
		st := pony.Step{Type: "test", Name: "t", Status: i % 2, Tests: []pony.TestResult{
			{Suite: "s", Name: "TestA", Status: []pony.Status{pony.StatusPass, pony.StatusFail}[i%2]},
			{Suite: "s", Name: "TestB", Status: pony.StatusPass}}}
		f.ingest(fbBag([]string{"alpha", "beta", "gamma"}[i%3], "h"+strconv.Itoa(i%4), st))
	}
	ctx := context.Background()
	b.Run("baseline-service-reads", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rs, err := f.svc.RecentResults(ctx, feedLen, false)
			if err != nil {
				b.Fatal(err)
			}
			var keys []string
			for _, r := range rs {
				if failingTests(r) > 0 {
					keys = append(keys, r.Key)
				}
			}
			if _, err := f.svc.ChangesFor(ctx, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, target := range []string{"/feed.atom", "/feed.rss?failures=1", "/p/alpha/badge.svg"} {
		b.Run(target, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				rec := f.get(target)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d, want 200", rec.Code)
				}
				n = int64(rec.Body.Len())
			}
			b.SetBytes(n)
		})
	}
}
