package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

type flakyPage struct {
	base
	Name   string
	Branch string
	// State is the ?state= of the page ("" for the default, flakyDefault).
	State string
	// Links choose the states shown: plain links, no script.
	Links    []viewLink
	Sections []flakySection
}

// flakySection is the tests in one state, each with its environments in
// that state.
type flakySection struct {
	State, Title, Note string
	Tests              []flakyRow
}

// flakyRow is one test of a section; Mark names its state's mark.
type flakyRow struct {
	aggregator.FlakyTest
	Mark string
}

// flakyDefault is what the page shows without ?state=: the flaky ranking
// and, beside it, the broken tests (failing steadily: not flaky).
const flakyDefault = "flaky,broken"

// flakySections are the sections the page can show, in order: the state,
// the selection that shows it, its title and its note (following the count
// of its tests).
var flakySections = []struct {
	state       string
	sel         aggregator.StateSelection
	title, note string
}{
	{aggregator.StateFlaky, aggregator.SelectFlaky, "Flaky",
		", the flakiest first. Score 0–1 combines the flip rate, retry flakes and commits that both passed and failed."},
	{aggregator.StateBroken, aggregator.SelectBroken, "Broken: failing steadily, not flaky",
		". Their latest scored verdicts all failed, without a retry flake among them: a rerun will not make them pass."},
	{aggregator.StateNew, aggregator.SelectNew, "New",
		". Too few scored verdicts to judge yet, and no flake seen."},
	{aggregator.StateHealthy, aggregator.SelectHealthy, "Healthy",
		". No flake signal, or recovered: passing cleanly for long enough since the last one."},
	{"recovered", aggregator.SelectRecovered, "Recovered",
		". Flaky before, and passing cleanly for long enough since the last flake."},
}

// flakyLinks are the choices of states the page links to.
var flakyLinks = []struct{ text, state string }{
	{"flaky and broken", ""},
	{"flaky", "flaky"},
	{"broken", "broken"},
	{"new", "new"},
	{"recovered", "recovered"},
	{"healthy", "healthy"},
	{"all", "all"},
}

// flakyPage is "/p/:pkg/flaky?branch=&state=": the tests of the states
// chosen (by default the flaky ones, ranked, and the broken ones), a
// section per state, each test with its combined signals, first and last
// flake, and its environments in that state with their signals and a strip
// of their last verdicts. One Service call.
func (h *Handler) flakyPage(c *gin.Context) {
	pkg := c.Param("pkg")
	branch, state := c.Query("branch"), c.Query("state")
	want := state
	if want == "" {
		want = flakyDefault
	}
	sel, err := aggregator.ParseStateSelection(want)
	if err != nil {
		h.fail(c, err)
		return
	}
	tests, err := h.sb.Flakiness(c.Request.Context(), pkg, aggregator.FlakyQuery{Branch: branch, State: sel.String()})
	if err != nil {
		h.fail(c, err)
		return
	}
	p := &flakyPage{
		base:     base{Title: []string{pkg, "flaky"}, Pkg: pkg, Nav: "flaky", Feed: pkgURL(pkg) + "/feed.atom"},
		Name:     pkg,
		Branch:   branch,
		State:    state,
		Sections: splitFlaky(tests, sel),
	}
	for _, l := range flakyLinks {
		v := url.Values{}
		if branch != "" {
			v.Set("branch", branch)
		}
		if l.state != "" {
			v.Set("state", l.state)
		}
		u := pkgURL(pkg) + "/flaky"
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		p.Links = append(p.Links, viewLink{Text: l.text, URL: u, Current: l.state == state})
	}
	h.render(c, http.StatusOK, "flaky", p)
}

// splitFlaky makes a section of each state sel selects: the tests with an
// environment in that state, in the ranking's order, each holding only
// those environments. The recovered section is shown only when healthy is
// not (healthy holds it).
func splitFlaky(tests []aggregator.FlakyTest, sel aggregator.StateSelection) []flakySection {
	var out []flakySection
	for _, s := range flakySections {
		if sel&s.sel == 0 || (s.sel == aggregator.SelectRecovered && sel&aggregator.SelectHealthy != 0) {
			continue
		}
		sec := flakySection{State: s.state, Title: s.title, Note: s.note}
		for _, t := range tests {
			var envs []aggregator.FlakyEnv
			for _, e := range t.Environments {
				if s.sel.Selects(e.Assessment) {
					envs = append(envs, e)
				}
			}
			if len(envs) == 0 {
				continue
			}
			t.Environments = envs
			sec.Tests = append(sec.Tests, flakyRow{FlakyTest: t, Mark: stateMark(t.State)})
		}
		out = append(out, sec)
	}
	return out
}

// stateMark is the verdict mark (see verdictOf) of a flakiness state.
func stateMark(state string) string {
	switch state {
	case aggregator.StateFlaky:
		return "flaky"
	case aggregator.StateBroken:
		return "fail"
	case aggregator.StateNew:
		return "missing"
	}
	return "pass"
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
