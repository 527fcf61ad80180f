package aggregator

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// DefaultCols are the matrix axes when none are named: every part of the
// environment, so that each environment is a column of its own and no
// verdict hides behind another.
const DefaultCols = "host,arch,runtime,tags"

// The axis kinds (see ParseAxes).
const (
	AxisPackage = "package"
	AxisHost    = "host"
	AxisArch    = "arch"
	AxisRuntime = "runtime"
	AxisTags    = "tags"
	AxisTag     = "tag"
	AxisKey     = "key"
)

// Axis is one dimension the matrix projects environments on: a field of
// the environment, the tags matching a glob, or a client_info key.
type Axis struct {
	Kind string `json:"kind"`
	// Arg is the glob of a tag axis or the client_info key of a key axis.
	Arg string `json:"arg,omitempty"`
}

// String returns the axis as ParseAxes reads it.
func (a Axis) String() string {
	if a.Kind == AxisTag || a.Kind == AxisKey {
		return a.Kind + ":" + a.Arg
	}
	return a.Kind
}

// maxAxes caps the axes of one matrix.
const maxAxes = 8

// ParseAxes reads a comma-separated list of axes: runtime, arch, host,
// package, tags (every tag, joined with ","), tag:GLOB (the tags matching
// the path.Match glob, joined with ",") and key:NAME (the client_info key
// NAME: the environment's own value when the server makes NAME an axis of
// environments, see NewEnv; else that of the environment's latest result:
// a known field by its JSON name, else the raw value, unquoted when a JSON
// string). An empty list means
// DefaultCols. Unknown or repeated axes and bad globs are errors.
func ParseAxes(cols string) ([]Axis, error) {
	if strings.TrimSpace(cols) == "" {
		cols = DefaultCols
	}
	var out []Axis
	seen := map[Axis]bool{}
	for _, part := range strings.Split(cols, ",") {
		part = strings.TrimSpace(part)
		kind, arg, hasArg := strings.Cut(part, ":")
		var a Axis
		switch kind {
		case AxisPackage, AxisHost, AxisArch, AxisRuntime, AxisTags:
			if hasArg {
				return nil, fmt.Errorf("axis %q takes no argument", part)
			}
			a = Axis{Kind: kind}
		case AxisTag:
			if arg == "" {
				return nil, fmt.Errorf("axis %q needs a glob, as in tag:python*", part)
			}
			if _, err := path.Match(arg, ""); err != nil {
				return nil, fmt.Errorf("axis %q: bad glob: %w", part, err)
			}
			a = Axis{Kind: kind, Arg: arg}
		case AxisKey:
			if arg == "" {
				return nil, fmt.Errorf("axis %q needs a client_info key, as in key:os", part)
			}
			a = Axis{Kind: kind, Arg: arg}
		case "":
			return nil, fmt.Errorf("empty axis in %q", cols)
		default:
			return nil, fmt.Errorf("unknown axis %q (want runtime, arch, host, package, tags, tag:GLOB or key:NAME)", part)
		}
		if seen[a] {
			return nil, fmt.Errorf("axis %q named twice", part)
		}
		seen[a] = true
		out = append(out, a)
	}
	if len(out) > maxAxes {
		return nil, fmt.Errorf("%d axes, over the limit of %d", len(out), maxAxes)
	}
	return out, nil
}

// project returns the value of environment e on axis a.
func project(e *EnvInfo, a Axis) string {
	switch a.Kind {
	case AxisPackage:
		return e.Env.Package
	case AxisHost:
		return e.Env.Host
	case AxisArch:
		return e.Env.Arch
	case AxisRuntime:
		return e.Env.Runtime
	case AxisTags:
		return strings.Join(e.Env.Tags, ",")
	case AxisTag:
		var m []string
		for _, t := range e.Env.Tags {
			if ok, _ := path.Match(a.Arg, t); ok {
				m = append(m, t)
			}
		}
		return strings.Join(m, ",")
	case AxisKey:
		// A key the server makes an axis is in the environment itself.
		if v, ok := axisTagValue(e.Env.Tags, a.Arg); ok {
			return v
		}
		return clientInfoValue(&e.ClientInfo, a.Arg)
	}
	return ""
}

