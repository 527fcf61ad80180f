package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

// TestPackagePageBadgeLinks: each environment's badge link names that
// environment (its query not escaped into one value) and serves its badge.
func TestPackagePageBadgeLinks(t *testing.T) {
	f := newFixture(t)
	for _, h := range []struct {
		host string
		st   pony.Status
	}{{"ok-host", pony.StatusPass}, {"bad-host", pony.StatusFail}} {
		f.ingest(&pony.Bag{
			ClientInfo: pony.ClientInfo{Package: "bl", Host: h.host, Arch: "linux-amd64", Runtime: "go1.22"},
			Steps:      []pony.Step{{Type: "test", Name: "t", Tests: []pony.TestResult{{Suite: "s", Name: "TestA", Status: h.st}}}},
		})
	}
	body := f.get("/p/bl").Body.String()
	links := regexp.MustCompile(`href="(/p/bl/badge\.svg\?[^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(links) != 2 {
		t.Fatalf("got %d badge links, want 2", len(links))
	}
	for _, l := range links {
		u := strings.ReplaceAll(l[1], "&amp;", "&")
		if !strings.Contains(u, "host=") || strings.Contains(u, "%3d") || strings.Contains(u, "%26") {
			t.Errorf("badge link %q: want host=…&… as a query", u)
			continue
		}
		svg := f.get(u).Body.String()
		want := "passing"
		if strings.Contains(u, "bad-host") {
			want = "failing"
		}
		if !strings.Contains(svg, want) {
			t.Errorf("GET %s: badge lacks %q", u, want)
		}
	}
}
