package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// TestMatrixQuietExpectedKeepsVerdicts: once an expected environment goes
// past its interval, its column is marked missing but its cells still show
// their last verdicts (faded, titled so), not a bare "?".
func TestMatrixQuietExpectedKeepsVerdicts(t *testing.T) {
	f := newFixture(t)
	f.ingest(&pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "quiet", Host: "nightly-1", Arch: "linux-amd64", Runtime: "go1.22", Branch: "main"},
		Steps: []pony.Step{{Type: "test", Name: "go test", Format: "gotest", Status: 1, Tests: []pony.TestResult{
			{Suite: "s", Name: "TestBroken", Status: pony.StatusFail, Message: "boom"},
			{Suite: "s", Name: "TestFine", Status: pony.StatusPass},
		}}},
	})
	err := f.svc.SetExpected(context.Background(), "quiet", []aggregator.ExpectedEnv{
		{Name: "nightly", Match: aggregator.Env{Host: "nightly-1"}, Interval: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(3 * time.Hour) // the nightly went quiet
	w := f.get("/p/quiet/matrix?rows=test")
	if w.Code != 200 {
		t.Fatalf("status %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<td class="F o"><a href="/r/`, // TestBroken: the failure, faded, linked
		`<td class="P o"><a href="/r/`, // TestFine
		"has not reported within its interval",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("matrix page lacks %q", want)
		}
	}
	if strings.Contains(body, `<td class="M"><i>?</i>`) {
		t.Error("a cell of the quiet environment is a bare ?")
	}
}
