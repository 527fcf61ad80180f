package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pony-build/pony"
)

// seedBench stores results of a moderate package: suites × tests in envs
// environments, each test failing in one environment in seven, so that
// the matrix has every kind of cell. The scale figures of BENCHMARKS.md are
// measured elsewhere on the scale data set.
func seedBench(b *testing.B, suites, tests, envs int) *fixture {
	b.Helper()
	f := newFixture(b)
	for e := range envs {
		st := pony.Step{Type: "test", Name: "go test ./...", Format: "gotest"}
		for s := range suites {
			for t := range tests {
				status := pony.StatusPass
				if (s*tests+t+e)%7 == 0 {
					status = pony.StatusFail
				}
				st.Tests = append(st.Tests, pony.TestResult{Suite: fmt.Sprintf("example.com/mod/pkg%02d", s), Name: fmt.Sprintf("Test%03d", t), Status: status, Duration: 0.01 * float64(t%13)})
			}
		}
		ci := pony.ClientInfo{Package: "example.com/mod", Host: fmt.Sprintf("host-%02d", e), Arch: "linux-amd64", Runtime: fmt.Sprintf("go1.%d", 20+e%6), Branch: "main"}
		f.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{st}})
	}
	return f
}

// benchPage renders target through the whole handler stack, b.N times,
// reporting the page size as bytes per operation.
func benchPage(b *testing.B, f *fixture, target string) {
	b.Helper()
	rec := f.get(target)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: got %d, want 200\n%s", target, rec.Code, rec.Body.String())
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: got %d, want 200", target, rec.Code)
		}
	}
	b.ReportMetric(float64(rec.Body.Len()), "page-bytes")
}

// BenchmarkMatrixPage renders the test matrix (200 tests × 12
// environments) beside its baseline, the same matrix from the JSON API.
func BenchmarkMatrixPage(b *testing.B) {
	f := seedBench(b, 10, 20, 12)
	b.Run("html", func(b *testing.B) { benchPage(b, f, "/p/example.com%2Fmod/matrix?rows=test") })
	b.Run("json-baseline", func(b *testing.B) { benchPage(b, f, "/api/v1/packages/example.com%2Fmod/matrix?rows=test") })
}

// BenchmarkScoreboard renders "/" beside its baseline, GET
// /api/v1/packages.
func BenchmarkScoreboard(b *testing.B) {
	f := seedBench(b, 5, 20, 12)
	b.Run("html", func(b *testing.B) { benchPage(b, f, "/") })
	b.Run("json-baseline", func(b *testing.B) { benchPage(b, f, "/api/v1/packages") })
}
