package aggregator

import (
	"fmt"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// TestMergedColumnWorstWins: a column merging environments (two hosts on
// one runtime) shows the worst of their newest verdicts, however new a
// passing one is, says how many environments have a verdict and how many
// fail; a column of one environment says neither.
func TestMergedColumnWorstWins(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	env := func(host, rt string) EnvInfo {
		e := Env{Package: "p", Host: host, Arch: "amd64", Runtime: rt}
		return EnvInfo{Key: e.Key(), Env: e}
	}
	envs := []EnvInfo{env("h1", "go1.22"), env("h2", "go1.22"), env("h3", "go1.21")}
	st := func(e EnvInfo, name string, s pony.Status, at int, key string) TestState {
		return TestState{Package: "p", Suite: "s", Name: name, EnvKey: e.Key, Branch: "main", Status: s,
			Received: t0.Add(time.Duration(at) * time.Hour), ResultKey: key, Verdicts: 1}
	}
	states := []TestState{
		// h1 failed it (its newest), h2 passed it later: the go1.22 cell fails.
		st(envs[0], "TestA", pony.StatusPass, 0, "r1"),
		st(envs[0], "TestA", pony.StatusFail, 1, "r2"),
		st(envs[1], "TestA", pony.StatusPass, 2, "r3"),
		st(envs[2], "TestA", pony.StatusPass, 2, "r4"),
		// Both pass: the newer decides time and key.
		st(envs[0], "TestB", pony.StatusPass, 1, "r2"),
		st(envs[1], "TestB", pony.StatusPass, 2, "r3"),
	}
	// A state per (test, environment, branch) in the store; h1's older
	// TestA verdict is on another branch here, so that the newest one of
	// an environment is picked among its branches.
	states[0].Branch = "dev"
	axes, err := ParseAxes("runtime")
	if err != nil {
		t.Fatal(err)
	}
	m := BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsTest, Axes: axes, Now: t0.Add(3 * time.Hour)})
	if len(m.Columns) != 2 || m.Columns[1].Label != "go1.22" {
		t.Fatalf("columns %+v", m.Columns)
	}
	got := map[string]Cell{}
	for _, r := range m.Rows {
		got[r.Name+"@"+m.Columns[0].Label] = r.Cells[0]
		got[r.Name+"@"+m.Columns[1].Label] = r.Cells[1]
	}
	for k, want := range map[string]struct {
		status      pony.Status
		key         string
		envs, fails int
		count       int
	}{
		"TestA@go1.22": {pony.StatusFail, "r2", 2, 1, 3},
		"TestA@go1.21": {pony.StatusPass, "r4", 0, 0, 1},
		"TestB@go1.22": {pony.StatusPass, "r3", 2, 0, 2},
	} {
		c := got[k]
		if c.Status != want.status || c.ResultKey != want.key || c.Envs != want.envs || c.EnvsFailing != want.fails || c.Count != want.count {
			t.Errorf("%s: got %s @%s envs=%d failing=%d count=%d, want %s @%s envs=%d failing=%d count=%d", k,
				c.Status, c.ResultKey, c.Envs, c.EnvsFailing, c.Count, want.status, want.key, want.envs, want.fails, want.count)
		}
	}
}

// TestDiffersIgnoresInfra: a row failing only where an infrastructure
// failure happened is no compatibility break.
func TestDiffersIgnoresInfra(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	env := func(host string) EnvInfo {
		e := Env{Package: "p", Host: host, Arch: "amd64", Runtime: "go1.22"}
		return EnvInfo{Key: e.Key(), Env: e}
	}
	envs := []EnvInfo{env("a"), env("b")}
	st := func(e EnvInfo, name string, s pony.Status, infra bool) TestState {
		return TestState{Package: "p", Suite: "s", Name: name, EnvKey: e.Key, Branch: "main", Status: s, Infra: infra,
			Received: t0, ResultKey: "r-" + e.Env.Host, Verdicts: 1}
	}
	states := []TestState{
		st(envs[0], "TestInfra", pony.StatusError, true), st(envs[1], "TestInfra", pony.StatusPass, false),
		st(envs[0], "TestBreak", pony.StatusFail, false), st(envs[1], "TestBreak", pony.StatusPass, false),
	}
	axes, _ := ParseAxes("host")
	m := BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsTest, Axes: axes, Filter: FilterDiffers, Now: t0})
	if len(m.Rows) != 1 || m.Rows[0].Name != "TestBreak" {
		t.Errorf("differs: got %+v, want TestBreak alone", m.Rows)
	}
}

// TestMergedColumnInfraLoses: in a merged column, a verdict from an
// infrastructure failure loses to any other, so that one broken machine
// does not paint the column red nor hide another host's real failure.
func TestMergedColumnInfraLoses(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	env := func(host, rt string) EnvInfo {
		e := Env{Package: "p", Host: host, Arch: "amd64", Runtime: rt}
		return EnvInfo{Key: e.Key(), Env: e}
	}
	a, b, c := env("a", "go1.22"), env("b", "go1.22"), env("c", "go1.23")
	envs := []EnvInfo{a, b, c}
	st := func(e EnvInfo, name string, s pony.Status, infra bool, at int) TestState {
		return TestState{Package: "p", Suite: "s", Name: name, EnvKey: e.Key, Branch: "main", Status: s, Infra: infra,
			Received: t0.Add(time.Duration(at) * time.Minute), ResultKey: fmt.Sprintf("r-%s-%d", e.Env.Host, at), Verdicts: 1}
	}
	states := []TestState{
		st(a, "T0", pony.StatusFail, false, 1), st(b, "T0", pony.StatusError, true, 2), st(c, "T0", pony.StatusPass, false, 1),
		st(a, "T1", pony.StatusPass, false, 1), st(b, "T1", pony.StatusError, true, 2), st(c, "T1", pony.StatusPass, false, 1),
		st(b, "T2", pony.StatusError, true, 2), st(c, "T2", pony.StatusPass, false, 1),
	}
	axes, _ := ParseAxes("runtime")
	m := BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsTest, Axes: axes, Now: t0.Add(time.Hour)})
	col := -1
	for i, c := range m.Columns {
		if c.Label == "go1.22" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no go1.22 column in %+v", m.Columns)
	}
	got := map[string]Cell{}
	for _, r := range m.Rows {
		got[r.Name] = r.Cells[col]
	}
	for name, want := range map[string]struct {
		status pony.Status
		infra  bool
		fails  int
	}{
		"T0": {pony.StatusFail, false, 1}, // a's real failure, not b's infra error
		"T1": {pony.StatusPass, false, 0}, // a passes; b's infra error says nothing
		"T2": {pony.StatusError, true, 0}, // only b: its infra verdict, marked
	} {
		c := got[name]
		if c.Status != want.status || c.Infra != want.infra || c.EnvsFailing != want.fails {
			t.Errorf("%s on go1.22: got %s infra=%v failing=%d, want %s infra=%v failing=%d", name, c.Status, c.Infra, c.EnvsFailing, want.status, want.infra, want.fails)
		}
	}
	m = BuildMatrix(states, envs, nil, MatrixOptions{Rows: RowsTest, Axes: axes, Filter: FilterDiffers, Now: t0.Add(time.Hour)})
	if len(m.Rows) != 1 || m.Rows[0].Name != "T0" {
		t.Errorf("differs: got %d rows, want T0 alone", len(m.Rows))
	}
}
