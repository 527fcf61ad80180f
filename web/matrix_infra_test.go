package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

// TestMatrixMarksInfraFailures: a verdict from an infrastructure failure
// (most of a result's tests failing at once) is marked in its cell with a
// visible ⚠, explained in the legend and the cell's title, not only in a
// tooltip.
func TestMatrixMarksInfraFailures(t *testing.T) {
	f := newFixture(t)
	tests := make([]pony.TestResult, 25)
	for i := range tests {
		tests[i] = pony.TestResult{Suite: "example.com/infra", Name: fmt.Sprintf("TestN%02d", i), Status: pony.StatusError, Message: "connection refused"}
	}
	f.ingest(&pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "infra", Host: "ci-1", Arch: "linux-amd64", Runtime: "go1.22", Branch: "main"},
		Steps:      []pony.Step{{Type: "test", Name: "go test", Format: "gotest", Status: 1, Tests: tests}},
	})
	w := f.get("/p/infra/matrix?rows=test")
	if w.Code != 200 {
		t.Fatalf("status %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	if !strings.Contains(body, "from an infrastructure failure (not scored)") {
		t.Error("the legend does not explain the infrastructure mark")
	}
	if n := strings.Count(body, "infrastructure failure: most tests of the result failed; not scored)\">"); n != 25 {
		t.Errorf("%d cells titled as infrastructure failures, want 25", n)
	}
	if n := strings.Count(body, "<b>⚠</b>"); n != 26 {
		t.Errorf("%d cells marked ⚠, want 25 and the legend's", n)
	}
}
