package aggregator_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

func TestNewEnvAxes(t *testing.T) {
	ci := pony.ClientInfo{Package: "p", Host: "h", Arch: "a", Runtime: "go1.22", Tags: []string{"nightly"},
		Extra: map[string]json.RawMessage{
			"db":     json.RawMessage(`"pg 15"`),
			"shards": json.RawMessage(`4`),
			"blank":  json.RawMessage(`"  "`),
			"long":   json.RawMessage(`"` + strings.Repeat("x", 300) + `"`),
			"multi":  json.RawMessage(`"a\nb"`),
		}}
	plain := aggregator.NewEnv(ci)
	if !slices.Equal(plain.Tags, []string{"nightly"}) {
		t.Errorf("no axes: tags %q, want [nightly]", plain.Tags)
	}
	e := aggregator.NewEnv(ci, "db", "shards", "blank", "missing", "long", "multi")
	want := []string{"db=pg 15", "long=" + strings.Repeat("x", 200), "multi=a b", "nightly", "shards=4"}
	if !slices.Equal(e.Tags, want) {
		t.Errorf("axes: tags %q, want %q", e.Tags, want)
	}
	if e.Key() == plain.Key() {
		t.Error("an axis value does not change the environment's key")
	}
	if len(ci.Tags) != 1 {
		t.Errorf("NewEnv changed the client_info's tags: %q", ci.Tags)
	}
	other := ci
	other.Extra = map[string]json.RawMessage{"db": json.RawMessage(`"mysql"`)}
	if aggregator.NewEnv(other, "db").Key() == aggregator.NewEnv(ci, "db").Key() {
		t.Error("two db values are one environment")
	}
}

func TestParseAxisKeys(t *testing.T) {
	got, err := aggregator.ParseAxisKeys(" db, python ,,jdk.vendor")
	if err != nil || !slices.Equal(got, []string{"db", "python", "jdk.vendor"}) {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := aggregator.ParseAxisKeys(""); err != nil || got != nil {
		t.Errorf("empty: got %q, %v", got, err)
	}
	for in, want := range map[string]string{
		"host":                  "already part of every environment",
		"commit":                "changes with every build",
		"a=b":                   "want letters",
		"db,db":                 "named twice",
		strings.Repeat("k", 65): "at most 64 bytes",
		"a,b,c,d,e,f,g,h,i":     "over the limit of 8",
	} {
		if _, err := aggregator.ParseAxisKeys(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error saying %q", in, err, want)
		}
	}
}

// TestMatrixKeyAxisFromEnv: key:NAME reads the environment's own axis tag
// first, the latest result's client_info after.
func TestMatrixKeyAxisFromEnv(t *testing.T) {
	envs := []aggregator.EnvInfo{
		{Env: aggregator.Env{Package: "p", Host: "h", Tags: []string{"db=pg"}}, ClientInfo: pony.ClientInfo{Extra: map[string]json.RawMessage{"db": json.RawMessage(`"stale"`)}}},
		{Env: aggregator.Env{Package: "p", Host: "h2"}, ClientInfo: pony.ClientInfo{Extra: map[string]json.RawMessage{"db": json.RawMessage(`"mysql"`)}}},
	}
	for i := range envs {
		envs[i].Key = envs[i].Env.Key()
	}
	axes, err := aggregator.ParseAxes("key:db")
	if err != nil {
		t.Fatal(err)
	}
	m := aggregator.BuildMatrix(nil, envs, nil, aggregator.MatrixOptions{Axes: axes})
	var cols []string
	for _, c := range m.Columns {
		cols = append(cols, c.Label)
	}
	if want := []string{"mysql", "pg"}; !slices.Equal(cols, want) {
		t.Errorf("columns %q, want %q", cols, want)
	}
}