// clientInfoValue returns the client_info key name as text.
func clientInfoValue(ci *pony.ClientInfo, name string) string {
	switch name {
	case "package":
		return ci.Package
	case "host":
		return ci.Host
	case "arch":
		return ci.Arch
	case "runtime":
		return ci.Runtime
	case "commit":
		return ci.Commit
	case "branch":
		return ci.Branch
	case "build_url":
		return ci.BuildURL
	case "tags":
		return strings.Join(ci.Tags, ",")
	case "success":
		if ci.Success == nil {
			return ""
		}
		return strconv.FormatBool(*ci.Success)
	case "duration":
		if ci.Duration == 0 {
			return ""
		}
		return strconv.FormatFloat(ci.Duration, 'g', -1, 64)
	}
	raw := ci.Extra[name]
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// The row kinds and filters of a matrix.
const (
	RowsSuite = "suite"
	RowsTest  = "test"

	FilterAll     = "all"
	FilterFailing = "failing"
	FilterFlaky   = "flaky"
	FilterDiffers = "differs"
)

// MatrixOptions shape BuildMatrix.
type MatrixOptions struct {
	// Rows is RowsSuite (default) or RowsTest.
	Rows string
	// Axes project environments onto columns (default: DefaultCols).
	Axes []Axis
	// Filter is FilterAll (default), FilterFailing (rows with a failing
	// cell), FilterFlaky (rows with a flaky cell) or FilterDiffers (rows
	// whose non-missing cells both pass and fail: the compatibility
	// breaks; skip, xfail, xpass and infrastructure failures take no
	// side).
	Filter string
	// Now is the time ages are measured at; StaleAfter the age past which
	// a cell is stale (0: never).
	Now        time.Time
	StaleAfter time.Duration
	// Flaky tunes the flaky mark of cells (see Assess).
	Flaky FlakyOptions
	// Branch is the branch the states were selected for ("" for all). Over
	// all branches a cell is marked Vanished when its verdict is older than
	// the environment's newest result; on one branch that cannot be told
	// from the environment alone, so nothing is marked.
	Branch string
}

// Matrix is the compatibility matrix of a package: rows of tests or suites,
// columns of projected environments, a cell per pair.
type Matrix struct {
	RowKind string   `json:"row_kind"`
	Axes    []string `json:"axes"`
	Filter  string   `json:"filter"`
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
}

// Column is one distinct projection of environments onto the axes.
type Column struct {
	// Values holds the projected value of each axis.
	Values []string `json:"values"`
	// Label is the values joined with " / ", or the expected environment's
	// name for a column standing for an expected environment alone.
	Label string `json:"label"`
	// Envs lists the environments projected onto the column.
	Envs []Env `json:"envs"`
	// Expected names the expected environments the column answers for.
	Expected []string `json:"expected,omitempty"`
	// Missing is set when an expected environment of the column has not
	// reported within its interval (or never: then the column has no
	// environment and every cell is missing); Reason says why.
	Missing bool   `json:"missing,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// LastReceived is the newest result of the column's environments.
	LastReceived time.Time `json:"last_received,omitzero"`
}

// Row is one test (Name set) or one suite of the matrix.
type Row struct {
	Suite string `json:"suite"`
	Name  string `json:"name,omitempty"`
	Cells []Cell `json:"cells"`
}

// Cell is the latest verdict of a row in a column. When several
// environments project onto the column, the newest verdict among them is
// shown, Count sums their verdicts and Flaky says whether any is flaky.
type Cell struct {
	Status pony.Status `json:"status,omitempty"`
	// Age is Now − Time, in whole seconds.
	Age       int64     `json:"age,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	ResultKey string    `json:"result_key,omitempty"`
	// Count is the number of verdicts behind the cell.
	Count int  `json:"count,omitempty"`
	Flaky bool `json:"flaky,omitempty"`
	// Stale: the verdict is older than StaleAfter.
	Stale bool `json:"stale,omitempty"`
	// Missing: no verdict for the row in the column, or the column is an
	// expected environment that has not reported within its interval.
	Missing bool `json:"missing,omitempty"`
	// Infra: the verdict comes from an infrastructure failure (not
	// scored).
	Infra bool `json:"infra,omitempty"`
	// Vanished: the environment's newest result no longer has the test
	// (removed, renamed or not run); the cell shows its last verdict, so
	// that a removed test does not pass for a passing one.
	Vanished bool `json:"vanished,omitempty"`
	// Envs and EnvsFailing, where the column merges environments (two
	// hosts on one runtime under cols=runtime): how many of them have a
	// verdict for the row, and how many of those fail (infrastructure
	// failures not counted). The cell's status is the worst of their newest
	// verdicts, a verdict from an infrastructure failure only when all are.
	Envs        int `json:"envs,omitempty"`
	EnvsFailing int `json:"envs_failing,omitempty"`
	// Suite rows only: the suite's tests with a verdict in the column,
	// how many fail, how many are flaky, and how many of the suite's
	// tests have no verdict there.
	Tests      int `json:"tests,omitempty"`
	Failing    int `json:"failing,omitempty"`
	FlakyTests int `json:"flaky_tests,omitempty"`
	Absent     int `json:"absent,omitempty"`
}

// columnLabel joins a column's values, an empty one written "–" so that
// each keeps its place ("h / – / go1.22", not "h /  / go1.22").
func columnLabel(vals []string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		if parts[i] = v; v == "" {
			parts[i] = "–"
		}
	}
	return strings.Join(parts, " / ")
}

