package web

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// funcs are the template helpers: URLs (package names are path-escaped, a
// slash travelling as %2F), verdict marks, ages and durations.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":      h.assetURL,
		"pkgURL":     pkgURL,
		"resultURL":  resultURL,
		"testURL":    testURL,
		"latestURL":  latestURL,
		"badgeURL":   badgeURL,
		"verdict":    verdictOf,
		"resultMark": resultMark,
		"age":        h.age,
		"stamp":      stamp,
		"dur":        formatDuration,
		"envLabel":   envLabel,
		"short":      shortCommit,
		"pageTitle":  pageTitle,
		"pct":        pct,
		"add":        func(a, b int) int { return a + b },
		"changeList": changeList,
		"verdictFor": verdictFor,
		"revVerdicts": func(vs []aggregator.TestVerdict) []aggregator.TestVerdict {
			return slices.Collect(func(yield func(aggregator.TestVerdict) bool) {
				for _, v := range slices.Backward(vs) {
					if !yield(v) {
						return
					}
				}
			})
		},
		"mul100":  func(f float64) float64 { return 100 * f },
		"strip":   historyStrip,
		"failing": func(t pony.Totals) int { return t.Fail + t.Error },
		"plural":  plural,
		"legend":  legend,
	}
}

// plural is a count with its noun: "1 result", "2 results". The plural
// form is the singular plus "s" unless given.
func plural(n int, singular string, pluralForm ...string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, singular)
	}
	if len(pluralForm) > 0 {
		return fmt.Sprintf("%d %s", n, pluralForm[0])
	}
	return fmt.Sprintf("%d %ss", n, singular)
}

// legendOrder lists every mark a matrix cell can show, in the legend's order.
var legendOrder = []string{"pass", "fail", "error", "skip", "xfail", "xpass", "flaky", "missing"}

// legend is every verdict a matrix cell can show, for its legend.
func legend() []verdict {
	out := make([]verdict, len(legendOrder))
	for i, k := range legendOrder {
		out[i] = verdicts[k]
	}
	return out
}

func (h *Handler) assetURL(name string) string {
	return "/static/" + name + "?v=" + h.assets[name]
}

// pkgURL is the path of a package's page; the name is one escaped segment.
func pkgURL(pkg string) string { return "/p/" + pathElem(pkg) }

// pathElem escapes s as one path element; '+' too, so that a router
// unescaping values as a query would not read it as a space.
func pathElem(s string) string { return strings.ReplaceAll(url.PathEscape(s), "+", "%2B") }

func resultURL(key string) string { return "/r/" + url.PathEscape(key) }

// testURL is the path of one test's page: /p/PKG/t/SUITE/NAME, each part
// escaped as one path element (a Go package's slashes and a subtest's
// too), or /p/PKG/t?suite=&name= when the suite or the name is empty, "."
// or "..".
func testURL(pkg, suite, name string) string {
	if suite == "" || name == "" || dotElem(suite) || dotElem(name) {
		q := url.Values{}
		q.Set("suite", suite)
		q.Set("name", name)
		return pkgURL(pkg) + "/t?" + q.Encode()
	}
	return pkgURL(pkg) + "/t/" + pathElem(suite) + "/" + pathElem(name)
}

// dotElem: "." and ".." as path elements are resolved away by browsers.
func dotElem(s string) bool { return s == "." || s == ".." }

// withQuery adds key=value to the query of a URL.
func withQuery(u, key, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
}

// badgeURL is the link to an environment's badge. It is made whole here:
// a query written into an href after a "?" by the template would be
// escaped as one value (arch%3d…%26host%3d…) and name no environment.
func badgeURL(e aggregator.Env) string { return pkgURL(e.Package) + "/badge.svg?" + envQuery(e) }

// latestURL is the lasting link to an environment's newest result.
func latestURL(e aggregator.Env) string { return pkgURL(e.Package) + "/latest?" + envQuery(e) }

// envQuery is an environment as the query ?host=&arch=&runtime=&tag=….
func envQuery(e aggregator.Env) string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("host", e.Host)
	set("arch", e.Arch)
	set("runtime", e.Runtime)
	for _, t := range e.Tags {
		q.Add("tag", t)
	}
	return q.Encode()
}

// verdict is how a status is shown: a CSS class (the colour) and a symbol
// (so that colour is never the only sign).
type verdict struct {
	Class, Sym, Label string
}

var verdicts = map[string]verdict{
	"pass":    {"v-pass", "✓", "pass"},
	"fail":    {"v-fail", "✗", "fail"},
	"error":   {"v-error", "!", "error"},
	"skip":    {"v-skip", "–", "skip"},
	"xfail":   {"v-skip", "∅", "expected failure"},
	"xpass":   {"v-flaky", "✓", "unexpected pass"},
	"flaky":   {"v-flaky", "~", "flaky"},
	"missing": {"v-missing", "?", "missing"},
	"stale":   {"v-missing", "?", "stale"},
	// A run that is not complete.
	"running":   {"v-running", "●", "running"},
	"abandoned": {"v-missing", "…", "abandoned: incomplete"},
}

// verdictOf maps a status (a pony.Status, or "flaky", "missing") to its mark.
func verdictOf(s any) verdict {
	var k string
	switch v := s.(type) {
	case pony.Status:
		k = string(v)
	case string:
		k = v
	default:
		k = fmt.Sprint(v)
	}
	if v, ok := verdicts[k]; ok {
		return v
	}
	if k == "" {
		return verdicts["missing"]
	}
	return verdict{"v-missing", "?", k}
}

// resultMark is a whole result's verdict: failing, flaky or passing.
func resultMark(r aggregator.ResultSummary) verdict {
	switch {
	case r.Totals.Error > 0 && r.Totals.Fail == 0:
		return verdicts["error"]
	case !r.Success || r.Totals.Fail > 0:
		return verdicts["fail"]
	case r.Totals.Flaky > 0:
		return verdicts["flaky"]
	}
	return verdicts["pass"]
}

// age says how long ago t was, in the largest fitting unit.
func (h *Handler) age(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := h.opts.Now().Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// formatDuration shows seconds with sensible precision.
func formatDuration(s float64) string {
	switch {
	case s <= 0:
		return "–"
	case s < 0.001:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1e3)
	case s < 60:
		return fmt.Sprintf("%.2fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

// envLabel names an environment without its package.
func envLabel(e aggregator.Env) string {
	parts := make([]string, 0, 4)
	for _, p := range []string{e.Host, e.Arch, e.Runtime, strings.Join(e.Tags, ",")} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "(default)"
	}
	return strings.Join(parts, " · ")
}

func shortCommit(c string) string {
	if len(c) > 10 {
		return c[:10]
	}
	return c
}

// pageTitle joins "pony" and the page's title parts with " · ".
func pageTitle(parts []string) string {
	return strings.Join(append([]string{"pony"}, parts...), " · ")
}

func pct(num, den int) string {
	if den == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", math.Floor(100*float64(num)/float64(den)))
}

// changeGroup is one kind of change of a result, for the "changes" partial.
type changeGroup struct {
	Pkg, Title, Status string
	Tests              []aggregator.TestRef
	// Open: short lists of verdict changes show unfolded.
	Open bool
}

func changeList(pkg, title, status string, tests []aggregator.TestRef) changeGroup {
	return changeGroup{Pkg: pkg, Title: title, Status: status, Tests: tests, Open: status != "" && status != "missing" && len(tests) <= 20}
}
