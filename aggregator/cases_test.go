package aggregator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/{matrix,flaky}/*.txtar")

// A case file is a txtar archive (golang.org/x/tools/txtar's format, split
// by hand): a comment, then "-- name --" sections:
//
//	query     key=value lines: rows, cols, filter, branch, now (RFC 3339),
//	          stale (a duration), infra_min (InfraMinTests), states (the
//	          flaky rankings to write, space-separated state selections as
//	          ParseStateSelection reads them; default flaky)
//	expected  expected environments, one a line: NAME INTERVAL key=value…
//	          (host, arch, runtime, tag)
//	bags      one result bag a line (JSON, receipt included), folded in
//	          file order as the store does at ingest
//	matrix    the expected matrix (see renderMatrix); written by -update
//	flaky     the expected flaky ranking (renderFlaky); written by -update
//	changes   the expected changes of each bag (renderChanges)
type section struct{ name, body string }

func splitTxtar(data string) (comment string, secs []section) {
	lines := strings.SplitAfter(data, "\n")
	cur := -1
	var b strings.Builder
	flush := func() {
		if cur < 0 {
			comment = b.String()
		} else {
			secs[cur].body = b.String()
		}
		b.Reset()
	}
	for _, l := range lines {
		t := strings.TrimRight(l, "\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			flush()
			secs = append(secs, section{name: strings.TrimSpace(t[3 : len(t)-3])})
			cur = len(secs) - 1
			continue
		}
		b.WriteString(l)
	}
	flush()
	return comment, secs
}

func joinTxtar(comment string, secs []section) string {
	var b strings.Builder
	b.WriteString(comment)
	for _, s := range secs {
		fmt.Fprintf(&b, "-- %s --\n", s.name)
		b.WriteString(s.body)
		if s.body != "" && !strings.HasSuffix(s.body, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// history is what the store keeps, folded in memory: the test states, the
// environments and the last result of each environment and branch.
type history struct {
	states  map[[4]string]*TestState // suite, name, env key, branch
	envs    map[string]*EnvInfo
	envList []string
	last    map[[2]string]ResultInfo // env key, branch
	changes []string
}

func newHistory() *history {
	return &history{states: map[[4]string]*TestState{}, envs: map[string]*EnvInfo{}, last: map[[2]string]ResultInfo{}}
}

// ingest folds one bag in as gormstore's CreateResult does.
func (h *history) ingest(b *pony.Bag, opts FoldOptions) {
	env := NewEnv(b.ClientInfo)
	r := ResultInfo{Package: env.Package, EnvKey: env.Key(), Branch: b.ClientInfo.Branch, Commit: b.ClientInfo.Commit,
		ResultKey: b.Receipt.ResultKey, Received: b.Receipt.Time}
	obs := Observations(b)
	r.Infra = IsInfraFailure(obs, opts)
	lk := [2]string{r.EnvKey, r.Branch}
	prev, hasPrev := h.last[lk]
	var prevStates []TestState
	if hasPrev {
		for _, s := range h.states {
			if s.EnvKey == r.EnvKey && s.Branch == r.Branch && s.ResultKey == prev.ResultKey {
				prevStates = append(prevStates, *s)
			}
		}
	}
	c := DiffChanges(prev.ResultKey, prevStates, obs, r.Infra)
	h.changes = append(h.changes, renderChanges(r.ResultKey, c))
	for _, o := range obs {
		k := [4]string{o.Suite, o.Name, r.EnvKey, r.Branch}
		n := Fold(h.states[k], r, o, opts)
		h.states[k] = &n
	}
	if !hasPrev || r.Received.After(prev.Received) {
		h.last[lk] = r
	}
	e, ok := h.envs[r.EnvKey]
	if !ok {
		e = &EnvInfo{Key: r.EnvKey, Env: env}
		h.envs[r.EnvKey] = e
		h.envList = append(h.envList, r.EnvKey)
	}
	if r.Received.After(e.LastReceived) {
		e.LastReceived, e.LastResult, e.ClientInfo = r.Received, r.ResultKey, b.ClientInfo
	}
}

func (h *history) stateList() []TestState {
	out := make([]TestState, 0, len(h.states))
	for _, s := range h.states {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Suite+"\x00"+a.Name+"\x00"+a.EnvKey+"\x00"+a.Branch < b.Suite+"\x00"+b.Name+"\x00"+b.EnvKey+"\x00"+b.Branch
	})
	return out
}

func (h *history) envInfos() []EnvInfo {
	out := make([]EnvInfo, 0, len(h.envList))
	for _, k := range h.envList {
		out = append(out, *h.envs[k])
	}
	return out
}

func parseQuery(t *testing.T, body string) map[string]string {
	q := map[string]string{}
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("query line %q: want key=value", l)
		}
		q[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return q
}

func parseExpected(t *testing.T, body string) []ExpectedEnv {
	var out []ExpectedEnv
	for _, l := range strings.Split(body, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 {
			t.Fatalf("expected line %q: want NAME INTERVAL key=value…", l)
		}
		iv, err := time.ParseDuration(f[1])
		if err != nil {
			t.Fatalf("expected line %q: %v", l, err)
		}
		x := ExpectedEnv{Name: f[0], Interval: iv}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "package":
				x.Match.Package = v
			case "host":
				x.Match.Host = v
			case "arch":
				x.Match.Arch = v
			case "runtime":
				x.Match.Runtime = v
			case "tag":
				x.Match.Tags = append(x.Match.Tags, v)
			default:
				t.Fatalf("expected line %q: unknown key %q", l, k)
			}
		}
		out = append(out, x)
	}
	return out
}

func cellText(c Cell, suite bool) string {
	if c.Status == "" {
		if c.Missing {
			return "missing"
		}
		return "-"
	}
	s := fmt.Sprintf("%s x%d", c.Status, c.Count)
	if suite {
		s += fmt.Sprintf(" t%d f%d", c.Tests, c.Failing)
		if c.FlakyTests > 0 {
			s += fmt.Sprintf(" k%d", c.FlakyTests)
		}
		if c.Absent > 0 {
			s += fmt.Sprintf(" a%d", c.Absent)
		}
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{c.Flaky, "flaky"}, {c.Stale, "stale"}, {c.Missing, "missing"}, {c.Infra, "infra"}, {c.Vanished, "vanished"}} {
		if f.on {
			s += " " + f.name
		}
	}
	return s + fmt.Sprintf(" @%s %dh", c.ResultKey, c.Age/3600)
}

// renderMatrix writes a matrix as text: the columns, one a line (values,
// environments, expected and missing marks), then each row's cells, one a
// line: STATUS xCOUNT [tTESTS fFAILING kFLAKY aABSENT] [flags] @KEY AGEh.
func renderMatrix(m Matrix) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rows=%s axes=%s filter=%s\n", m.RowKind, strings.Join(m.Axes, ","), m.Filter)
	for i, c := range m.Columns {
		fmt.Fprintf(&b, "col %d %q envs=%d", i, c.Label, len(c.Envs))
		if len(c.Expected) > 0 {
			fmt.Fprintf(&b, " expected=%s", strings.Join(c.Expected, ","))
		}
		if c.Missing {
			fmt.Fprintf(&b, " MISSING (%s)", c.Reason)
		}
		b.WriteByte('\n')
	}
	for _, r := range m.Rows {
		name := r.Suite
		if m.RowKind == RowsTest {
			name += " :: " + r.Name
		}
		fmt.Fprintf(&b, "row %s\n", name)
		for i, c := range r.Cells {
			fmt.Fprintf(&b, "  %d: %s\n", i, cellText(c, m.RowKind == RowsSuite))
		}
	}
	return b.String()
}

// renderFlaky writes, for each selection, the ranking RankTests makes: a
// line per test (state, score, first and last flake, its environments by
// state f/b/n/h and r recovered, when it recovered), its combined signals,
// then a line per listed environment (its state, signals and flake span);
// then every state's assessment, a line each, with its flips.
func renderFlaky(t *testing.T, sels []string, envs []EnvInfo, states []TestState, opts FlakyOptions) string {
	var b strings.Builder
	for _, name := range sels {
		sel, err := ParseStateSelection(name)
		if err != nil {
			t.Fatalf("states: %v", err)
		}
		fmt.Fprintf(&b, "ranking state=%s\n", sel)
		for _, f := range RankTests(states, envs, opts, sel) {
			c := f.EnvStates
			fmt.Fprintf(&b, "%s :: %s %s score=%.3f first=%s last=%s envs=f%d b%d n%d h%d r%d", f.Suite, f.Name, f.State, f.Score,
				when(f.FirstFlake), when(f.LastFlake), c.Flaky, c.Broken, c.New, c.Healthy, c.Recovered)
			if !f.RecoveredSince.IsZero() {
				fmt.Fprintf(&b, " recovered_since=%s", when(f.RecoveredSince))
			}
			fmt.Fprintf(&b, "\n  overall flip=%.2f flips=%d retry=%d dis=%d n=%d: %s\n", f.FlipRate, f.Flips, f.RetryFlakes, f.Disagreements, f.Sample,
				strings.Join(f.Signals, "; "))
			for _, e := range f.Environments {
				a := e.Assessment
				fmt.Fprintf(&b, "  in %s/%s/%s %s %s first=%s last=%s", e.Env.Host, e.Env.Arch, e.Env.Runtime, e.Branch, a.State,
					when(a.FirstFlake), when(a.LastFlake))
				if len(a.Signals) > 0 {
					fmt.Fprintf(&b, ": %s", strings.Join(a.Signals, "; "))
				}
				b.WriteByte('\n')
			}
		}
	}
	byKey := map[string]Env{}
	for _, e := range envs {
		byKey[e.Key] = e.Env
	}
	fmt.Fprintf(&b, "assessments\n")
	for _, s := range states {
		a := Assess(s, opts)
		e := byKey[s.EnvKey]
		fmt.Fprintf(&b, "%s :: %s @%s/%s/%s %s: %s score=%.3f flip=%.2f retry=%d dis=%d n=%d clean=%d infra_excluded=%d", s.Suite, s.Name,
			e.Host, e.Arch, e.Runtime, s.Branch, a.State, a.Score, a.FlipRate, a.RetryFlakes, a.Disagreements, a.Sample, s.CleanRun, s.InfraExcluded)
		if a.Flips > 0 {
			fmt.Fprintf(&b, " flips=%d %s..%s", a.Flips, when(a.FirstFlip), when(a.LastFlip))
		}
		if a.Recovered {
			fmt.Fprintf(&b, " recovered_since=%s", when(a.RecoveredSince))
		}
		if len(a.Signals) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(a.Signals, "; "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func renderChanges(key string, c Changes) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s prev=%s", key, c.PreviousKey)
	if c.Infra {
		b.WriteString(" INFRA")
	}
	list := func(name string, refs []TestRef) {
		if len(refs) == 0 {
			return
		}
		fmt.Fprintf(&b, " %s=[", name)
		for i, r := range refs {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r.Suite + "::" + r.Name)
			if r.Was != "" || r.Status != "" {
				fmt.Fprintf(&b, "(%s>%s)", r.Was, r.Status)
			}
		}
		b.WriteByte(']')
	}
	list("failing", c.NewlyFailing)
	list("passing", c.NewlyPassing)
	list("flaky", c.NewlyFlaky)
	list("vanished", c.Vanished)
	list("new", c.New)
	return b.String()
}

func TestCases(t *testing.T) {
	for _, dir := range []string{"testdata/matrix", "testdata/flaky"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no cases in %s", dir)
		}
		for _, file := range files {
			t.Run(file, func(t *testing.T) { runCase(t, file) })
		}
	}
}

func runCase(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	comment, secs := splitTxtar(string(data))
	get := func(name string) (string, bool) {
		for _, s := range secs {
			if s.name == name {
				return s.body, true
			}
		}
		return "", false
	}
	qs, _ := get("query")
	q := parseQuery(t, qs)
	now, err := time.Parse(time.RFC3339, q["now"])
	if err != nil {
		t.Fatalf("query now: %v", err)
	}
	stale := 24 * time.Hour
	if v := q["stale"]; v != "" {
		if stale, err = time.ParseDuration(v); err != nil {
			t.Fatalf("query stale: %v", err)
		}
	}
	var fo FoldOptions
	if v := q["infra_min"]; v != "" {
		if fo.InfraMinTests, err = strconv.Atoi(v); err != nil {
			t.Fatalf("query infra_min: %v", err)
		}
	}
	xs, _ := get("expected")
	expected := parseExpected(t, xs)

	h := newHistory()
	bs, ok := get("bags")
	if !ok {
		t.Fatalf("%s: no bags section", file)
	}
	sc := bufio.NewScanner(strings.NewReader(bs))
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		var b pony.Bag
		if err := json.Unmarshal(l, &b); err != nil {
			t.Fatalf("%s: bags line %d: %v", file, line, err)
		}
		if b.Receipt == nil {
			t.Fatalf("%s: bags line %d: no receipt", file, line)
		}
		h.ingest(&b, fo)
	}

	states := SelectStates(h.stateList(), StateFilter{Branch: q["branch"]})
	envs := h.envInfos()
	got := map[string]string{}
	if _, ok := get("matrix"); ok {
		axes, err := ParseAxes(q["cols"])
		if err != nil {
			t.Fatalf("cols: %v", err)
		}
		m := BuildMatrix(states, envs, expected, MatrixOptions{Rows: q["rows"], Axes: axes, Filter: q["filter"], Now: now, StaleAfter: stale, Branch: q["branch"]})
		got["matrix"] = renderMatrix(m)
	}
	if _, ok := get("flaky"); ok {
		sels := strings.Fields(q["states"])
		if len(sels) == 0 {
			sels = []string{StateFlaky}
		}
		got["flaky"] = renderFlaky(t, sels, envs, states, FlakyOptions{})
	}
	if _, ok := get("changes"); ok {
		got["changes"] = strings.Join(h.changes, "\n") + "\n"
	}
	if *update {
		for i := range secs {
			if g, ok := got[secs[i].name]; ok {
				secs[i].body = g
			}
		}
		if err := os.WriteFile(file, []byte(joinTxtar(comment, secs)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for name, g := range got {
		want, _ := get(name)
		if g != want {
			t.Errorf("%s: section %s:\ngot:\n%s\nwant:\n%s", file, name, g, want)
		}
	}
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
