package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// get fetches url and returns its status, content type and body.
func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// The web pages are mounted on the real binary beside the API: a package
// whose name holds a slash is reachable as %2F, the feeds link with
// --base-url, the stylesheet they link to is served, and the API and
// unknown paths answer as before.
func TestWebMounted(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--db", filepath.Join(t.TempDir(), "pony.db"), "--base-url", "https://pony.example.org/")
	key := sendReport(t, nil, t.TempDir(), "--server", srv.URL, "--package", "acme/calc", "--host", "ci-1", testdata(t, "gotest/everyday.json"))

	for _, tc := range []struct {
		path, ctype string
		want        []string
	}{
		{"/", "text/html", []string{"acme/calc", "/p/acme%2Fcalc"}},
		{"/p/acme%2Fcalc", "text/html", []string{"acme/calc", "ci-1"}},
		{"/p/acme%2Fcalc/matrix?rows=test", "text/html", []string{"TestFailing"}},
		{"/r/" + key, "text/html", []string{"TestFailing"}},
		{"/p/acme%2Fcalc/feed.atom", "xml", []string{"https://pony.example.org/r/" + key}},
		{"/p/acme%2Fcalc/badge.svg", "image/svg+xml", []string{"<svg"}},
		{"/api/v1/packages", "application/json", []string{`"acme/calc"`}},
	} {
		code, ctype, body := get(t, srv.URL+tc.path)
		if code != 200 || !strings.Contains(ctype, tc.ctype) {
			t.Errorf("GET %s: got %d %s, want 200 %s\n%.300s", tc.path, code, ctype, tc.ctype, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: got no %q in the body, want it\n%.500s", tc.path, w, body)
			}
		}
	}

	_, _, page := get(t, srv.URL+"/")
	css := regexp.MustCompile(`href="(/static/[^"]+\.css[^"]*)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatalf("GET /: got no stylesheet link to /static/…css, want one\n%.500s", page)
	}
	if code, ctype, _ := get(t, srv.URL+strings.ReplaceAll(css[1], "&amp;", "&")); code != 200 || !strings.HasPrefix(ctype, "text/css") {
		t.Errorf("GET %s: got %d %s, want 200 text/css", css[1], code, ctype)
	}
	if code, _, _ := get(t, srv.URL+"/no/such/page"); code != http.StatusNotFound {
		t.Errorf("GET /no/such/page: got %d, want 404", code)
	}
}
