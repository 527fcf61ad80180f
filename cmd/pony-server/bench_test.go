package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters"
)

// benchTests is the size of the ingest benchmark's bag (the figure).
const benchTests = 50_000

// benchDB is a database the benchmarks run on.
type benchDB struct {
	name string
	dsn  func(b *testing.B) string // a fresh, empty database
}

// benchDBs are SQLite, and PostgreSQL when PONY_TEST_POSTGRES_DSN is set.
func benchDBs() []benchDB {
	return []benchDB{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "pony.db") }},
		{"postgres", func(b *testing.B) string { return testenv.FreshPostgres(b) }},
	}
}

// bigBag is a bag of one step with n generated go test results (a tenth
// failing, with output kept), as pony-report would send it.
func bigBag(b *testing.B, n int) []byte {
	var report bytes.Buffer
	if err := benchgen.Generate("gotest", &report, n); err != nil {
		b.Fatal(err)
	}
	step, err := reporters.Parse(context.Background(), "gotest", &report, reporters.Options{File: "bench.json"})
	if err != nil {
		b.Fatal(err)
	}
	bag := pony.Bag{ClientInfo: pony.ClientInfo{Package: "bench", Host: "bench-host", Arch: "linux-amd64", Runtime: "go1.26", Tags: []string{"bench"}}, Steps: []pony.Step{*step}}
	body, err := json.Marshal(&bag)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkIngest posts a bag of 50,000 tests to a running pony-server (the
// real binary) over loopback HTTP, one request at a time: tests/s and the
// request latency. Its baseline, the raw bulk insert of the same rows
// through the same driver without GORM, is aggregator/gormstore's
// BenchmarkRawInsert, run in the same `go test` (scripts/bench-ingest.sh).
func BenchmarkIngest(b *testing.B) {
	body := bigBag(b, benchTests)
	var tests int
	{
		var bag pony.Bag
		json.Unmarshal(body, &bag)
		tests = len(bag.Steps[0].Tests)
	}
	for _, db := range benchDBs() {
		b.Run(db.name, func(b *testing.B) {
			srv := startServer(b, "--db", db.dsn(b))
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				code, resp, err := post(ctx, srv.URL+"/api/v1/results", "application/json", body, "", "")
				lat = append(lat, time.Since(t0))
				if err != nil || code != 201 {
					b.Fatalf("got %d %.300s (%v), want 201", code, resp, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(tests*b.N)/b.Elapsed().Seconds(), "tests/s")
			reportLatency(b, lat)
			srv.stop(b)
		})
	}
}

// BenchmarkIngestService stores the same bag through Service.Ingest
// in-process, without HTTP: what BenchmarkIngest adds on top of it is the
// HTTP server's share (reading and decoding the body, auth, the answer).
func BenchmarkIngestService(b *testing.B) {
	body := bigBag(b, benchTests)
	for _, db := range benchDBs() {
		b.Run(db.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := gormstore.Open(ctx, db.dsn(b), gormstore.Options{Migrate: true, Logger: discardLogger})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := aggregator.New(st, aggregator.Options{})
			var tests int
			lat := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				var bag pony.Bag
				if err := json.Unmarshal(body, &bag); err != nil {
					b.Fatal(err)
				}
				tests = len(bag.Steps[0].Tests)
				if _, err := svc.Ingest(ctx, &bag, aggregator.IngestOptions{}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64(tests*b.N)/b.Elapsed().Seconds(), "tests/s")
			reportLatency(b, lat)
		})
	}
}

// reportLatency adds the p50 and p99 (the max below 100 samples) in ms.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := min(int(float64(len(lat))*p), len(lat)-1)
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the latencies say it better
}

// resultsStored is how many results BenchmarkResultsList stores first.
const resultsStored = 10_000

// BenchmarkResultsList measures GET /api/v1/packages/{pkg}/results with
// 10,000 stored results (in 8 environments), through the running binary:
// the first page, a page deep in the list (by its cursor), and a filtered
// page. Its baseline is GET /healthz (one store round trip) in the same run.
func BenchmarkResultsList(b *testing.B) {
	for _, db := range benchDBs() {
		b.Run(db.name, func(b *testing.B) {
			dsn := db.dsn(b)
			fillResults(b, dsn, resultsStored)
			srv := startServer(b, "--db", dsn)
			// The cursor of page 100 (results 5,000 on).
			var page aggregator.ResultPage
			deep := ""
			for range 100 {
				getJSON(b, srv.URL+"/api/v1/packages/list/results?before="+deep, "", 200, &page)
				deep = page.Next
			}
			for _, q := range []struct{ name, path string }{
				{"healthz", "/healthz"},
				{"first-page", "/api/v1/packages/list/results"},
				{"page-100", "/api/v1/packages/list/results?before=" + deep},
				{"host-filter", "/api/v1/packages/list/results?host=host-3&tag=t3"},
			} {
				b.Run(q.name, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						t0 := time.Now()
						if err := fetchJSON(srv.URL+q.path, "", &json.RawMessage{}); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					reportLatency(b, lat)
				})
			}
			srv.stop(b)
		})
	}
}

// fillResults stores n small real results of package "list" through the
// Service, in-process (faster than HTTP; what is measured is the reading).
func fillResults(b *testing.B, dsn string, n int) {
	ctx := context.Background()
	st, err := gormstore.Open(ctx, dsn, gormstore.Options{Migrate: true, Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := aggregator.New(st, aggregator.Options{})
	step := realStep(b, "gotest/real_shlex.json")
	errc := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := w; i < n; i += 8 {
				bag := &pony.Bag{
					ClientInfo: pony.ClientInfo{Package: "list", Host: fmt.Sprintf("host-%d", i%8), Arch: "linux-amd64", Tags: []string{fmt.Sprintf("t%d", i%8)}, Commit: fmt.Sprintf("c%d", i)},
					Steps:      []pony.Step{step},
				}
				if _, err := svc.Ingest(ctx, bag, aggregator.IngestOptions{}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}
