package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/httpapi"
)

const runToken = "client-chosen-token-0001"

// openRun opens a run of bag with the idempotency key and the client's
// token, failing unless 201; it returns the result key.
func (f *fixture) openRun(bag *pony.Bag, idem string, header ...string) string {
	f.t.Helper()
	r := f.post("/api/v1/runs", runBody(f.t, bag, runToken), append(header, "Idempotency-Key: "+idem)...)
	if r.Code != http.StatusCreated {
		f.t.Fatalf("open run: got %d %s, want 201", r.Code, clipBody(r.Body))
	}
	var o aggregator.OpenedRun
	r.json(f.t, &o)
	return o.ResultKey
}

// runBody is bag's JSON with an update_token when token is not empty.
func runBody(t testing.TB, bag *pony.Bag, token string) []byte {
	t.Helper()
	b, err := json.Marshal(bag)
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		return b
	}
	return []byte(fmt.Sprintf(`{"update_token":%q,%s`, token, b[1:]))
}

func stepJSON(t testing.TB, seq int, st pony.Step) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"seq": seq, "step": st})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunsWire(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	whole := sampleBag("p", "h")
	opening := &pony.Bag{ClientInfo: whole.ClientInfo}
	build := pony.Step{Type: "build", Name: "make", Status: 0}
	tok := "Pony-Update-Token: " + runToken

	var key string
	{
		r := f.post("/api/v1/runs", runBody(t, opening, runToken), "Idempotency-Key: idem-1")
		if r.Code != http.StatusCreated {
			t.Fatalf("open: got %d %s, want 201", r.Code, r.Body)
		}
		var o aggregator.OpenedRun
		r.json(t, &o)
		if o.ResultKey == "" || o.UpdateToken != runToken || o.State != aggregator.RunRunning {
			t.Fatalf("open: got %+v, want a key, the client's token, running", o)
		}
		key = o.ResultKey
		again := f.post("/api/v1/runs", runBody(t, opening, runToken), "Idempotency-Key: idem-1")
		if again.Code != http.StatusOK || string(again.Body) != string(r.Body) {
			t.Errorf("open repeat: got %d %s, want 200 %s", again.Code, again.Body, r.Body)
		}
	}
	// A server-made token is long and secret.
	{
		r := f.post("/api/v1/runs", runBody(t, opening, ""), "Idempotency-Key: idem-2")
		var o aggregator.OpenedRun
		r.json(t, &o)
		if r.Code != http.StatusCreated || len(o.UpdateToken) < 32 {
			t.Errorf("open without a token: got %d %+v, want 201 with a server-made token", r.Code, o)
		}
	}

	base := "/api/v1/runs/" + key
	cases := []struct {
		name       string
		path, body string
		header     []string
		wantCode   int
		wantInBody string
	}{
		{"open again, another token", "/api/v1/runs", string(runBody(t, opening, "another-token-00000001")), []string{"Idempotency-Key: idem-1"}, http.StatusConflict, "update token"},
		{"open again, no token", "/api/v1/runs", string(runBody(t, opening, "")), []string{"Idempotency-Key: idem-1"}, http.StatusConflict, "update token"},
		{"open without Idempotency-Key", "/api/v1/runs", string(runBody(t, opening, runToken)), nil, http.StatusBadRequest, "Idempotency-Key"},
		{"open with a short token", "/api/v1/runs", string(runBody(t, opening, "short")), []string{"Idempotency-Key: idem-3"}, http.StatusBadRequest, "update_token"},
		{"open without package", "/api/v1/runs", `{"client_info":{}}`, []string{"Idempotency-Key: idem-4"}, http.StatusBadRequest, "package"},
		{"step 0", base + "/steps", string(stepJSON(t, 0, build)), []string{tok}, http.StatusCreated, `{"next":1}`},
		{"step 0 replayed", base + "/steps", string(stepJSON(t, 0, build)), []string{tok}, http.StatusOK, `{"next":1}`},
		{"step 2: a gap", base + "/steps", string(stepJSON(t, 2, build)), []string{tok}, http.StatusConflict, `"detail":{"next":1}`},
		{"step without update token", base + "/steps", string(stepJSON(t, 1, build)), nil, http.StatusUnauthorized, "update token"},
		{"step with a wrong update token", base + "/steps", string(stepJSON(t, 1, build)), []string{"Pony-Update-Token: wrong-token-000000000"}, http.StatusUnauthorized, "update token"},
		{"step of an unknown run", "/api/v1/runs/nope/steps", string(stepJSON(t, 0, build)), []string{tok}, http.StatusNotFound, "nope"},
		{"step without seq", base + "/steps", `{"step":{"name":"x"}}`, []string{tok}, http.StatusBadRequest, "seq"},
		{"step with a bad status", base + "/steps", `{"seq":1,"step":{"name":"x","tests":[{"name":"T","status":"bogus"}]}}`, []string{tok}, http.StatusBadRequest, "unknown test status"},
		{"step with a name over its cap", base + "/steps", string(stepJSON(t, 1, pony.Step{Name: strings.Repeat("n", 2000)})), []string{tok}, http.StatusRequestEntityTooLarge, "step.name"},
		{"step 1", base + "/steps", string(stepJSON(t, 1, whole.Steps[0])), []string{tok}, http.StatusCreated, `{"next":2}`},
		{"progress", base + "/progress", `{"step":"go test","tests":120,"failed":2,"elapsed":31.5}`, []string{tok}, http.StatusNoContent, ""},
		{"progress without update token", base + "/progress", `{"tests":1}`, nil, http.StatusUnauthorized, "update token"},
		{"progress of an unknown run", "/api/v1/runs/nope/progress", `{"tests":1}`, []string{tok}, http.StatusNotFound, ""},
		{"finish without update token", base + "/finish", `{"client_info":{"package":"p"}}`, nil, http.StatusUnauthorized, "update token"},
		{"finish of an unknown run", "/api/v1/runs/nope/finish", `{"client_info":{"package":"p"}}`, []string{tok}, http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		r := f.post(tc.path, []byte(tc.body), tc.header...)
		if r.Code != tc.wantCode || !strings.Contains(string(r.Body), tc.wantInBody) {
			t.Errorf("%s: got %d %s, want %d with %q", tc.name, r.Code, clipBody(r.Body), tc.wantCode, tc.wantInBody)
		}
	}

	// The run as a result so far: the bag, its state and progress.
	var sofar struct {
		ClientInfo pony.ClientInfo         `json:"client_info"`
		Steps      []pony.Step             `json:"results_list"`
		State      aggregator.RunState     `json:"state"`
		Progress   *aggregator.RunProgress `json:"progress"`
	}
	r := f.get("/api/v1/results/" + key)
	if r.Code != http.StatusOK {
		t.Fatalf("GET running result: got %d %s, want 200", r.Code, r.Body)
	}
	r.json(t, &sofar)
	if sofar.State != aggregator.RunRunning || len(sofar.Steps) != 2 || sofar.Steps[1].Name != "go test ./..." ||
		sofar.Progress == nil || sofar.Progress.Tests != 120 || sofar.ClientInfo.Package != "p" {
		t.Errorf("GET running result: got %s, want running, 2 steps, progress of 120 tests", clipBody(r.Body))
	}
	var list struct {
		Runs []aggregator.Run `json:"runs"`
	}
	r = f.get("/api/v1/packages/p/runs")
	r.json(t, &list)
	if r.Code != http.StatusOK || len(list.Runs) != 2 || list.Runs[1].Key != key && list.Runs[0].Key != key {
		t.Errorf("runs list: got %d %s, want both runs", r.Code, clipBody(r.Body))
	}

	// Finish with the whole bag (an empty results_list would mean the steps
	// it has).
	fin := runBody(t, whole, "")
	r = f.post(base+"/finish", fin, tok)
	if r.Code != http.StatusCreated {
		t.Fatalf("finish: got %d %s, want 201", r.Code, r.Body)
	}
	var first struct {
		Receipt pony.Receipt `json:"receipt"`
	}
	r.json(t, &first)
	if first.Receipt.ResultKey != key {
		t.Errorf("finish: got result key %s, want the run's %s", first.Receipt.ResultKey, key)
	}
	r = f.post(base+"/finish", fin, tok)
	if r.Code != http.StatusOK || !strings.Contains(string(r.Body), key) {
		t.Errorf("finish repeat: got %d %s, want 200 with the same receipt", r.Code, r.Body)
	}
	for _, p := range []string{"/steps", "/progress"} {
		body := `{"tests":1}`
		if p == "/steps" {
			body = string(stepJSON(t, 2, build))
		}
		if r := f.post(base+p, []byte(body), tok); r.Code != http.StatusConflict {
			t.Errorf("%s after finish: got %d %s, want 409", p, r.Code, r.Body)
		}
	}
	// Complete: the ordinary bag, no state added.
	r = f.get("/api/v1/results/" + key)
	var stored map[string]json.RawMessage
	r.json(t, &stored)
	if _, ok := stored["state"]; ok || r.Code != http.StatusOK || stored["receipt"] == nil {
		t.Errorf("GET complete result: got %d %s, want the stored bag, without state", r.Code, clipBody(r.Body))
	}
	r = f.get("/api/v1/packages/p/runs")
	r.json(t, &list)
	if len(list.Runs) != 1 || list.Runs[0].Key == key {
		t.Errorf("runs list after finish: got %s, want only the other run", clipBody(r.Body))
	}
	if r := f.get("/api/v1/results/nope"); r.Code != http.StatusNotFound || !strings.Contains(r.errorText(t), "no result") {
		t.Errorf("GET unknown: got %d %s, want 404 no result", r.Code, r.Body)
	}
}

// TestRunFinishEmptyStepsMeansStored: a finish whose results_list is empty
// stores the steps the run received, with the final client_info.
func TestRunFinishEmptyStepsMeansStored(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	whole := sampleBag("p", "h")
	key := f.openRun(&pony.Bag{ClientInfo: whole.ClientInfo}, "idem")
	tok := "Pony-Update-Token: " + runToken
	if r := f.post("/api/v1/runs/"+key+"/steps", stepJSON(t, 0, whole.Steps[0]), tok); r.Code != http.StatusCreated {
		t.Fatalf("step: got %d %s", r.Code, r.Body)
	}
	ci := whole.ClientInfo
	ci.Commit = "final"
	if r := f.post("/api/v1/runs/"+key+"/finish", runBody(t, &pony.Bag{ClientInfo: ci}, ""), tok); r.Code != http.StatusCreated {
		t.Fatalf("finish: got %d %s", r.Code, r.Body)
	}
	bag, err := f.svc.Result(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(bag.Steps) != 1 || len(bag.Steps[0].Tests) != 2 || bag.ClientInfo.Commit != "final" {
		t.Errorf("stored: got %d steps, commit %q; want the run's step and commit final", len(bag.Steps), bag.ClientInfo.Commit)
	}
}

// TestResultsCompletesRun: POST /api/v1/results with the Idempotency-Key
// of a run not complete completes that run: the same result key, one
// result, its tests folded once; a repeat is a replay.
func TestResultsCompletesRun(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	whole := sampleBag("p", "h")
	key := f.openRun(&pony.Bag{ClientInfo: whole.ClientInfo}, "spooled-1")
	if r := f.post("/api/v1/runs/"+key+"/steps", stepJSON(t, 0, whole.Steps[0]), "Pony-Update-Token: "+runToken); r.Code != http.StatusCreated {
		t.Fatalf("step: got %d %s", r.Code, r.Body)
	}
	rec := f.postBag(whole, "Idempotency-Key: spooled-1")
	if rec.ResultKey != key {
		t.Fatalf("POST results: got result key %s, want the run's %s", rec.ResultKey, key)
	}
	b, _ := json.Marshal(whole)
	r := f.post("/api/v1/results", b, "Idempotency-Key: spooled-1")
	if r.Code != http.StatusOK || !strings.Contains(string(r.Body), key) {
		t.Errorf("POST results again: got %d %s, want 200 with %s", r.Code, r.Body, key)
	}
	// The run's finish after that is a replay too.
	r = f.post("/api/v1/runs/"+key+"/finish", b, "Pony-Update-Token: "+runToken)
	if r.Code != http.StatusOK || !strings.Contains(string(r.Body), key) {
		t.Errorf("finish after results: got %d %s, want 200 with %s", r.Code, r.Body, key)
	}
	page, err := f.svc.Results(ctx, aggregator.ResultFilter{Package: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 || page.Results[0].Key != key || page.Results[0].Totals.Tests != 2 {
		t.Errorf("results: got %+v, want one result %s of 2 tests", page.Results, key)
	}
	m, err := f.svc.Matrix(ctx, "p", aggregator.MatrixQuery{Rows: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 2 {
		t.Fatalf("matrix: got %d rows, want 2", len(m.Rows))
	}
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			if c.Count != 1 || c.ResultKey != key {
				t.Errorf("matrix %s: got count %d of %s, want 1 verdict of %s", row.Name, c.Count, c.ResultKey, key)
			}
		}
	}
}

func TestRunsAuthAndCaps(t *testing.T) {
	f := newFixture(t, fixtureOpts{http: httpapi.Options{MaxBody: 4096}})
	write := f.token("p", aggregator.ScopeWrite)
	other := f.token("q", aggregator.ScopeWrite)
	whole := sampleBag("p", "h")
	opening := runBody(t, &pony.Bag{ClientInfo: whole.ClientInfo}, runToken)
	if r := f.post("/api/v1/runs", opening, "Idempotency-Key: k"); r.Code != http.StatusUnauthorized {
		t.Errorf("open without a bearer token: got %d %s, want 401", r.Code, r.Body)
	}
	if r := f.post("/api/v1/runs", opening, "Idempotency-Key: k", other); r.Code != http.StatusForbidden {
		t.Errorf("open with another package's token: got %d %s, want 403", r.Code, r.Body)
	}
	key := f.openRun(&pony.Bag{ClientInfo: whole.ClientInfo}, "k", write)
	tok := "Pony-Update-Token: " + runToken
	step := stepJSON(t, 0, pony.Step{Name: "s"})
	if r := f.post("/api/v1/runs/"+key+"/steps", step, tok); r.Code != http.StatusUnauthorized {
		t.Errorf("step without a bearer token: got %d %s, want 401", r.Code, r.Body)
	}
	if r := f.post("/api/v1/runs/"+key+"/steps", step, tok, other); r.Code != http.StatusForbidden {
		t.Errorf("step with another package's token: got %d %s, want 403", r.Code, r.Body)
	}
	big := stepJSON(t, 0, pony.Step{Name: "s", Output: strings.Repeat("x", 5000)})
	if r := f.post("/api/v1/runs/"+key+"/steps", big, tok, write); r.Code != http.StatusRequestEntityTooLarge || !strings.Contains(r.errorText(t), "4 KiB") {
		t.Errorf("a step over the body cap: got %d %s, want 413 naming the limit", r.Code, r.Body)
	}
	if r := f.post("/api/v1/runs/"+key+"/steps", step, tok, write); r.Code != http.StatusCreated {
		t.Errorf("step: got %d %s, want 201", r.Code, r.Body)
	}
	if r := f.get("/api/v1/packages/p/runs"); r.Code != http.StatusOK {
		t.Errorf("runs list (public reads): got %d %s, want 200", r.Code, r.Body)
	}
}

// TestRunAbandonedShown: a run silent for RunTimeout is reaped as
// abandoned, shown so, and revived by a step.
func TestRunAbandonedShown(t *testing.T) {
	f := newFixture(t, fixtureOpts{svc: aggregator.Options{RunTimeout: time.Minute}})
	whole := sampleBag("p", "h")
	key := f.openRun(&pony.Bag{ClientInfo: whole.ClientInfo}, "k")
	*f.now = f.now.Add(2 * time.Minute)
	if n, err := f.svc.ReapRuns(context.Background()); err != nil || n != 1 {
		t.Fatalf("ReapRuns: got %d, %v; want 1", n, err)
	}
	if r := f.get("/api/v1/results/" + key); !strings.Contains(string(r.Body), `"state":"abandoned"`) {
		t.Errorf("GET: got %d %s, want state abandoned", r.Code, r.Body)
	}
	if r := f.post("/api/v1/runs/"+key+"/progress", []byte(`{"tests":3}`), "Pony-Update-Token: "+runToken); r.Code != http.StatusNoContent {
		t.Fatalf("progress: got %d %s", r.Code, r.Body)
	}
	if r := f.get("/api/v1/results/" + key); !strings.Contains(string(r.Body), `"state":"running"`) {
		t.Errorf("GET after progress: got %d %s, want state running", r.Code, r.Body)
	}
}
