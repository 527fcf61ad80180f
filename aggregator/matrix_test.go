package aggregator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

func TestParseAxes(t *testing.T) {
	tests := []struct {
		cols, want, err string
	}{
		{"", "host,arch,runtime,tags", ""},
		{"runtime, arch", "runtime,arch", ""},
		{"tag:python*,key:os", "tag:python*,key:os", ""},
		{"package,tags", "package,tags", ""},
		{"runtime,runtime", "", "named twice"},
		{"os", "", `unknown axis "os"`},
		{"tag:", "", "needs a glob"},
		{"tag:[", "", "bad glob"},
		{"key:", "", "needs a client_info key"},
		{"arch:x", "", "takes no argument"},
		{"arch,,host", "", "empty axis"},
		{"host,arch,runtime,package,tags,tag:a,tag:b,key:c,key:d", "", "over the limit"},
	}
	for _, tt := range tests {
		axes, err := ParseAxes(tt.cols)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAxes(%q): got error %v, want one containing %q", tt.cols, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAxes(%q): got error %v, want none", tt.cols, err)
			continue
		}
		var got []string
		for _, a := range axes {
			got = append(got, a.String())
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("ParseAxes(%q): got %v, want %s", tt.cols, got, tt.want)
		}
	}
}

func TestClientInfoValue(t *testing.T) {
	var ci pony.ClientInfo
	if err := json.Unmarshal([]byte(`{"package":"p","host":"h","tags":["a","b"],"success":false,"duration":1.5,"os":"linux","cpus":8,"meta":{"k":1}}`), &ci); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"package": "p", "host": "h", "tags": "a,b", "success": "false", "duration": "1.5",
		"os": "linux", "cpus": "8", "meta": `{"k":1}`, "absent": "", "commit": ""} {
		if got := clientInfoValue(&ci, name); got != want {
			t.Errorf("clientInfoValue(%q): got %q, want %q", name, got, want)
		}
	}
}

// genStates returns rows×cols states over cols environments: 1,000 tests
// in 50 suites across 24 environments for the benchmark.
func genStates(rows, cols int) ([]TestState, []EnvInfo) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	envs := make([]EnvInfo, cols)
	for c := range envs {
		e := Env{Package: "p", Host: fmt.Sprintf("host%d", c%4), Arch: []string{"amd64", "arm64"}[c%2], Runtime: fmt.Sprintf("go1.%d", 10+c/4)}
		envs[c] = EnvInfo{Key: e.Key(), Env: e, LastReceived: t0}
	}
	states := make([]TestState, 0, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			st := pony.StatusPass
			if (r+c)%17 == 0 {
				st = pony.StatusFail
			}
			states = append(states, TestState{Package: "p", Suite: fmt.Sprintf("pkg/s%d", r%50), Name: fmt.Sprintf("Test%d", r),
				EnvKey: envs[c].Key, Branch: "main", Status: st, ResultKey: fmt.Sprintf("r%d", c), Received: t0.Add(time.Duration(r) * time.Second),
				Verdicts: 30, History: uint64(r * c), HistoryLen: 30, CleanRun: r % 12})
		}
	}
	return states, envs
}

func TestBuildMatrixShape(t *testing.T) {
	states, envs := genStates(100, 24)
	axes, _ := ParseAxes("runtime,arch,host")
	now := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	m := BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsTest, Axes: axes, Now: now})
	if len(m.Rows) != 100 || len(m.Columns) != 24 {
		t.Fatalf("got %d rows × %d columns, want 100 × 24", len(m.Rows), len(m.Columns))
	}
	for _, r := range m.Rows {
		if len(r.Cells) != 24 {
			t.Fatalf("row %s: got %d cells, want 24", r.Name, len(r.Cells))
		}
	}
	if m.Rows[0].Name != "Test0" || m.Rows[1].Name != "Test50" {
		t.Errorf("got first rows %s, %s, want Test0, Test50 (suite pkg/s0)", m.Rows[0].Name, m.Rows[1].Name)
	}
	if got := m.Columns[0].Label; got != "go1.10 / amd64 / host0" {
		t.Errorf("got first column %q, want go1.10 / amd64 / host0", got)
	}
	s := BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsSuite, Axes: axes, Now: now})
	if len(s.Rows) != 50 || s.Rows[0].Cells[0].Tests != 2 {
		t.Errorf("got %d suite rows, first cell %d tests, want 50 rows, 2 tests", len(s.Rows), s.Rows[0].Cells[0].Tests)
	}
}

// BenchmarkBuildMatrix lays out 1,000 tests × 24 environments (24,000
// states). BenchmarkCopyStates is its baseline: one pass copying the same
// states, the least any layout must do.
func BenchmarkBuildMatrix(b *testing.B) {
	states, envs := genStates(1000, 24)
	axes, _ := ParseAxes("runtime,arch,host")
	now := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	size := int64(len(states)) * int64(len(states[0].Suite)+len(states[0].Name)+len(states[0].EnvKey)+64)
	for _, rows := range []string{RowsTest, RowsSuite} {
		b.Run(rows, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				BuildMatrix(states, envs, nil, MatrixOptions{Rows: rows, Axes: axes, Now: now, StaleAfter: time.Hour})
			}
		})
	}
	b.Run("CopyStates", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			out := make([]TestState, len(states))
			copy(out, states)
		}
	})
}

// BenchmarkRankFlaky assesses 24,000 states; BenchmarkAssessOnly is its
// baseline without grouping, ranking or signal text.
func BenchmarkRankFlaky(b *testing.B) {
	states, envs := genStates(1000, 24)
	size := int64(len(states)) * 64
	b.Run("RankFlaky", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			RankFlaky(states, envs, FlakyOptions{})
		}
	})
	b.Run("AssessOnly", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		o := FlakyOptions{}.WithDefaults()
		for b.Loop() {
			for i := range states {
				assess(&states[i], o, false)
			}
		}
	})
}
