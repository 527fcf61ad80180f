package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

// testHistoryLimit is how many verdicts the test page reads.
const testHistoryLimit = 200

type testPage struct {
	base
	Pkg, Suite, Name string
	History          aggregator.TestHistory
	// Envs groups the verdicts by environment, newest first within each.
	Envs []testEnv
	// Durations plots every verdict's duration, oldest left.
	Durations chart
	// Timed: some verdict has a duration over 0.
	Timed bool
	// JSONURL is the same history from the JSON API.
	JSONURL string
	// Next is the link to older verdicts, "" on the last page.
	Next string
}

type testEnv struct {
	Env      aggregator.Env
	Verdicts []aggregator.TestVerdict
	Pass     int
	Failed   int
}

// testPage is "/p/:pkg/t/:suite/*name" (or "/p/:pkg/t?suite=&name="):
// one test's verdicts across results and environments, its durations as a
// chart.
func (h *Handler) testPage(c *gin.Context) {
	pkg := c.Param("pkg")
	suite, name := c.Query("suite"), c.Query("name")
	if s := c.Param("suite"); s != "" {
		suite, name = s, strings.TrimPrefix(c.Param("name"), "/")
	}
	hist, err := h.sb.TestHistory(c.Request.Context(), aggregator.TestHistoryFilter{
		Package: pkg, Suite: suite, Name: name, Branch: c.Query("branch"), Limit: testHistoryLimit, Before: c.Query("before"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	if len(hist.Verdicts) == 0 && c.Query("before") == "" {
		h.fail(c, aggregator.Errorf(aggregator.ENotFound, "no verdict of test %q in suite %q of %s", name, suite, pkg))
		return
	}
	p := &testPage{
		base: base{Title: []string{pkg, "test", name}, Pkg: pkg, Feed: pkgURL(pkg) + "/feed.atom"},
		Pkg:  pkg, Suite: suite, Name: name, History: hist,
	}
	byEnv := map[string]*testEnv{}
	var pts []point
	for _, v := range hist.Verdicts {
		k := v.Env.Key()
		e := byEnv[k]
		if e == nil {
			e = &testEnv{Env: v.Env}
			byEnv[k] = e
		}
		e.Verdicts = append(e.Verdicts, v)
		switch {
		case v.Status.Failed():
			e.Failed++
		case v.Status == "pass":
			e.Pass++
		}
	}
	for _, v := range slices.Backward(hist.Verdicts) {
		cls := verdictOf(v.Status).Label
		if v.RetryFlake {
			cls = "flaky"
		}
		pts = append(pts, point{V: v.Duration, Time: v.Received, Class: cls, URL: resultURL(v.ResultKey),
			Title: fmt.Sprintf("%s · %s: %s in %s", stamp(v.Received), envLabel(v.Env), v.Status, formatDuration(v.Duration))})
	}
	for _, e := range byEnv {
		p.Envs = append(p.Envs, *e)
	}
	sort.Slice(p.Envs, func(i, j int) bool { return aggregator.NaturalLess(p.Envs[i].Env.Key(), p.Envs[j].Env.Key()) })
	p.Timed = slices.ContainsFunc(pts, func(x point) bool { return x.V > 0 })
	if len(pts) > 0 {
		height := 170
		if !p.Timed {
			height = 80 // only the zero line to draw
		}
		p.Durations = barChart(pts, 1200, height, fmt.Sprintf("duration of the last %s, oldest left", plural(len(pts), "run")), formatDuration)
	}
	q := url.Values{"suite": {suite}, "name": {name}}
	p.JSONURL = "/api/v1/packages/" + url.PathEscape(pkg) + "/tests/history?" + q.Encode()
	if hist.Next != "" {
		p.Next = withQuery(testURL(pkg, suite, name), "before", hist.Next)
	}
	h.render(c, http.StatusOK, "test", p)
}

// verdictFor marks a test verdict, a retry flake as flaky.
func verdictFor(v aggregator.TestVerdict) verdict {
	if v.RetryFlake {
		return verdicts["flaky"]
	}
	return verdictOf(v.Status)
}
