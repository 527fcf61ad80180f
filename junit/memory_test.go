package junit_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/junit"
)

// TestStreamingMemory checks that the decoder does not hold the report:
// halfway through a 50,000-testcase file read from disk, the live heap has
// grown by much less than the file's size (go-junit, which builds the whole
// tree, holds many times the file).
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10 MB file")
	}
	path := filepath.Join(t.TempDir(), "big.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Generate("junit", f, benchTestcases); err != nil {
		t.Fatal(err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var before, mid runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := junit.NewDecoder(f, junit.Options{File: path})
	n := 0
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == benchTestcases/2 {
			runtime.GC()
			runtime.ReadMemStats(&mid)
		}
	}
	grown := int64(mid.HeapAlloc) - int64(before.HeapAlloc)
	if limit := size / 5; grown > limit {
		t.Errorf("got %d bytes of live heap halfway through a %d-byte file, want under %d", grown, size, limit)
	}
	t.Logf("file %d bytes, live heap grown by %d bytes halfway", size, grown)
	runtime.KeepAlive(d)
}

// logLines is an io.Reader of about size bytes of numbered log lines, made
// as they are read: a text node of any size without holding it.
type logLines struct {
	prefix string
	size   int64 // bytes still to make, rounded up to a whole line
	n      int
	buf    []byte
}

func newLogLines(prefix string, size int64) *logLines {
	return &logLines{prefix: prefix, size: size}
}

func (r *logLines) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.size > 0 {
		start := len(r.buf)
		r.n++
		r.buf = fmt.Appendf(r.buf, "%s line %09d: cache lookup for item %d: hit, nothing to see here\n", r.prefix, r.n, r.n*7)
		r.size -= int64(len(r.buf) - start)
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = append(r.buf[:0], r.buf[n:]...)
	return n, nil
}

// TestHugeTextMemory decodes a report of about 100 MB, made on the fly, in
// which three text nodes hold nearly all of it: a passing test's
// <system-out> (nothing kept), a failure's text (its tail kept) and a
// suite's <system-out> (its tail kept in the step's output). The decoder
// must stream them: the live heap, sampled every 4 MB read, stays within a
// few times the caps (it held each text whole before, 50 MB at its peak), and what is kept is the tail writing each whole
// text into a pony.TailBuffer gives.
func TestHugeTextMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB")
	}
	const (
		passing = 40 << 20
		failing = 40 << 20
		suite   = 20 << 20
	)
	report := func() io.Reader {
		return io.MultiReader(
			strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<testsuites><testsuite name="huge" tests="3" failures="1">`+"\n"+
				`<testcase classname="huge.Chatty" name="passes"><system-out>`),
			newLogLines("passing", passing),
			strings.NewReader(`</system-out></testcase>`+"\n"+`<testcase classname="huge.Chatty" name="fails"><failure type="AssertionError">`),
			newLogLines("failing", failing),
			strings.NewReader(`</failure></testcase>`+"\n"+`<system-out>`),
			newLogLines("suite", suite),
			strings.NewReader(`</system-out>`+"\n"+`<testcase classname="huge.Chatty" name="after"/>`+"\n</testsuite></testsuites>\n"),
		)
	}
	tail := func(header, prefix string, size int64, max int) string {
		b := pony.TailBuffer{Max: max}
		b.WriteString(header)
		if _, err := io.Copy(&b, newLogLines(prefix, size)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	s := &testenv.HeapSampler{R: report(), Every: 4 << 20}
	s.Sample()
	base := s.Peak
	s.Peak = 0
	d := junit.NewDecoder(s, junit.Options{File: "huge.xml"})
	var got []pony.TestResult
	for {
		tr, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	s.Sample()
	grown := int64(s.Peak) - int64(base)
	caps := int64(pony.DefaultLimits.Output + pony.DefaultLimits.StepOutput)
	// A text whose tail is kept takes the lexer's spool and the part's
	// pony.TailBuffer, each up to twice its cap.
	if limit := 6*caps + 1<<20; grown > limit {
		t.Errorf("got a live heap grown by %d bytes at its peak while reading %d bytes of text, want under %d (6× the caps, plus 1 MiB)", grown, s.Bytes, limit)
	}
	t.Logf("read %d bytes; live heap grown by %d bytes at its peak (caps: %d bytes)", s.Bytes, grown, caps)

	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3", len(got))
	}
	if p := got[0]; p.Status != pony.StatusPass || p.Output != "" {
		t.Errorf("passing test: got status %s and %d bytes of output, want pass and none kept", p.Status, len(p.Output))
	}
	f := got[1]
	if want := tail("", "failing", failing, pony.DefaultLimits.Output); f.Status != pony.StatusFail || f.Output != want {
		t.Errorf("failing test: got status %s, output of %d bytes ending %q, want fail and the tail %q…%q", f.Status, len(f.Output), f.Output[max(0, len(f.Output)-80):], want[:80], want[len(want)-80:])
	}
	if !strings.HasPrefix(f.Output, "[… ") || !strings.HasSuffix(f.Output, "\n") || len(f.Output) > pony.DefaultLimits.Output {
		t.Errorf("failing test: got output of %d bytes starting %q, want the cut marker and at most %d bytes", len(f.Output), f.Output[:min(40, len(f.Output))], pony.DefaultLimits.Output)
	}
	if want := "failing line 000000001: cache lookup for item 7: hit, nothing to see here"; f.Message != want {
		t.Errorf("failing test: got message %q, want the text's first line %q", f.Message, want)
	}
	if want := tail("[huge]\n", "suite", suite, pony.DefaultLimits.StepOutput); d.SuiteOutput() != want {
		out := d.SuiteOutput()
		t.Errorf("suite output: got %d bytes ending %q, want %d bytes ending %q", len(out), out[max(0, len(out)-80):], len(want), want[len(want)-80:])
	}
	runtime.KeepAlive(d)
}
