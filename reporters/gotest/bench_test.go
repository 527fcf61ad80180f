package gotest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/reporters/gotest"
)

// benchTests makes the generated stream about 50 MB.
const benchTests = 40000

var (
	benchOnce sync.Once
	benchData []byte
	benchErr  error
)

// benchInput generates the stream once per process, into a temp dir.
func benchInput(b *testing.B) []byte {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pony-gotest-bench")
		if err != nil {
			benchErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "gotest.json")
		f, err := os.Create(path)
		if err != nil {
			benchErr = err
			return
		}
		w := bufio.NewWriter(f)
		if benchErr = benchgen.Generate("gotest", w, benchTests); benchErr == nil {
			benchErr = w.Flush()
		}
		f.Close()
		if benchErr == nil {
			benchData, benchErr = os.ReadFile(path)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchData
}

// BenchmarkGoTest parses the generated ~50 MB stream.
func BenchmarkGoTest(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var tests int
	for b.Loop() {
		s, err := gotest.Parse(context.Background(), bytes.NewReader(data), gotest.Config{OutputCap: 64 << 10, StepOutputCap: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		tests = len(s.Tests)
	}
	b.ReportMetric(float64(tests)*float64(b.N)/b.Elapsed().Seconds(), "tests/s")
}

// baselineEvent has the same fields as testjson.TestEvent.
type baselineEvent struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	ImportPath  string
	Elapsed     float64
	Output      string
	Key         string
	Value       string
	FailedBuild string
}

// BenchmarkBaselineJSONLines is the floor BenchmarkGoTest is measured
// against: plain encoding/json decoding of each line of the same stream
// into a struct with the same fields, keeping nothing.
func BenchmarkBaselineJSONLines(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var tests int
	for b.Loop() {
		tests = 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			var ev baselineEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				b.Fatal(err)
			}
			if ev.Test != "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip") {
				tests++
			}
		}
	}
	b.ReportMetric(float64(tests)*float64(b.N)/b.Elapsed().Seconds(), "tests/s")
}
