package httpapi

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// matrixQuery reads and checks the query of GET /packages/{pkg}/matrix.
func matrixQuery(q query) (aggregator.MatrixQuery, error) {
	mq := aggregator.MatrixQuery{Rows: q.get("rows"), Cols: q.get("cols"), Branch: q.get("branch"), Filter: q.get("filter")}
	switch mq.Rows {
	case "", aggregator.RowsSuite, aggregator.RowsTest:
	default:
		return mq, aggregator.Errorf(aggregator.EInvalid, "rows must be suite or test, got %q", mq.Rows)
	}
	switch mq.Filter {
	case "", aggregator.FilterAll, aggregator.FilterFailing, aggregator.FilterFlaky, aggregator.FilterDiffers:
	default:
		return mq, aggregator.Errorf(aggregator.EInvalid, "filter must be all, failing, flaky or differs, got %q", mq.Filter)
	}
	if q.v.Has("cols") && strings.TrimSpace(mq.Cols) == "" {
		return mq, aggregator.Errorf(aggregator.EInvalid, "cols is empty: name axes, e.g. cols=runtime,arch (or leave cols out for %s)", aggregator.DefaultCols)
	}
	if _, err := aggregator.ParseAxes(mq.Cols); err != nil {
		return mq, aggregator.Errorf(aggregator.EInvalid, "cols: %v", err)
	}
	return mq, nil
}

// wantText says whether the answer should be the text table: ?format=text,
// or an Accept header asking for text/plain and not for JSON.
func wantText(c *gin.Context, q query) (bool, error) {
	switch f := q.get("format"); f {
	case "text":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, aggregator.Errorf(aggregator.EInvalid, "format must be json or text, got %q", f)
	}
	accept := c.GetHeader("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "json"), nil
}

// getMatrix answers a package's compatibility matrix: rows of suites or
// tests, columns of environments projected on the axes of cols. An unknown
// package has an empty matrix (no columns, no rows), as a package whose
// environments have not reported yet: only its expected environments show.
func (s *Server) getMatrix(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "rows", "cols", "branch", "filter", "format")
	if err != nil {
		return nil, err
	}
	mq, err := matrixQuery(q)
	if err != nil {
		return nil, err
	}
	text, err := wantText(c, q)
	if err != nil {
		return nil, err
	}
	pkg := c.Param("pkg")
	if err := s.authorizeRead(c, pkg); err != nil {
		return nil, err
	}
	m, err := s.svc.Matrix(c.Request.Context(), pkg, mq)
	if err != nil {
		return nil, err
	}
	if m.Columns == nil {
		m.Columns = []aggregator.Column{}
	}
	if m.Rows == nil {
		m.Rows = []aggregator.Row{}
	}
	if text {
		return &reply{text: matrixText(m)}, nil
	}
	return &reply{body: matrixReply{Package: pkg, Branch: mq.Branch, Matrix: m}}, nil
}

// matrixReply is the JSON matrix with the package it is of.
type matrixReply struct {
	Package string `json:"package"`
	Branch  string `json:"branch,omitempty"`
	aggregator.Matrix
}

// cellText is a cell's verdict in a few letters: the status (failures in
// capitals), "?" when it has none, then marks: ~ flaky, ! infrastructure
// failure, * stale, "(missing)" for a missing expected environment.
func cellText(c aggregator.Cell) string {
	var b strings.Builder
	switch c.Status {
	case "":
		b.WriteString("?")
	case pony.StatusFail, pony.StatusError:
		b.WriteString(strings.ToUpper(string(c.Status)))
	default:
		b.WriteString(string(c.Status))
	}
	if c.Flaky {
		b.WriteByte('~')
	}
	if c.Infra {
		b.WriteByte('!')
	}
	if c.Stale {
		b.WriteByte('*')
	}
	if c.Missing && c.Status != "" {
		b.WriteString(" (missing)")
	}
	return b.String()
}

// matrixText lays the matrix out as an aligned text table for curl users,
// with a legend.
func matrixText(m aggregator.Matrix) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	head := m.RowKind
	fmt.Fprint(tw, head)
	for _, col := range m.Columns {
		label := col.Label
		if label == "" {
			label = "(none)"
		}
		if col.Missing {
			label += " [missing]"
		}
		fmt.Fprint(tw, "\t", label)
	}
	fmt.Fprintln(tw)
	for _, r := range m.Rows {
		name := r.Suite
		if r.Name != "" {
			name = r.Suite + " " + r.Name
			if r.Suite == "" {
				name = r.Name
			}
		}
		fmt.Fprint(tw, strings.NewReplacer("\t", " ", "\n", " ").Replace(name))
		for _, cell := range r.Cells {
			fmt.Fprint(tw, "\t", cellText(cell))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d rows × %d columns (axes %s, filter %s). FAIL/ERROR: failing; ~ flaky; ! infrastructure failure; * stale; ? no verdict.\n",
		len(m.Rows), len(m.Columns), strings.Join(m.Axes, ","), m.Filter)
	return b.String()
}
