package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/junit"
)

// slowestTests is how many tests the result page lists by duration.
const slowestTests = 15

type resultPage struct {
	base
	Key     string
	Bag     *pony.Bag
	Env     aggregator.Env
	Totals  pony.Totals
	Success bool
	// Duration is client_info's duration, else the steps' sum; 0 when
	// unknown.
	Duration float64
	// Info lists client_info as key/value pairs, the known keys first.
	Info     []infoPair
	Failures []testLine
	Slowest  []testLine
	Steps    []stepView
	Changes  *aggregator.Changes
	// Run is set when the result is a run that is not complete yet.
	Run *runView
}

type infoPair struct{ Key, Value string }

// testLine is one test's final verdict in the result.
type testLine struct {
	pony.TestResult
	Step     string
	Attempts int
	Flake    bool
}

type stepView struct {
	pony.Step
	Totals pony.Totals
}

// resultPage is "/r/:key" (and "/r/:key.json", the raw bag). A key that
// names no stored result but a run that is not complete shows the run:
// its state, the steps received so far and its live progress.
func (h *Handler) resultPage(c *gin.Context) {
	ctx := c.Request.Context()
	key := c.Param("key")
	if k, ok := strings.CutSuffix(key, ".json"); ok {
		h.resultJSON(c, k)
		return
	}
	bag, err := h.sb.Result(ctx, key)
	if aggregator.ErrorCode(err) == aggregator.ENotFound {
		if r, rerr := h.sb.Run(ctx, key); rerr == nil {
			h.runPage(c, r)
			return
		} else if aggregator.ErrorCode(rerr) != aggregator.ENotFound {
			err = rerr
		}
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	p := h.newResultPage(key, bag)
	switch ch, err := h.sb.Changes(ctx, key); {
	case err == nil:
		p.Changes = &ch
	case aggregator.ErrorCode(err) != aggregator.ENotFound:
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "result", p)
}

// newResultPage lays out a bag, complete or not: its client_info, steps,
// failures first and slowest tests.
func (h *Handler) newResultPage(key string, bag *pony.Bag) *resultPage {
	p := &resultPage{Key: key, Bag: bag, Env: h.sb.EnvOf(bag.ClientInfo), Totals: bag.Totals()}
	p.base = base{Title: []string{bag.ClientInfo.Package, "result", envLabel(p.Env)}, Pkg: bag.ClientInfo.Package, Feed: pkgURL(bag.ClientInfo.Package) + "/feed.atom"}
	p.Success = bag.Success()
	p.Duration = bag.Duration()
	p.Info = clientInfoPairs(bag.ClientInfo)
	var all []testLine
	for _, st := range bag.Steps {
		p.Steps = append(p.Steps, stepView{Step: st, Totals: st.Totals()})
		order, byKey := st.Verdicts()
		for _, k := range order {
			v := byKey[k]
			t := testLine{TestResult: st.Tests[v.Final], Step: st.Name, Attempts: v.Attempts, Flake: v.RetryFlake}
			all = append(all, t)
			if t.Status.Failed() {
				p.Failures = append(p.Failures, t)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Duration > all[j].Duration })
	for _, t := range all[:min(len(all), slowestTests)] {
		if t.Duration > 0 {
			p.Slowest = append(p.Slowest, t)
		}
	}
	return p
}

// clientInfoPairs lists client_info: the known keys in wire order, then the
// others sorted.
func clientInfoPairs(ci pony.ClientInfo) []infoPair {
	var out []infoPair
	add := func(k, v string) {
		if v != "" {
			out = append(out, infoPair{k, v})
		}
	}
	add("package", ci.Package)
	add("host", ci.Host)
	add("arch", ci.Arch)
	add("runtime", ci.Runtime)
	add("tags", strings.Join(ci.Tags, ", "))
	add("commit", ci.Commit)
	add("branch", ci.Branch)
	add("build_url", ci.BuildURL)
	if ci.Success != nil {
		add("success", map[bool]string{true: "true", false: "false"}[*ci.Success])
	}
	if ci.Duration > 0 {
		add("duration", formatDuration(ci.Duration))
	}
	keys := make([]string, 0, len(ci.Extra))
	for k := range ci.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := ci.Extra[k]
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		add(k, s)
	}
	return out
}

// resultJSON serves the stored bag as JSON, as GET /api/v1/results/KEY does.
func (h *Handler) resultJSON(c *gin.Context, key string) {
	ctx := c.Request.Context()
	bag, err := h.sb.Result(ctx, key)
	if aggregator.ErrorCode(err) == aggregator.ENotFound {
		if r, rerr := h.sb.Run(ctx, key); rerr == nil {
			h.runJSON(c, r)
			return
		}
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	b, err := json.MarshalIndent(bag, "", "  ")
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(b, '\n'))
}

// resultJUnit is "/r/:key/junit.xml": the result exported as JUnit XML.
func (h *Handler) resultJUnit(c *gin.Context) {
	bag, err := h.sb.Result(c.Request.Context(), c.Param("key"))
	if err != nil {
		h.fail(c, err)
		return
	}
	var buf bytes.Buffer
	if err := junit.WriteBag(&buf, bag); err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `inline; filename="junit.xml"`)
	c.Data(http.StatusOK, "application/xml; charset=utf-8", buf.Bytes())
}

// latestRedirect is "/p/:pkg/latest?host=&arch=&runtime=&tag=": a lasting
// link to the newest result matching the environment (every given field
// equal, every given tag present).
func (h *Handler) latestRedirect(c *gin.Context) {
	pkg := c.Param("pkg")
	f := aggregator.ResultFilter{Package: pkg, Host: c.Query("host"), Arch: c.Query("arch"), Runtime: c.Query("runtime"), Branch: c.Query("branch"), Tags: c.QueryArray("tag"), Limit: 1}
	page, err := h.sb.Results(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	if len(page.Results) == 0 {
		h.fail(c, aggregator.Errorf(aggregator.ENotFound, "no result of %s matches", pkg))
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Redirect(http.StatusFound, resultURL(page.Results[0].Key))
}
