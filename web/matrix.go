package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

type matrixPage struct {
	base
	Name  string
	Query aggregator.MatrixQuery
	// Suite, when set, keeps the test rows of one suite.
	Suite   string
	Columns []matrixColumn
	Rows    []matrixRow
	// Total counts the matrix's rows before the suite filter.
	Total int
	// Views are the links that change the row kind, filter and axes.
	RowLinks, FilterLinks, ColLinks []viewLink
}

type matrixColumn struct {
	Label   string
	Values  []string
	Title   string
	URL     string
	Missing bool
}

type matrixRow struct {
	Suite, Name string
	// SuiteStart marks a test row whose suite differs from the previous
	// row's: the suite gets a heading row.
	SuiteStart bool
	SuiteURL   string
	// URL expands a suite to its tests, or opens a test's history.
	URL string
	// Cells is the row's <td> elements, written by cellsHTML.
	Cells template.HTML
}

// matrixCell is a cell laid out in Go: at 1,000 × 30 the template only
// copies strings.
type matrixCell struct {
	Class, Sym, Title, URL, N string
}

type viewLink struct {
	Text, URL string
	Current   bool
}

// matrixPage is "/p/:pkg/matrix?rows=&cols=&branch=&filter=&suite=".
func (h *Handler) matrixPage(c *gin.Context) {
	pkg := c.Param("pkg")
	q := aggregator.MatrixQuery{Rows: c.Query("rows"), Cols: c.Query("cols"), Branch: c.Query("branch"), Filter: c.Query("filter")}
	m, err := h.sb.Matrix(c.Request.Context(), pkg, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	if q.Rows == "" {
		q.Rows = aggregator.RowsSuite
	}
	if q.Filter == "" {
		q.Filter = aggregator.FilterAll
	}
	suite := c.Query("suite")
	title := []string{pkg, "matrix"}
	if suite != "" {
		title = append(title, suite)
	}
	p := &matrixPage{
		base:  base{Title: title, Pkg: pkg, Nav: "matrix", Feed: pkgURL(pkg) + "/feed.atom"},
		Name:  pkg,
		Query: q,
		Suite: suite,
		Total: len(m.Rows),
	}
	link := func(change func(v url.Values)) string {
		v := url.Values{}
		for k, x := range map[string]string{"rows": q.Rows, "cols": q.Cols, "branch": q.Branch, "filter": q.Filter, "suite": suite} {
			if x != "" {
				v.Set(k, x)
			}
		}
		change(v)
		if v.Get("rows") != aggregator.RowsTest {
			v.Del("suite")
		}
		return pkgURL(pkg) + "/matrix?" + v.Encode()
	}
	for _, r := range []string{aggregator.RowsSuite, aggregator.RowsTest} {
		p.RowLinks = append(p.RowLinks, viewLink{Text: r + "s", Current: q.Rows == r, URL: link(func(v url.Values) { v.Set("rows", r); v.Del("suite") })})
	}
	for _, f := range []string{aggregator.FilterAll, aggregator.FilterFailing, aggregator.FilterFlaky, aggregator.FilterDiffers} {
		p.FilterLinks = append(p.FilterLinks, viewLink{Text: f, Current: q.Filter == f, URL: link(func(v url.Values) { v.Set("filter", f) })})
	}
	for _, cols := range []string{aggregator.DefaultCols, "runtime", "arch", "host", "runtime,arch", "tags"} {
		cur := q.Cols == cols || (q.Cols == "" && cols == aggregator.DefaultCols)
		text := cols
		if cols == aggregator.DefaultCols {
			text = "every environment"
		}
		p.ColLinks = append(p.ColLinks, viewLink{Text: text, Current: cur, URL: link(func(v url.Values) { v.Set("cols", cols) })})
	}
	for _, col := range m.Columns {
		mc := matrixColumn{Label: col.Label, Values: col.Values, Missing: col.Missing}
		if len(mc.Values) == 0 {
			// One line per part, so that a long label is not clipped.
			mc.Values = strings.Split(col.Label, " / ")
		}
		envs := make([]string, len(col.Envs))
		for i, e := range col.Envs {
			envs[i] = envLabel(e)
		}
		mc.Title = strings.Join(envs, "\n")
		if col.Missing {
			mc.Title = strings.TrimSpace(mc.Title + "\nmissing: " + col.Reason)
		}
		if len(col.Envs) == 1 {
			mc.URL = latestURL(col.Envs[0])
		}
		p.Columns = append(p.Columns, mc)
	}
	var sb strings.Builder
	for _, r := range m.Rows {
		if suite != "" && r.Suite != suite {
			continue
		}
		row := matrixRow{Suite: r.Suite, Name: r.Name}
		if m.RowKind == aggregator.RowsTest {
			row.SuiteStart = len(p.Rows) == 0 || p.Rows[len(p.Rows)-1].Suite != r.Suite
			if row.SuiteStart {
				row.SuiteURL = link(func(v url.Values) { v.Set("suite", r.Suite) })
			}
			row.URL = testURL(pkg, r.Suite, r.Name)
		} else {
			row.URL = link(func(v url.Values) { v.Set("rows", aggregator.RowsTest); v.Set("suite", r.Suite) })
		}
		sb.Reset()
		for _, cell := range r.Cells {
			h.matrixCell(cell).writeHTML(&sb)
		}
		row.Cells = template.HTML(sb.String())
		p.Rows = append(p.Rows, row)
	}
	h.render(c, http.StatusOK, "matrix", p)
}

// cellClass is a verdict's short class in matrix cells, where the
// class is written 24,000 times on a large page; style.css maps each to
// the verdict's colours.
var cellClass = map[string]string{
	"pass": "P", "fail": "F", "error": "E", "skip": "S", "xfail": "X", "xpass": "U", "flaky": "K", "missing": "M",
}

func (h *Handler) matrixCell(cell aggregator.Cell) matrixCell {
	k := string(cell.Status)
	switch {
	case cell.Status == "":
		k = "missing"
	case cell.Flaky:
		k = "flaky"
	}
	v := verdictOf(k)
	cls, ok := cellClass[k]
	if !ok {
		cls = "M"
	}
	mc := matrixCell{Class: cls, Sym: v.Sym}
	if cell.Status == "" {
		// "?" and the legend say it all; the column's header says why.
		return mc
	}
	// The title adds what the cell does not show: the status in words,
	// the age and, for a suite, its counts.
	var t strings.Builder
	t.WriteString(string(cell.Status))
	if cell.Flaky {
		t.WriteString(", flaky")
	}
	t.WriteString(", ")
	t.WriteString(h.age(cell.Time))
	if cell.Envs > 1 {
		// A column merging environments shows the worst of them.
		fmt.Fprintf(&t, "; failing on %d of %d environments", cell.EnvsFailing, cell.Envs)
	}
	if cell.Tests > 0 {
		fmt.Fprintf(&t, "; %s, %d failing, %d flaky", plural(cell.Tests, "test"), cell.Failing, cell.FlakyTests)
		if cell.Absent > 0 {
			fmt.Fprintf(&t, ", %d absent", cell.Absent)
		}
		if cell.Failing > 0 {
			mc.N = fmt.Sprint(cell.Failing)
		}
	}
	switch {
	case cell.Missing:
		// An expected environment gone quiet: its last verdict, faded,
		// the column's header saying since when.
		t.WriteString(" (its expected environment has not reported within its interval)")
		mc.Class += " o"
	case cell.Stale:
		t.WriteString(" (stale)")
		mc.Class += " o"
	}
	if cell.Vanished {
		t.WriteString(" (vanished from the latest result)")
		mc.Class += " o"
	}
	if cell.Infra {
		// Shown, not only told in the title: such a verdict is not scored.
		t.WriteString(" (infrastructure failure: most tests of the result failed; not scored)")
		mc.N += "⚠"
	}
	mc.Title = t.String()
	if cell.ResultKey != "" {
		mc.URL = resultURL(cell.ResultKey)
	}
	return mc
}

// writeHTML writes the cell as a <td>, slim because a large matrix has
// tens of thousands: the verdict's short class on the <td>, the symbol in
// a link to the result (an <i> when there is none), a title only when it
// says something, and no </td> (HTML closes it at the next cell or row).
// At 1,000 × 30 cells the template's reflective escaping dominated the
// page's render time, so cells are written here, every string passing
// through template.HTMLEscapeString (the class and symbol come from
// tables, the URL from resultURL, which path-escapes the key; they are
// escaped all the same).
func (c matrixCell) writeHTML(b *strings.Builder) {
	esc := template.HTMLEscapeString
	b.WriteString(`<td class="`)
	b.WriteString(esc(c.Class))
	b.WriteString(`">`)
	if c.URL != "" {
		b.WriteString(`<a href="`)
		b.WriteString(esc(c.URL))
		b.WriteString(`"`)
	} else {
		b.WriteString(`<i`)
	}
	if c.Title != "" {
		b.WriteString(` title="`)
		b.WriteString(esc(c.Title))
		b.WriteString(`"`)
	}
	b.WriteString(`>`)
	b.WriteString(esc(c.Sym))
	if c.N != "" {
		b.WriteString(`<b>`)
		b.WriteString(esc(c.N))
		b.WriteString(`</b>`)
	}
	if c.URL != "" {
		b.WriteString(`</a>`)
	} else {
		b.WriteString(`</i>`)
	}
}
