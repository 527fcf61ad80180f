package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// BenchmarkReadSteps reads a real `go test -json` stream into a step,
// beside a baseline that only reads the file.
//
//	go test -run=^$ -bench=ReadSteps -benchmem ./client
func BenchmarkReadSteps(b *testing.B) {
	path := filepath.Join(testenv.RepoRoot(b), "reporters", "testdata", "gotest", "real_xsync.json")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-read", func(b *testing.B) {
		b.SetBytes(fi.Size())
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, f)
			f.Close()
		}
	})
	b.Run("ReadSteps", func(b *testing.B) {
		b.SetBytes(fi.Size())
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := ReadSteps(context.Background(), []Input{{Path: path}}, ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSend posts a bag of 5,000 tests to a local server, beside a
// baseline that posts the same bytes with a bare http.Client.
//
//	go test -run=^$ -bench=Send -benchmem ./client
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"receipt": {"result_key": "k", "time": "2026-11-22T10:00:00Z"}}`)
	}))
	defer srv.Close()
	bag := bigBag(5000)
	env, err := NewEnvelope(bag, srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	b.Run("baseline-post", func(b *testing.B) {
		b.SetBytes(int64(len(env.Bag)))
		b.ReportAllocs()
		for b.Loop() {
			resp, err := hc.Post(srv.URL+ResultsPath, "application/json", bytes.NewReader(env.Bag))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("NewEnvelope+Send", func(b *testing.B) {
		b.SetBytes(int64(len(env.Bag)))
		b.ReportAllocs()
		s := &Sender{HTTP: hc}
		for b.Loop() {
			e, err := NewEnvelope(bag, srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Send(context.Background(), e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSpoolSave writes a bag of 5,000 tests into the spool (temp file,
// fsync, rename), beside a baseline os.WriteFile of the same bytes.
//
//	go test -run=^$ -bench=SpoolSave -benchmem ./client
func BenchmarkSpoolSave(b *testing.B) {
	env, err := NewEnvelope(bigBag(5000), "http://pony.example")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.Run("baseline-WriteFile", func(b *testing.B) {
		b.SetBytes(int64(len(env.Bag)))
		b.ReportAllocs()
		for b.Loop() {
			if err := os.WriteFile(filepath.Join(dir, "plain.json"), env.Bag, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Save", func(b *testing.B) {
		b.SetBytes(int64(len(env.Bag)))
		b.ReportAllocs()
		sp := &Spool{Dir: dir}
		for b.Loop() {
			if _, err := sp.Save(env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// bigBag is a bag of n tests shaped like a go test run: mostly passes,
// some failures with output.
func bigBag(n int) *pony.Bag {
	s := pony.Step{Type: "test", Name: "-", Format: "gotest"}
	for i := range n {
		t := pony.TestResult{Suite: "github.com/acme/widget/internal/store", Name: "TestStore/case_" + strconv.Itoa(i), Status: pony.StatusPass, Duration: 0.001}
		if i%50 == 0 {
			t.Status, t.Message = pony.StatusFail, "store_test.go:42: got 1, want 2"
			t.Output = "=== RUN   " + t.Name + "\n    store_test.go:42: got 1, want 2\n--- FAIL: " + t.Name + " (0.00s)\n"
		}
		s.Tests = append(s.Tests, t)
	}
	return &pony.Bag{ClientInfo: pony.ClientInfo{Package: "widget", Host: "ci-3", Arch: "linux-amd64"}, Steps: []pony.Step{s}}
}
