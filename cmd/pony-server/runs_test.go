package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

// postHeaders POSTs a JSON body with headers ("Name", "value" pairs) and
// returns the status and the body.
func postHeaders(t testing.TB, url string, body any, headers ...string) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, rb
}

// runSoFar is GET /api/v1/results/{key} of a run not complete.
type runSoFar struct {
	Steps    []pony.Step     `json:"results_list"`
	State    string          `json:"state"`
	Receipt  *pony.Receipt   `json:"receipt"`
	Progress json.RawMessage `json:"progress"`
}

const e2eRunToken = "e2e-client-token-0000000001"

// openE2ERun opens a run of bag's client_info with the idempotency key and
// sends bag's first step; it returns the result key.
func openE2ERun(t *testing.T, s *server, bag *pony.Bag, idem string) string {
	t.Helper()
	code, body := postHeaders(t, s.URL+"/api/v1/runs", map[string]any{"client_info": bag.ClientInfo, "update_token": e2eRunToken}, "Idempotency-Key", idem)
	if code != http.StatusCreated {
		t.Fatalf("open run: got %d %s, want 201", code, body)
	}
	var o struct {
		Key string `json:"result_key"`
	}
	if err := json.Unmarshal(body, &o); err != nil || o.Key == "" {
		t.Fatalf("open run: got %s (%v), want a result key", body, err)
	}
	code, body = postHeaders(t, s.URL+"/api/v1/runs/"+o.Key+"/steps", map[string]any{"seq": 0, "step": bag.Steps[0]}, "Pony-Update-Token", e2eRunToken)
	if code != http.StatusCreated {
		t.Fatalf("step 0: got %d %s, want 201", code, body)
	}
	return o.Key
}

// TestRunAbandonedThenDelivered: with a short --run-timeout, a run whose
// client goes silent is shown abandoned; the whole bag posted later to
// /api/v1/results with the run's Idempotency-Key completes it, under the
// same key, once.
func TestRunAbandonedThenDelivered(t *testing.T) {
	s := startServer(t, "--db", filepath.Join(t.TempDir(), "pony.db"), "--run-timeout", "2s")
	bag := &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "live", Host: "ci-1", Arch: "linux-amd64"},
		Steps:      []pony.Step{realStep(t, "gotest/everyday.json")},
	}
	bag.Steps[0].Name = "go test"
	key := openE2ERun(t, s, bag, "idem-abandoned")

	var got runSoFar
	getJSON(t, s.URL+"/api/v1/results/"+key, "", http.StatusOK, &got)
	if got.State != "running" || len(got.Steps) != 1 {
		t.Fatalf("run after a step: got state %q, %d steps; want running, 1", got.State, len(got.Steps))
	}
	deadline := time.Now().Add(60 * time.Second)
	for got.State != "abandoned" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, s.URL+"/api/v1/results/"+key, "", http.StatusOK, &got)
	}
	if got.State != "abandoned" || len(got.Steps) != 1 {
		t.Fatalf("silent run: got state %q, %d steps; want abandoned with its step\n%s", got.State, len(got.Steps), s.stderr)
	}
	var runs struct {
		Runs []struct {
			Key   string `json:"result_key"`
			State string `json:"state"`
		} `json:"runs"`
	}
	getJSON(t, s.URL+"/api/v1/packages/live/runs", "", http.StatusOK, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Key != key || runs.Runs[0].State != "abandoned" {
		t.Errorf("runs list: got %+v, want the abandoned run", runs.Runs)
	}

	code, body, err := postBag(context.Background(), s.URL, bag, "idem-abandoned", "")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("deliver the whole bag: got %d %s (%v), want 201", code, body, err)
	}
	if r := receiptOf(t, body); r.ResultKey != key {
		t.Errorf("delivered: got result key %s, want the run's %s", r.ResultKey, key)
	}
	code, body, err = postBag(context.Background(), s.URL, bag, "idem-abandoned", "")
	if err != nil || code != http.StatusOK {
		t.Errorf("deliver again: got %d %s (%v), want 200", code, body, err)
	}
	got = runSoFar{}
	getJSON(t, s.URL+"/api/v1/results/"+key, "", http.StatusOK, &got)
	if got.State != "" || got.Receipt == nil || got.Receipt.ResultKey != key || len(got.Steps) != 1 {
		t.Errorf("complete result: got state %q, receipt %+v; want a stored bag under %s", got.State, got.Receipt, key)
	}
	var page struct {
		Results []struct {
			Key string `json:"result_key"`
		} `json:"results"`
	}
	getJSON(t, s.URL+"/api/v1/packages/live/results", "", http.StatusOK, &page)
	if len(page.Results) != 1 {
		t.Errorf("results: got %d, want 1", len(page.Results))
	}
	getJSON(t, s.URL+"/api/v1/packages/live/runs", "", http.StatusOK, &runs)
	if len(runs.Runs) != 0 {
		t.Errorf("runs list after delivery: got %+v, want none", runs.Runs)
	}
	s.stop(t)
}

// TestRunStepSurvivesKill: a step the server acknowledged is there after a
// kill -9 and a restart on the same database.
func TestRunStepSurvivesKill(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pony.db")
	s := startServer(t, "--db", db)
	bag := &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "live", Host: "ci-1", Arch: "linux-amd64"},
		Steps:      []pony.Step{realStep(t, "gotest/everyday.json")},
	}
	key := openE2ERun(t, s, bag, "idem-kill")
	s.kill()
	s = startServer(t, "--db", db)
	var got runSoFar
	getJSON(t, s.URL+"/api/v1/results/"+key, "", http.StatusOK, &got)
	if got.State != "running" || len(got.Steps) != 1 || len(got.Steps[0].Tests) != len(bag.Steps[0].Tests) {
		t.Errorf("after kill -9: got state %q, %d steps; want running with its step of %d tests", got.State, len(got.Steps), len(bag.Steps[0].Tests))
	}
	// The client carries on: the next step, then finish with no steps (the
	// ones the run has).
	code, body := postHeaders(t, s.URL+"/api/v1/runs/"+key+"/steps", map[string]any{"seq": 1, "step": pony.Step{Type: "package", Name: "tar"}}, "Pony-Update-Token", e2eRunToken)
	if code != http.StatusCreated {
		t.Fatalf("step 1: got %d %s, want 201", code, body)
	}
	code, body = postHeaders(t, s.URL+"/api/v1/runs/"+key+"/finish", map[string]any{"client_info": bag.ClientInfo}, "Pony-Update-Token", e2eRunToken)
	if code != http.StatusCreated {
		t.Fatalf("finish: got %d %s, want 201", code, body)
	}
	got = runSoFar{}
	getJSON(t, s.URL+"/api/v1/results/"+key, "", http.StatusOK, &got)
	if got.State != "" || len(got.Steps) != 2 {
		t.Errorf("finished: got state %q, %d steps; want a stored bag of 2 steps", got.State, len(got.Steps))
	}
	s.stop(t)
}
