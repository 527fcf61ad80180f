package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/reporters"
	"github.com/pony-build/pony/web"
)

// The web render benchmark's data set: one package of webTests tests in
// webEnvs environments (6 hosts × 4 runtimes), webRuns results each, and
// webSmallPkgs other packages of 4 environments each for the scoreboard.
const (
	webTests     = 1000
	webEnvs      = 24
	webRuns      = 3
	webSmallPkgs = 50
)

// seedWeb stores the render benchmark's data set through Service.Ingest,
// in-process. The big package's verdicts vary by environment and run (a
// test fails where (test+env+run) % 17 == 0, besides benchgen's own
// failures), and every 23rd test of an environment is a retry flake
// (failed, then passed on the rerun), so that the matrix holds passes,
// failures, flaky and missing cells and the flaky page has a ranking.
func seedWeb(b *testing.B, svc *aggregator.Service) {
	ctx := context.Background()
	var report bytes.Buffer
	if err := benchgen.Generate("gotest", &report, webTests); err != nil {
		b.Fatal(err)
	}
	step, err := reporters.Parse(ctx, "gotest", &report, reporters.Options{File: "bench.json"})
	if err != nil {
		b.Fatal(err)
	}
	for run := range webRuns {
		for e := range webEnvs {
			st := *step
			st.Tests = make([]pony.TestResult, 0, len(step.Tests))
			for i, tr := range step.Tests {
				switch {
				case (i+e+run)%17 == 0:
					tr.Status, tr.Message = pony.StatusFail, "flipped by the benchmark's seed"
				case (i+e)%97 == 5 && run == webRuns-1:
					continue // missing in the newest run of some environments
				}
				tr.Output = ""
				if (i+e)%23 == 0 && tr.Status == pony.StatusPass {
					// A retry flake: failed once, passed on the rerun.
					first := tr
					first.Attempt, first.Status, first.Message = 1, pony.StatusFail, "failed once, passed on the rerun"
					st.Tests = append(st.Tests, first)
					tr.Attempt = 2
				}
				st.Tests = append(st.Tests, tr)
			}
			bag := &pony.Bag{
				ClientInfo: pony.ClientInfo{Package: "scale", Host: fmt.Sprintf("host-%d", e%6), Arch: "linux-amd64", Runtime: fmt.Sprintf("go1.%d", 22+e/6), Commit: fmt.Sprintf("c%d", run)},
				Steps:      []pony.Step{st},
			}
			if _, err := svc.Ingest(ctx, bag, aggregator.IngestOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	small := realStep(b, "gotest/real_shlex.json")
	for p := range webSmallPkgs {
		for e := range 4 {
			bag := &pony.Bag{
				ClientInfo: pony.ClientInfo{Package: fmt.Sprintf("pkg-%02d", p), Host: fmt.Sprintf("host-%d", e), Arch: "linux-amd64", Runtime: "go1.26"},
				Steps:      []pony.Step{small},
			}
			if _, err := svc.Ingest(ctx, bag, aggregator.IngestOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWebRender measures the server-side render time of the web
// pages on SQLite: the handler of pony-server's engine (API and pages, as
// cmd/pony-server wires them) called in-process with httptest, so what is
// timed is routing, the Service's queries and the template, not the
// network. The baseline, in the same run, is the JSON API's matrix of the
// same package (the same Service call, rendered as JSON). Run it with
// -benchtime=50x for p50/p99 over 50 requests.
func BenchmarkWebRender(b *testing.B) {
	ctx := context.Background()
	st, err := gormstore.Open(ctx, filepath.Join(b.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := aggregator.New(st, aggregator.Options{StaleAfter: 100 * 365 * 24 * time.Hour})
	t0 := time.Now()
	seedWeb(b, svc)
	b.Logf("seeded %d results of %d tests in %d environments, and %d small packages, in %v", webEnvs*webRuns, webTests, webEnvs, webSmallPkgs, time.Since(t0).Round(time.Millisecond))
	pages, err := web.New(svc, web.Options{Logger: discardLogger, BaseURL: "http://bench.example"})
	if err != nil {
		b.Fatal(err)
	}
	h := httpapi.New(svc, httpapi.Options{Logger: discardLogger, Mount: pages.Register}).Handler()

	for _, q := range []struct{ name, path string }{
		{"api-matrix-tests", "/api/v1/packages/scale/matrix?rows=test"},
		{"web-matrix-tests", "/p/scale/matrix?rows=test"},
		{"api-matrix-suites", "/api/v1/packages/scale/matrix"},
		{"web-matrix-suites", "/p/scale/matrix"},
		{"web-scoreboard", "/"},
		{"web-package", "/p/scale"},
		{"web-flaky", "/p/scale/flaky"},
	} {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, q.path, nil))
				lat = append(lat, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: got %d, want 200: %.300s", q.path, w.Code, w.Body.String())
				}
				size = w.Body.Len()
			}
			b.StopTimer()
			if q.name == "web-flaky" && size < 10<<10 {
				b.Fatalf("GET %s: got a %d-byte page, want the ranking of the seeded retry flakes", q.path, size)
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(size)/1024, "KiB/page")
			reportLatency(b, lat)
		})
	}
}
