package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Live reporting: a test command held in the middle of its run (a gated
// script) shows on the server as a running result with the steps done so
// far; once it ends the result is complete; a pony-report killed mid-run
// leaves a run the server closes as abandoned.

// runState GETs /api/v1/results/KEY of a run and returns its state field
// ("" for a complete result) and its bag's steps.
func runState(t testing.TB, srv *server, key string) (state string, steps []json.RawMessage) {
	t.Helper()
	var raw struct {
		State string            `json:"state"`
		Steps []json.RawMessage `json:"results_list"`
	}
	getJSON(t, srv.URL+"/api/v1/results/"+url.PathEscape(key), http.StatusOK, &raw)
	return raw.State, raw.Steps
}

// resultPage GETs the web page of a result.
func resultPage(t testing.TB, srv *server, key string) string {
	t.Helper()
	code, body, err := fetch(srv.URL + "/r/" + url.PathEscape(key))
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK {
		t.Fatalf("GET /r/%s: got %d, want 200:\n%s", key, code, body)
	}
	return string(body)
}

// TestLiveRunShowsRunning: while the test step runs, the server shows the
// run as running with the setup step done (API, runs list, web page) and
// the step's progress; after it ends the result is complete, with both
// steps, under the same key.
func TestLiveRunShowsRunning(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "")
	const pkg = "e2e-live"
	g := newGatedScript(t)
	run := startReport(t, invocation{args: []string{"run", "--server", srv.URL, "--package", pkg,
		"--spool-dir", t.TempDir(), "--setup", "echo setting up", "--", "sh", g.script}})
	r := waitForRun(t, srv, pkg, func(r liveRun) bool { return len(r.Bag.Steps) == 1 })
	if r.State != "running" {
		t.Errorf("runs list: got state %q, want running", r.State)
	}
	if s := r.Bag.Steps[0]; s.Type != "setup" || s.Status != 0 || !strings.Contains(s.Output, "setting up") {
		t.Errorf("got first step %s %q exit %d output %q, want the setup step, exit 0, its output", s.Type, s.Name, s.Status, s.Output)
	}
	state, steps := runState(t, srv, r.Key)
	if state != "running" || len(steps) != 1 {
		t.Errorf("GET /api/v1/results/%s: got state %q with %d steps, want running with 1", r.Key, state, len(steps))
	}
	if page := resultPage(t, srv, r.Key); !strings.Contains(page, " Running</strong>") {
		t.Errorf("the result page does not say Running:\n%s", page)
	}
	// The test step's progress: the test point printed before the gate.
	// pony-report reports progress every few seconds while a step runs.
	waitFor(t, 20*time.Second, "progress of the running step", func() (bool, string) {
		code, body, err := fetch(srv.URL + "/api/v1/results/" + url.PathEscape(r.Key))
		if err != nil || code != http.StatusOK {
			return false, string(body)
		}
		var got struct {
			State    string `json:"state"`
			Progress struct {
				Step  string `json:"step"`
				Tests int    `json:"tests"`
			} `json:"progress"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return false, err.Error()
		}
		return got.State == "running" && got.Progress.Tests == 1 && strings.Contains(got.Progress.Step, "slow.sh"), string(body)
	})
	select {
	case <-run.done:
		t.Fatalf("pony-report ended before the gate opened:\n%s", run.stderr)
	default:
	}

	g.open(t)
	rep := run.wait(t)
	if rep.code != 1 {
		t.Fatalf("pony-report exited %d, want the tests' 1:\n%s", rep.code, rep.stderr)
	}
	if key := onlyResult(t, srv, pkg); key != r.Key {
		t.Errorf("got result key %s, want the run's %s", key, r.Key)
	}
	raw, bag := storedBag(t, srv, r.Key)
	if _, ok := raw["state"]; ok {
		t.Errorf("the complete result has a state: %s", raw["state"])
	}
	if len(bag.Steps) != 2 {
		t.Fatalf("got %d steps, want 2 (setup and the tests)", len(bag.Steps))
	}
	if tot := bag.Steps[1].Totals(); tot.Tests != 2 || tot.Pass != 1 || tot.Fail != 1 {
		t.Errorf("got the test step's totals %+v, want 2 tests, 1 pass, 1 fail", tot)
	}
	if runs := packageRuns(t, srv, pkg); len(runs) != 0 {
		t.Errorf("got runs %+v still open, want none", runs)
	}
	if page := resultPage(t, srv, r.Key); strings.Contains(page, "Running</strong>") {
		t.Errorf("the complete result's page still says Running")
	}
	if n := srv.requests("POST", "/api/v1/runs/:key/finish"); n != 1 {
		t.Errorf("got %d finish requests, want 1", n)
	}
}

// TestLiveKilledClient: a pony-report killed with SIGKILL in the middle of
// its run leaves a run that the server (--run-timeout 2s) closes as
// abandoned: incomplete in the API, the runs list and the result page, and
// not a stored result.
func TestLiveKilledClient(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", "--run-timeout", "2s")
	const pkg = "e2e-killed"
	g := newGatedScript(t)
	run := startReport(t, invocation{args: []string{"run", "--server", srv.URL, "--package", pkg,
		"--spool-dir", t.TempDir(), "--setup", "echo setting up", "--", "sh", g.script}})
	r := waitForRun(t, srv, pkg, func(r liveRun) bool { return len(r.Bag.Steps) == 1 && r.State == "running" })
	if err := run.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-run.done

	a := waitForRun(t, srv, pkg, func(r liveRun) bool { return r.State == "abandoned" })
	if a.Key != r.Key || len(a.Bag.Steps) != 1 {
		t.Errorf("got abandoned run %s with %d steps, want %s with the setup step", a.Key, len(a.Bag.Steps), r.Key)
	}
	state, steps := runState(t, srv, r.Key)
	if state != "abandoned" || len(steps) != 1 {
		t.Errorf("GET /api/v1/results/%s: got state %q with %d steps, want abandoned with 1", r.Key, state, len(steps))
	}
	page := resultPage(t, srv, r.Key)
	if !strings.Contains(page, " Abandoned</strong>") || !strings.Contains(page, "shown as incomplete") {
		t.Errorf("the result page does not say Abandoned and incomplete:\n%s", page)
	}
	if strings.Contains(page, "Running</strong>") {
		t.Errorf("the abandoned run's page says Running")
	}
	if rs := results(t, srv, pkg); len(rs) != 0 {
		t.Errorf("got %d stored results, want none: an abandoned run is not a result", len(rs))
	}
}
