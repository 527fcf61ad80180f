package junit_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"sync"
	"testing"

	gojunit "github.com/joshdk/go-junit"

	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/junit"
)

// benchTestcases is the size of the benchmark input, as in the issue.
const benchTestcases = 50_000

var benchInput = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if err := benchgen.Generate("junit", &buf, benchTestcases); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkDecoder is the production path: our streaming decoder.
func BenchmarkDecoder(b *testing.B) {
	data := benchInput()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := junit.NewDecoder(bytes.NewReader(data), junit.Options{})
		n := 0
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if c := d.Counts(); c.Testcases != benchTestcases {
			b.Fatalf("got %d testcases, want %d", c.Testcases, benchTestcases)
		}
	}
	b.ReportMetric(float64(benchTestcases*b.N)/b.Elapsed().Seconds(), "testcases/s")
}

// BenchmarkBaselineXMLTokens is the floor: a bare encoding/xml Token loop
// over the same file, doing nothing with the tokens.
func BenchmarkBaselineXMLTokens(b *testing.B) {
	data := benchInput()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(benchTestcases*b.N)/b.Elapsed().Seconds(), "testcases/s")
}

// BenchmarkGoJUnit is the oracle's cost: go-junit's IngestReader, which
// builds the whole tree.
func BenchmarkGoJUnit(b *testing.B) {
	data := benchInput()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		suites, err := gojunit.IngestReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, s := range suites {
			n += s.Totals.Tests
		}
		if n != benchTestcases {
			b.Fatalf("got %d testcases, want %d", n, benchTestcases)
		}
	}
	b.ReportMetric(float64(benchTestcases*b.N)/b.Elapsed().Seconds(), "testcases/s")
}
