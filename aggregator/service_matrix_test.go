package aggregator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// TestServiceMatrixFlakyChanges runs the matrix, flaky and changes reads
// through the real SQLite store, whose CreateResult folds each result.
func TestServiceMatrixFlakyChanges(t *testing.T) {
	ctx := context.Background()
	svc, clk := newService(t, aggregator.Options{})
	var keys []string
	for i, sts := range [][]pony.Status{
		{pony.StatusPass, pony.StatusPass, pony.StatusPass},
		{pony.StatusPass, pony.StatusFail},
	} {
		res, err := svc.Ingest(ctx, bag("p", "h1", sts...), aggregator.IngestOptions{})
		if err != nil {
			t.Fatalf("ingest %d: %v", i, err)
		}
		keys = append(keys, res.Receipt.ResultKey)
		clk.Add(time.Minute)
	}
	if _, err := svc.Ingest(ctx, bag("p", "h2", pony.StatusFail, pony.StatusPass), aggregator.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := svc.Matrix(ctx, "p", aggregator.MatrixQuery{Rows: "test", Cols: "host", Filter: "differs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 2 || len(m.Rows) != 2 || m.Rows[0].Name != "TA" || m.Rows[1].Name != "TB" {
		t.Fatalf("got matrix %+v, want columns h1, h2 and rows TA, TB", m)
	}
	if c := m.Rows[0].Cells[0]; c.Status != pony.StatusPass || c.Count != 2 || c.ResultKey != keys[1] {
		t.Errorf("TA on h1: got %+v, want pass, 2 verdicts, result %s", c, keys[1])
	}
	c, err := svc.Changes(ctx, keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if c.PreviousKey != keys[0] || len(c.NewlyFailing) != 1 || c.NewlyFailing[0].Name != "TB" || len(c.Vanished) != 1 || c.Vanished[0].Name != "TC" {
		t.Errorf("got changes %+v, want TB newly failing and TC vanished since %s", c, keys[0])
	}
	if ft, err := svc.Flaky(ctx, "p", ""); err != nil || len(ft) != 0 {
		t.Errorf("got flaky %+v, %v, want none", ft, err)
	}

	if err := svc.SetExpected(ctx, "p", []aggregator.ExpectedEnv{{Name: "win", Match: aggregator.Env{Host: "win-1"}}, {Name: "h1", Match: aggregator.Env{Host: "h1"}}}); err != nil {
		t.Fatal(err)
	}
	_, exp, err := svc.TagsetsWithExpected(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 2 || !exp[0].Missing || exp[1].Missing || exp[1].SatisfiedBy == nil || exp[1].SatisfiedBy.Host != "h1" {
		t.Errorf("got expected statuses %+v, want win missing, h1 satisfied", exp)
	}
	m, err = svc.Matrix(ctx, "p", aggregator.MatrixQuery{Cols: "host"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 3 || !m.Columns[2].Missing || m.Columns[2].Label != "win" {
		t.Errorf("got columns %+v, want h1, h2 and a missing win", m.Columns)
	}
}

func TestServiceMatrixRefusals(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, aggregator.Options{})
	tests := []struct {
		name string
		err  error
		code aggregator.Code
		msg  string
	}{
		{"no package", func() error { _, err := svc.Matrix(ctx, "", aggregator.MatrixQuery{}); return err }(), aggregator.EInvalid, "package is required"},
		{"bad rows", func() error { _, err := svc.Matrix(ctx, "p", aggregator.MatrixQuery{Rows: "x"}); return err }(), aggregator.EInvalid, "rows must be suite or test"},
		{"bad filter", func() error { _, err := svc.Matrix(ctx, "p", aggregator.MatrixQuery{Filter: "x"}); return err }(), aggregator.EInvalid, "filter must be"},
		{"bad cols", func() error { _, err := svc.Matrix(ctx, "p", aggregator.MatrixQuery{Cols: "os"}); return err }(), aggregator.EInvalid, `unknown axis "os"`},
		{"unknown package", func() error { _, err := svc.Matrix(ctx, "nope", aggregator.MatrixQuery{}); return err }(), aggregator.ENotFound, "has no results"},
		{"changes of nothing", func() error { _, err := svc.Changes(ctx, "nokey"); return err }(), aggregator.ENotFound, "no changes recorded"},
		{"expected for another package", svc.SetExpected(ctx, "p", []aggregator.ExpectedEnv{{Match: aggregator.Env{Package: "q"}}}), aggregator.EInvalid, "is for package"},
		{"negative interval", svc.SetExpected(ctx, "p", []aggregator.ExpectedEnv{{Interval: -time.Hour}}), aggregator.EInvalid, "negative"},
		{"duplicate name", svc.SetExpected(ctx, "p", []aggregator.ExpectedEnv{{Name: "a"}, {Name: "a"}}), aggregator.EInvalid, "used twice"},
	}
	for _, tt := range tests {
		if got := aggregator.ErrorCode(tt.err); got != tt.code || !strings.Contains(aggregator.ErrorMessage(tt.err), tt.msg) {
			t.Errorf("%s: got %s %v, want %s containing %q", tt.name, got, tt.err, tt.code, tt.msg)
		}
	}
}