// StatusRank orders statuses for suite roll-ups, worst highest: error,
// fail, xpass (an expected failure that now passes wants its marker
// removed), pass, xfail (failing as expected), skip (says nothing).
func StatusRank(s pony.Status) int {
	switch s {
	case pony.StatusError:
		return 6
	case pony.StatusFail:
		return 5
	case pony.StatusXPass:
		return 4
	case pony.StatusPass:
		return 3
	case pony.StatusXFail:
		return 2
	case pony.StatusSkip:
		return 1
	}
	return 0
}

// SelectStates keeps the states f selects, as a Store's TestStates does:
// f.Package's (when set), and f.Branch's when set; without a branch, the
// newest state (by time, then result key) of each test and environment
// over every branch.
func SelectStates(states []TestState, f StateFilter) []TestState {
	type key struct{ suite, name, env string }
	idx := map[key]int{}
	var out []TestState
	for _, s := range states {
		if (f.Package != "" && s.Package != f.Package) || (f.Branch != "" && s.Branch != f.Branch) {
			continue
		}
		k := key{s.Suite, s.Name, s.EnvKey}
		if i, ok := idx[k]; ok {
			if newer(&out[i], ResultInfo{Received: s.Received, ResultKey: s.ResultKey}) {
				out[i] = s
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, s)
	}
	return out
}

// BuildMatrix lays states out as a matrix. envs are the package's
// environments (states of other environments are ignored) and expected its
// expected environments (see MissingExpected). Columns are ordered by
// NaturalLess on each axis value in turn; rows by NaturalLess on suite,
// then name. A suite row rolls its tests up: the worst status (StatusRank),
// the newest time and result key, counts summed, flaky when any test is.
func BuildMatrix(states []TestState, envs []EnvInfo, expected []ExpectedEnv, opts MatrixOptions) Matrix {
	if len(opts.Axes) == 0 {
		opts.Axes, _ = ParseAxes(DefaultCols)
	}
	if opts.Rows != RowsTest {
		opts.Rows = RowsSuite
	}
	switch opts.Filter {
	case FilterFailing, FilterFlaky, FilterDiffers:
	default:
		opts.Filter = FilterAll
	}
	flakyOpts := opts.Flaky.WithDefaults()
	m := Matrix{RowKind: opts.Rows, Filter: opts.Filter, Columns: []Column{}, Rows: []Row{}}
	for _, a := range opts.Axes {
		m.Axes = append(m.Axes, a.String())
	}

	// Columns.
	cols := []Column{}
	colIdx := map[string]int{}
	envCol := make(map[string]int, len(envs))
	for i := range envs {
		e := &envs[i]
		vals := make([]string, len(opts.Axes))
		for j, a := range opts.Axes {
			vals[j] = project(e, a)
		}
		k := strings.Join(vals, "\x00")
		c, ok := colIdx[k]
		if !ok {
			c = len(cols)
			colIdx[k] = c
			cols = append(cols, Column{Values: vals, Label: columnLabel(vals), Envs: []Env{}})
		}
		cols[c].Envs = append(cols[c].Envs, e.Env)
		if e.LastReceived.After(cols[c].LastReceived) {
			cols[c].LastReceived = e.LastReceived
		}
		envCol[e.Key] = c
	}
	for _, st := range MissingExpected(expected, envs, opts.Now) {
		label := expectedLabel(st.Expected)
		if st.SatisfiedBy == nil {
			x := EnvInfo{Env: st.Expected.Match}
			vals := make([]string, len(opts.Axes))
			for j, a := range opts.Axes {
				vals[j] = project(&x, a)
			}
			cols = append(cols, Column{Values: vals, Label: label, Envs: []Env{}, Expected: []string{label}, Missing: true, Reason: st.Reason})
			continue
		}
		marked := map[int]bool{}
		for i := range envs {
			if !envs[i].Env.Matches(st.Expected.Match) {
				continue
			}
			c := envCol[envs[i].Key]
			if marked[c] || (!st.Missing && envs[i].Env.Key() != st.SatisfiedBy.Key()) {
				continue
			}
			marked[c] = true
			cols[c].Expected = append(cols[c].Expected, label)
			if st.Missing {
				cols[c].Missing, cols[c].Reason = true, label+": "+st.Reason
			}
		}
	}
	perm := make([]int, len(cols))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(i, j int) bool {
		a, b := &cols[perm[i]], &cols[perm[j]]
		for k := range a.Values {
			if a.Values[k] != b.Values[k] {
				return NaturalLess(a.Values[k], b.Values[k])
			}
		}
		return NaturalLess(a.Label, b.Label)
	})
	where := make([]int, len(cols))
	for newPos, old := range perm {
		m.Columns = append(m.Columns, cols[old])
		where[old] = newPos
	}
	for k, c := range envCol {
		envCol[k] = where[c]
	}
	nc := len(m.Columns)

	// The newest result of each environment, to tell vanished tests.
	lastOf := make(map[string]EnvInfo, len(envs))
	if opts.Branch == "" {
		for _, e := range envs {
			lastOf[e.Key] = e
		}
	}

	// Test rows. A cell is the environments of its column: each gives its
	// newest verdict (over the branches read), and the cell shows the
	// worst of those, so that a column merging two hosts on go1.9 shows a
	// failure on either (the newest among equally bad ones decides the
	// time and result key).
	type tkey struct{ suite, name string }
	envIdx := make(map[string]int, len(envs))
	for i := range envs {
		envIdx[envs[i].Key] = i
	}
	ne := len(envs)
	rowIdx := map[tkey]int{}
	var rows []Row
	var cells []Cell   // rows × columns, row-major
	var newest []int32 // rows × environments: the index of the newest state, or -1
	for i := range states {
		s := &states[i]
		c, ok := envCol[s.EnvKey]
		if !ok {
			continue
		}
		k := tkey{s.Suite, s.Name}
		r, ok := rowIdx[k]
		if !ok {
			r = len(rows)
			rowIdx[k] = r
			rows = append(rows, Row{Suite: s.Suite, Name: s.Name})
			cells = append(cells, make([]Cell, nc)...)
			for range ne {
				newest = append(newest, -1)
			}
		}
		slot := &newest[r*ne+envIdx[s.EnvKey]]
		if *slot < 0 || s.Newer(&states[*slot]) {
			*slot = int32(i)
		}
		cell := &cells[r*nc+c]
		cell.Count += s.Verdicts
		if !cell.Flaky && assess(s, flakyOpts, false).State == StateFlaky {
			cell.Flaky = true
		}
	}
	for r := range rows {
		for e := range ne {
			i := newest[r*ne+e]
			if i < 0 {
				continue
			}
			s := &states[i]
			cell := &cells[r*nc+envCol[s.EnvKey]]
			cell.Envs++
			if s.Status.Failed() && !s.Infra {
				cell.EnvsFailing++
			}
			// A verdict from an infrastructure failure says nothing of the
			// test: any other verdict wins over it; among the others, or
			// among such verdicts, the worst, then the newest.
			better := cell.Status == "" || cell.Infra && !s.Infra
			if !better && cell.Infra == s.Infra {
				better = StatusRank(s.Status) > StatusRank(cell.Status) ||
					StatusRank(s.Status) == StatusRank(cell.Status) && newerReading(s.Received, s.ResultKey, cell.Time, cell.ResultKey)
			}
			if better {
				cell.Status, cell.Time, cell.ResultKey, cell.Infra = s.Status, s.Received, s.ResultKey, s.Infra
				last, ok := lastOf[s.EnvKey]
				cell.Vanished = ok && last.LastResult != "" && s.ResultKey != last.LastResult && s.Received.Before(last.LastReceived)
			}
		}
		rows[r].Cells = cells[r*nc : (r+1)*nc : (r+1)*nc]
		for c := range rows[r].Cells {
			if cell := &rows[r].Cells[c]; cell.Envs < 2 {
				cell.Envs, cell.EnvsFailing = 0, 0 // said only where environments merge
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Suite != rows[j].Suite {
			return NaturalLess(rows[i].Suite, rows[j].Suite)
		}
		return NaturalLess(rows[i].Name, rows[j].Name)
	})

	finish := func(cell *Cell, col *Column) {
		if cell.Status == "" {
			cell.Missing = true
			return
		}
		age := opts.Now.Sub(cell.Time)
		cell.Age = int64(age / time.Second)
		cell.Stale = opts.StaleAfter > 0 && age > opts.StaleAfter
		if col.Missing {
			cell.Missing = true
		}
	}
	if opts.Rows == RowsTest {
		for r := range rows {
			for c := range rows[r].Cells {
				finish(&rows[r].Cells[c], &m.Columns[c])
			}
		}
	} else {
		var suites []Row
		for start := 0; start < len(rows); {
			end := start
			for end < len(rows) && rows[end].Suite == rows[start].Suite {
				end++
			}
			sr := Row{Suite: rows[start].Suite, Cells: make([]Cell, nc)}
			for c := 0; c < nc; c++ {
				sc := &sr.Cells[c]
				for _, tr := range rows[start:end] {
					tc := &tr.Cells[c]
					if tc.Status == "" {
						sc.Absent++
						continue
					}
					sc.Tests++
					if tc.Status.Failed() {
						sc.Failing++
					}
					if tc.Flaky {
						sc.FlakyTests++
						sc.Flaky = true
					}
					if StatusRank(tc.Status) > StatusRank(sc.Status) {
						sc.Status = tc.Status
					}
					if tc.Time.After(sc.Time) || (tc.Time.Equal(sc.Time) && tc.ResultKey > sc.ResultKey) {
						sc.Time, sc.ResultKey = tc.Time, tc.ResultKey
					}
					sc.Count += tc.Count
					sc.Infra = sc.Infra || tc.Infra
				}
				finish(sc, &m.Columns[c])
			}
			suites = append(suites, sr)
			start = end
		}
		rows = suites
	}
	for _, r := range rows {
		if keepRow(r, opts.Filter) {
			m.Rows = append(m.Rows, r)
		}
	}
	return m
}

// keepRow applies a matrix filter to a row.
func keepRow(r Row, filter string) bool {
	switch filter {
	case FilterFailing:
		for _, c := range r.Cells {
			if c.Status.Failed() {
				return true
			}
		}
		return false
	case FilterFlaky:
		for _, c := range r.Cells {
			if c.Flaky {
				return true
			}
		}
		return false
	case FilterDiffers:
		pass, fail := false, false
		for _, c := range r.Cells {
			if c.Missing || c.Infra {
				continue // an infrastructure failure says nothing of compatibility
			}
			pass = pass || c.Status == pony.StatusPass
			fail = fail || c.Status.Failed()
		}
		return pass && fail
	}
	return true
}
