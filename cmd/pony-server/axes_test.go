package main

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// TestAxes: with --axes db, two results from one host and runtime that
// differ in client_info's db are two environments (tagged db=pg and
// db=mysql), each with its own latest verdicts, and key:db is a matrix
// axis with a column each; without it they were one environment, and the
// newer result hid the other's failure.
func TestAxes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, "--db", filepath.Join(dir, "pony.db"), "--axes", "db, python")
	ctx := context.Background()
	send := func(db string, status pony.Status) {
		t.Helper()
		extra := map[string]json.RawMessage{"db": json.RawMessage(`"` + db + `"`)}
		bag := &pony.Bag{
			ClientInfo: pony.ClientInfo{Package: "axes", Host: "ci-1", Arch: "linux-amd64", Runtime: "go1.22", Branch: "main", Extra: extra},
			Steps: []pony.Step{{Type: "test", Name: "go test", Format: "gotest", Status: map[bool]int{true: 0, false: 1}[status == pony.StatusPass], Tests: []pony.TestResult{
				{Suite: "example.com/db", Name: "TestQuery", Status: status},
				{Suite: "example.com/db", Name: "TestOpen", Status: pony.StatusPass},
			}}},
		}
		code, body, err := postBag(ctx, srv.URL, bag, randomHex(16), "")
		if err != nil || code != 201 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	send("pg", pony.StatusFail)
	send("mysql", pony.StatusPass)

	var envs []string
	for _, ts := range tagsets(t, srv.URL, "axes") {
		envs = append(envs, strings.Join(ts.Env.Tags, ","))
	}
	slices.Sort(envs)
	if want := []string{"db=mysql", "db=pg"}; !slices.Equal(envs, want) {
		t.Errorf("environments' tags: got %q, want %q (one environment per db)", envs, want)
	}

	var m aggregator.Matrix
	getJSON(t, srv.URL+"/api/v1/packages/axes/matrix?rows=test&cols="+url.QueryEscape("key:db"), "", 200, &m)
	var cols []string
	for _, c := range m.Columns {
		cols = append(cols, c.Label)
	}
	if want := []string{"mysql", "pg"}; !slices.Equal(cols, want) {
		t.Fatalf("matrix columns: got %q, want %q", cols, want)
	}
	for _, r := range m.Rows {
		got := []string{string(r.Cells[0].Status), string(r.Cells[1].Status)}
		want := []string{"pass", "pass"}
		if r.Name == "TestQuery" {
			want = []string{"pass", "fail"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: cells %q, want %q", r.Name, got, want)
		}
	}

	// A bad --axes is refused at start, with the reason.
	if _, err := tryStartServer("--db", filepath.Join(dir, "other.db"), "--axes", "commit"); err == nil || !strings.Contains(err.Error(), "changes with every build") {
		t.Errorf("--axes commit: got %v, want a refusal naming the reason", err)
	}
}
