package gotest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters/gotest"
)

// FuzzGoTest feeds the parser mangled streams, seeded with every real
// input under 16 KB: it must never panic, always return a step, and every entry must
// be a valid pony test result.
func FuzzGoTest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.json"))
	for _, in := range files {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 16<<10 {
			// Large seeds stall the fuzzer: it spends the run minimising
			// the interesting inputs it derives from them.
			continue
		}
		f.Add(data)
	}
	f.Add([]byte("# p\nx.go:1:1: bad\nFAIL\tp [build failed]\n"))
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"BenchmarkX"}` + "\n" + `{"Action":"output","Package":"p","Test":"BenchmarkX","Output":"BenchmarkX-2 \t 10\t 5 ns/op\n"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := gotest.Parse(context.Background(), bytes.NewReader(data), gotest.Config{File: "fuzz", OutputCap: 1024, StepOutputCap: 4096})
		if s == nil {
			t.Fatalf("got a nil step (error %v), want a step", err)
		}
		if s.Incomplete != (err != nil) {
			t.Fatalf("Incomplete %v with error %v: want both or neither", s.Incomplete, err)
		}
		for i, r := range s.Tests {
			if r.Name == "" || !r.Status.Valid() || r.Attempt < 1 {
				t.Fatalf("entry %d: got %+v, want a name, a valid status and an attempt ≥ 1", i, r)
			}
			if len(r.Output) > 1024 || len(r.Message) > 1024 {
				t.Fatalf("entry %d: output %d and message %d bytes, want ≤ 1024", i, len(r.Output), len(r.Message))
			}
		}
		b := pony.Bag{ClientInfo: pony.ClientInfo{Package: "fuzz"}, Steps: []pony.Step{*s}}
		_ = b.Totals()
	})
}
