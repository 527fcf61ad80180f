package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/httpapi"
)

// TestPagesFollowPrivateReads: the mounted pages are read under the API's
// policy. With public reads anyone sees them; with --private-reads a page
// needs a read token (Bearer, or a browser's Basic password, which a 401
// asks for): of its package for /p/PKG…, of "*" for the others; static
// assets are always served.
func TestPagesFollowPrivateReads(t *testing.T) {
	mount := func(r gin.IRouter) {
		ok := func(c *gin.Context) { c.String(http.StatusOK, "page") }
		r.GET("/", ok)
		r.GET("/p/:pkg", ok)
		r.GET("/p/:pkg/badge.svg", ok)
		r.GET("/static/*file", ok)
	}
	basic := func(secret string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("me:"+secret))
	}
	secretOf := func(header string) string { return strings.TrimPrefix(header, "Authorization: Bearer ") }

	pub := newFixture(t, fixtureOpts{http: httpapi.Options{Mount: mount}})
	pub.token("*", aggregator.ScopeWrite)
	for _, p := range []string{"/", "/p/a", "/p/a/badge.svg"} {
		if r := pub.get(p); r.Code != 200 {
			t.Errorf("public reads: GET %s: %d, want 200", p, r.Code)
		}
	}

	f := newFixture(t, fixtureOpts{svc: aggregator.Options{PrivateReads: true}, http: httpapi.Options{Mount: mount}})
	all := f.token("*", aggregator.ScopeRead)
	onlyA := f.token("a", aggregator.ScopeRead)
	for _, c := range []struct {
		path, header string
		want         int
	}{
		{"/", "", 401},
		{"/p/a", "", 401},
		{"/p/a/badge.svg", "", 401},
		{"/static/style.css", "", 200},
		{"/", all, 200},
		{"/", basic(secretOf(all)), 200},
		{"/p/a", basic(secretOf(onlyA)), 200},
		{"/p/a/badge.svg", onlyA, 200},
		{"/p/b", basic(secretOf(onlyA)), 403},
		{"/", basic(secretOf(onlyA)), 403},
		{"/", basic("pony_nope"), 401},
	} {
		var r response
		if c.header == "" {
			r = f.get(c.path)
		} else {
			r = f.get(c.path, c.header)
		}
		if r.Code != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.header, r.Code, c.want)
		}
		if c.want == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("GET %s: 401 without a Basic challenge", c.path)
		}
	}
}
