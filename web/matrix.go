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
			mc.Values = []string{col.Label}
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
		for i, cell := range r.Cells {
			h.matrixCell(cell, m.Columns[i].Label).writeHTML(&sb)
		}
		row.Cells = template.HTML(sb.String())
		p.Rows = append(p.Rows, row)
	}
	h.render(c, http.StatusOK, "matrix", p)
}

func (h *Handler) matrixCell(cell aggregator.Cell, col string) matrixCell {
	var v verdict
	switch {
	case cell.Missing || cell.Status == "":
		v = verdicts["missing"]
	case cell.Flaky:
		v = verdicts["flaky"]
	default:
		v = verdictOf(cell.Status)
	}
	mc := matrixCell{Class: v.Class, Sym: v.Sym}
	var t strings.Builder
	t.WriteString(col)
	t.WriteString(": ")
	if cell.Missing || cell.Status == "" {
		t.WriteString("no verdict")
	} else {
		t.WriteString(string(cell.Status))
		if cell.Flaky {
			t.WriteString(", flaky")
		}
		fmt.Fprintf(&t, ", %s", h.age(cell.Time))
	}
	if cell.Tests > 0 {
		fmt.Fprintf(&t, "; %d tests, %d failing, %d flaky", cell.Tests, cell.Failing, cell.FlakyTests)
		if cell.Absent > 0 {
			fmt.Fprintf(&t, ", %d absent", cell.Absent)
		}
		if cell.Failing > 0 {
			mc.N = fmt.Sprint(cell.Failing)
		}
	}
	if cell.Stale {
		t.WriteString(" (stale)")
		mc.Class += " stale"
	}
	if cell.Vanished {
		t.WriteString(" (vanished from the latest result)")
		mc.Class += " stale"
	}
	if cell.Infra {
		t.WriteString(" (infrastructure failure)")
	}
	mc.Title = t.String()
	if cell.ResultKey != "" {
		mc.URL = resultURL(cell.ResultKey)
	}
	return mc
}

// writeHTML writes the cell as a <td>. At 1,000 × 30 cells the template's
// reflective escaping dominated the page's render time, so cells are
// written here, every string passing through template.HTMLEscapeString
// (the class and symbol come from the verdicts table, the URL from
// resultURL, which path-escapes the key; they are escaped all the same).
func (c matrixCell) writeHTML(b *strings.Builder) {
	esc := template.HTMLEscapeString
	b.WriteString(`<td class="c">`)
	if c.URL != "" {
		b.WriteString(`<a class="cell `)
		b.WriteString(esc(c.Class))
		b.WriteString(`" href="`)
		b.WriteString(esc(c.URL))
		b.WriteString(`" title="`)
	} else {
		b.WriteString(`<span class="cell `)
		b.WriteString(esc(c.Class))
		b.WriteString(`" title="`)
	}
	b.WriteString(esc(c.Title))
	b.WriteString(`">`)
	b.WriteString(esc(c.Sym))
	if c.N != "" {
		b.WriteString(`<span class="n">`)
		b.WriteString(esc(c.N))
		b.WriteString(`</span>`)
	}
	if c.URL != "" {
		b.WriteString(`</a></td>`)
	} else {
		b.WriteString(`</span></td>`)
	}
}
