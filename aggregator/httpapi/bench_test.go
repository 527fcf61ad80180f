package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/reporters"
)

// benchBag is a bag of n tests, a tenth of them failing with output.
func benchBag(n int) *pony.Bag {
	tests := make([]pony.TestResult, n)
	for i := range tests {
		tests[i] = pony.TestResult{Suite: fmt.Sprintf("pkg/s%d", i%50), Name: fmt.Sprintf("Test%d", i), Status: pony.StatusPass, Duration: 0.001}
		if i%10 == 0 {
			tests[i].Status = pony.StatusFail
			tests[i].Message = "want 1, got 2"
			tests[i].Output = "x_test.go:12: want 1, got 2\n"
		}
	}
	return sampleBag("bench", "h", tests...)
}

// BenchmarkIngest posts a JSON bag of 1,000 tests through the handler
// (body read, JSON decode, auth, Service, store, JSON answer), beside the
// baseline of the same bag decoded and given to Service.Ingest directly.
func BenchmarkIngest(b *testing.B) {
	body, err := json.Marshal(benchBag(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline=service", func(b *testing.B) {
		f := newFixture(b, fixtureOpts{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var bag pony.Bag
			if err := json.Unmarshal(body, &bag); err != nil {
				b.Fatal(err)
			}
			if _, err := f.svc.Ingest(context.Background(), &bag, aggregator.IngestOptions{ClientIP: "127.0.0.1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		f := newFixture(b, fixtureOpts{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/api/v1/results", bytes.NewReader(body))
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Fatalf("got %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkRawUpload posts a real go test -json stream as curl would,
// beside the baseline of posting the JSON bag it becomes.
func BenchmarkRawUpload(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "reporters", "testdata", "gotest", "real_xsync.json"))
	if err != nil {
		b.Fatal(err)
	}
	step, err := reporters.Parse(context.Background(), "gotest", bytes.NewReader(raw), reporters.Options{File: "upload"})
	if err != nil {
		b.Fatal(err)
	}
	bag, err := json.Marshal(&pony.Bag{ClientInfo: pony.ClientInfo{Package: "bench", Host: "h", Tags: []string{"t"}}, Steps: []pony.Step{*step}})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, target string
		body         []byte
	}{
		{"baseline=bag", "/api/v1/results", bag},
		{"raw", "/api/v1/results?package=bench&host=h&tag=t", raw},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, fixtureOpts{})
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", tc.target, bytes.NewReader(tc.body))
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusCreated {
					b.Fatalf("got %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
