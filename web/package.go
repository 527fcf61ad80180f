package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// recentResults is how many results the package page lists and plots.
const recentResults = 50

type packagePage struct {
	base
	Name     string
	Tagsets  []aggregator.Tagset
	Expected []aggregator.ExpectedStatus
	Recent   []aggregator.ResultSummary
	Trend    chart
	// Runs are the runs that are not complete: running first, then
	// abandoned ones (shown as incomplete).
	Runs []runRow
}

// packagePage is "/p/:pkg": the runs going on now, the latest result of
// each environment (stale and missing ones marked), a pass-rate trend and
// the recent results.
func (h *Handler) packagePage(c *gin.Context) {
	ctx := c.Request.Context()
	pkg := c.Param("pkg")
	ts, expected, err := h.sb.TagsetsWithExpected(ctx, pkg)
	if err != nil {
		h.fail(c, err)
		return
	}
	runs, err := h.sb.Runs(ctx, pkg)
	if err != nil {
		h.fail(c, err)
		return
	}
	if len(ts) == 0 && len(expected) == 0 && len(runs) == 0 {
		h.fail(c, aggregator.Errorf(aggregator.ENotFound, "package %q has no results", pkg))
		return
	}
	page, err := h.sb.Results(ctx, aggregator.ResultFilter{Package: pkg, Limit: recentResults})
	if err != nil {
		h.fail(c, err)
		return
	}
	sort.SliceStable(ts, func(i, j int) bool { return aggregator.NaturalLess(ts[i].Env.Key(), ts[j].Env.Key()) })
	p := &packagePage{
		base:     base{Title: []string{pkg}, Pkg: pkg, Nav: "package", Feed: pkgURL(pkg) + "/feed.atom"},
		Name:     pkg,
		Tagsets:  ts,
		Expected: expected,
		Recent:   page.Results,
		Trend:    passRateTrend(page.Results),
		Runs:     h.runRows(runs),
	}
	h.render(c, http.StatusOK, "package", p)
}

// passRate is the share of scored tests (pass, fail, error) that passed;
// ok is false when there is none.
func passRate(t pony.Totals) (rate float64, ok bool) {
	n := t.Pass + t.Fail + t.Error
	if n == 0 {
		return 0, false
	}
	return float64(t.Pass) / float64(n), true
}

// passRateTrend plots the pass rate of results given newest first.
func passRateTrend(rs []aggregator.ResultSummary) chart {
	var pts []point
	for _, r := range slices.Backward(rs) {
		rate, ok := passRate(r.Totals)
		if !ok {
			continue
		}
		m := resultMark(r)
		pts = append(pts, point{
			V: rate, Time: r.Received, Class: m.Label, URL: resultURL(r.Key),
			Title: fmt.Sprintf("%s · %s: %d/%d passed (%s)", stamp(r.Received), envLabel(r.Env), r.Totals.Pass, r.Totals.Pass+r.Totals.Fail+r.Totals.Error, m.Label),
		})
	}
	return lineChart(pts, 1200, 170, fmt.Sprintf("pass rate of the last %s, oldest left", plural(len(pts), "result")))
}
