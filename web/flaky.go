package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

type flakyPage struct {
	base
	Name   string
	Branch string
	Tests  []aggregator.FlakyTest
}

// flakyPage is "/p/:pkg/flaky?branch=": the flaky tests, ranked, with
// each environment's signals.
func (h *Handler) flakyPage(c *gin.Context) {
	pkg := c.Param("pkg")
	branch := c.Query("branch")
	tests, err := h.sb.Flaky(c.Request.Context(), pkg, branch)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "flaky", &flakyPage{
		base:   base{Title: []string{pkg, "flaky"}, Pkg: pkg, Nav: "flaky", Feed: pkgURL(pkg) + "/feed.atom"},
		Name:   pkg,
		Branch: branch,
		Tests:  tests,
	})
}

// stripMark is one verdict of a history strip: p pass, f fail, r a retry
// flake.
type stripMark struct {
	Class, Title string
}

// historyStrip turns a state's History bits (newest in bit 0, 1 = failed)
// and RetryFlakes bits into marks, oldest first.
func historyStrip(history, retry uint64, n int) []stripMark {
	n = min(max(n, 0), 64)
	out := make([]stripMark, 0, n)
	for i := n - 1; i >= 0; i-- {
		bit := uint64(1) << i
		switch {
		case retry&bit != 0:
			out = append(out, stripMark{"r", "retry flake"})
		case history&bit != 0:
			out = append(out, stripMark{"f", "failed"})
		default:
			out = append(out, stripMark{"p", "passed"})
		}
	}
	return out
}
