package gotest_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters/gotest"
)

// defaultCaps is the Config pony-report parses with (pony.DefaultLimits).
func defaultCaps() gotest.Config {
	return gotest.Config{OutputCap: pony.DefaultLimits.Output, StepOutputCap: pony.DefaultLimits.StepOutput}
}

// generated returns benchgen's go test -json stream of n tests, each
// passing test printing extra more lines, made as it is read.
func generated(n, extra int) io.Reader {
	pr, pw := io.Pipe()
	benchgen.ExtraPassingOutput = extra // read by the goroutine below only
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		err := benchgen.Generate("gotest", w, n)
		if err == nil {
			err = w.Flush()
		}
		benchgen.ExtraPassingOutput = 0
		pw.CloseWithError(err)
	}()
	return pr
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// parseMeasured parses r and returns the step, the bytes read, the peak
// live heap while parsing and the live heap the step keeps afterwards,
// both above what was live before.
func parseMeasured(t testing.TB, r io.Reader, cfg gotest.Config) (step *pony.Step, read int64, peak, kept int64) {
	t.Helper()
	base := testenv.LiveHeap()
	s := &testenv.HeapSampler{R: r, Every: 4 << 20}
	step, err := gotest.Parse(context.Background(), s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after := testenv.LiveHeap()
	s.Peak = max(s.Peak, after)
	runtime.KeepAlive(step)
	return step, s.Bytes, int64(s.Peak) - int64(base), int64(after) - int64(base)
}

// TestParseMemory parses benchgen's 50 MB go test -json stream of 40,000
// tests as it is generated, and the same tests with ten more lines of
// output from every passing test (about twice the stream): the live heap
// at its peak (sampled every 4 MB read) stays within a small multiple of
// what the step keeps, and the chattier stream's peak is no higher but for
// noise. Passing tests' output is dropped as they pass; what grows is the
// entries kept.
func TestParseMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 160 MB")
	}
	const tests = 40000
	quiet, qread, qpeak, qkept := parseMeasured(t, generated(tests, 0), defaultCaps())
	chatty, cread, cpeak, ckept := parseMeasured(t, generated(tests, 10), defaultCaps())
	t.Logf("quiet:  %d bytes read, %d entries, peak live heap %d bytes, kept %d bytes", qread, len(quiet.Tests), qpeak, qkept)
	t.Logf("chatty: %d bytes read, %d entries, peak live heap %d bytes, kept %d bytes", cread, len(chatty.Tests), cpeak, ckept)

	if len(quiet.Tests) != tests || len(chatty.Tests) != tests || quiet.Totals() != chatty.Totals() {
		t.Fatalf("got %d and %d entries (totals %+v and %+v), want %d in both, the same", len(quiet.Tests), len(chatty.Tests), quiet.Totals(), chatty.Totals(), tests)
	}
	if cread < qread*3/2 {
		t.Fatalf("got a chatty stream of %d bytes, want well over the quiet one's %d", cread, qread)
	}
	// Step.Tests grows by doubling: while it does, the old array and the
	// new one are both live.
	if limit := 3*qkept + 2<<20; qpeak > limit {
		t.Errorf("quiet stream: got a peak live heap of %d bytes, want under %d (3× the %d bytes kept, plus 2 MiB)", qpeak, limit, qkept)
	}
	if limit := qpeak + qpeak/10 + 1<<20; cpeak > limit {
		t.Errorf("chatty stream (%d bytes): got a peak live heap of %d bytes, want under %d: no more than the quiet stream's (%d bytes read, peak %d), plus noise", cread, cpeak, limit, qread, qpeak)
	}
	if limit := qkept + qkept/10; ckept > limit {
		t.Errorf("chatty stream: got %d bytes kept, want about the quiet stream's %d", ckept, qkept)
	}
}

// BenchmarkParseMemory gives the memory figures of BENCHMARKS.md: benchgen's
// stream of 10,000 and 40,000 tests (and 40,000 with KeepPassingOutput)
// parsed from a file with pony-report's default caps, while a goroutine
// samples runtime.MemStats.HeapInuse every 5 ms. It reports the peak
// HeapInuse (peak-inuse-MB: the live heap plus the garbage the collector
// lets accumulate, GOGC=100), the live heap the step holds after a garbage
// collection (retained-MB), both above what was in use before, and the
// stream's size (stream-MB). A second parse of the file, collecting garbage
// every 4 MB read, gives the peak of the live heap (peak-live-MB). Each
// figure is the largest of the iterations; ns/op times both parses and the
// sampling, and is not the parser's speed (BenchmarkGoTest is).
//
//	go test ./reporters/gotest -run '^$' -bench ParseMemory -benchtime 3x
func BenchmarkParseMemory(b *testing.B) {
	for _, bc := range []struct {
		name  string
		tests int
		keep  bool
	}{
		{"tests=10000", 10000, false},
		{"tests=40000", 40000, false},
		{"tests=40000/keep-passing", 40000, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "gotest.json")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			size, err := io.Copy(f, generated(bc.tests, 0))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
			cfg := defaultCaps()
			cfg.KeepPassingOutput = bc.keep
			b.SetBytes(size)
			var peak, retained uint64
			var live int64
			for b.Loop() {
				p, r := parseSampled(b, path, cfg)
				peak, retained = max(peak, p), max(retained, r)
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				_, _, l, _ := parseMeasured(b, f, cfg)
				f.Close()
				live = max(live, l)
			}
			b.ReportMetric(float64(peak)/1e6, "peak-inuse-MB")
			b.ReportMetric(float64(live)/1e6, "peak-live-MB")
			b.ReportMetric(float64(retained)/1e6, "retained-MB")
			b.ReportMetric(float64(size)/1e6, "stream-MB")
		})
	}
}

// parseSampled parses the file at path while sampling HeapInuse every
// 5 ms; it returns the peak and the live heap the step retains, both above
// the heap in use before.
func parseSampled(b *testing.B, path string, cfg gotest.Config) (peak, retained uint64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var max uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	step, err := gotest.Parse(context.Background(), f, cfg)
	f.Close()
	close(done)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(step)
	return max - before.HeapInuse, after.HeapAlloc - before.HeapAlloc
}
