package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pony-build/pony"
)

// TestHead: pages, feeds and badges answer HEAD (link checkers, image
// proxies) as they answer GET, without a body.
func TestHead(t *testing.T) {
	f := newFixture(t)
	key := f.ingest(&pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "h", Host: "ci", Arch: "linux-amd64", Runtime: "go1.22"},
		Steps:      []pony.Step{{Type: "test", Name: "t", Tests: []pony.TestResult{{Suite: "s", Name: "TestA", Status: pony.StatusPass}}}},
	})
	for _, p := range []string{"/", "/p/h", "/p/h/matrix", "/p/h/flaky", "/p/h/badge.svg", "/p/h/feed.atom", "/feed.rss", "/r/" + key, "/p/h/t/s/TestA"} {
		req := httptest.NewRequest(http.MethodHead, p, nil)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") == "" {
			t.Errorf("HEAD %s: got %d, Content-Type %q; want 200 and the GET answer's type", p, w.Code, w.Header().Get("Content-Type"))
		}
	}
}
