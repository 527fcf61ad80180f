// Package gotest reads `go test -json` output (test2json events, also as
// written by gotestsum's --jsonfile) into a pony.Step: one entry per test,
// subtest, example and benchmark attempt.
//
// # Why not testjson.ScanTestOutput
//
// The events are gotestsum's testjson.TestEvent and testjson.Action, and
// test names are handled with testjson.TestName. The fold itself is ours:
// testjson.Execution keeps every package-level output line of every
// package, the whole output of every failed test, and the output of every
// subtest until its root test ends, none of it capped; and its
// bufio.Scanner stops the whole scan at the first line over 64 KiB. On a
// 50 MB stream that holds far more than what a bag keeps. Parse instead
// decodes one line at a time and keeps, per running test, a pony.TailBuffer
// of at most Config.OutputCap bytes; a passing test's output is dropped as
// soon as it passes (unless Config.KeepPassingOutput), so memory grows with
// the failures kept and the tests running at once, not with the stream.
//
// # Mapping
//
//   - Suite is the package import path; Name is the test name with its
//     subtest path ("TestX/sub/deeper"). pass, fail and skip map to the pony
//     statuses of the same names.
//   - A test, subtest or example seen again in the same stream (go test
//     -count=N, or gotestsum --rerun-fails appending its reruns) is the next
//     attempt: 2, 3…
//   - Message: for a failure or a skip, the "file.go:NN: text" lines the test
//     logged (with their continuation lines), else its panic, else its
//     output; File and Line come from the first such location (or, for a
//     panic, from the first _test.go frame of the stack). A parent test that
//     failed only through its subtests says which.
//   - t.Attr attributes (action "attr", go ≥ 1.25) become Properties.
//   - Examples are tests. Benchmarks (go test -bench) get no pass event from
//     test2json: a benchmark whose result line is present becomes a pass
//     entry with its figures as Properties ("iterations", "ns/op", "B/op",
//     "allocs/op" and custom metrics) and Duration = iterations × ns/op; a
//     failed or skipped benchmark is reported as such; a benchmark with no
//     result line (a parent of sub-benchmarks) is left out.
//   - A package that fails with no failing test (TestMain exiting non-zero,
//     a panic in init or outside any test) becomes an entry named
//     "(package)" with status error. A build or setup failure (go ≥ 1.24
//     build-output/build-fail events, or the older plain "# pkg" text and
//     "FAIL pkg [build failed]" lines) becomes an entry named "(build)" with
//     status error and the compiler's output as message.
//   - A test that never got a verdict because its package's test binary
//     died (a panic in another goroutine, os.Exit, a -timeout) is a failure
//     saying so. A test still running when the stream ends is an error
//     ("stream ended before the test finished"), the step is Incomplete and
//     the error names the last line.
//   - Lines that are not test2json events (go command messages, build
//     errors with stderr merged in) and package-level output ("ok pkg 0.1s",
//     "FAIL pkg") are kept, capped with the tail kept, in Step.Output.
//     They are never an error, except a last line cut in the middle of an
//     event.
package gotest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pony-build/pony"
	"gotest.tools/gotestsum/testjson"
)

// Format is the name of this format in Step.Format.
const Format = "gotest"

// Names of the synthetic entries for failures outside any test.
const (
	// PackageEntry names the entry of a package that failed outside any test.
	PackageEntry = "(package)"
	// BuildEntry names the entry of a package whose test binary did not build.
	BuildEntry = "(build)"
)

// Config configures Parse. The zero value keeps everything uncapped except
// the output of passing tests, which is dropped.
type Config struct {
	// File names the input in errors ("-" for standard input).
	File string
	// OutputCap caps each test's output and message (the tail is kept).
	// Zero or less means no cap.
	OutputCap int
	// StepOutputCap caps Step.Output (the tail is kept). Zero or less means
	// no cap.
	StepOutputCap int
	// KeepPassingOutput keeps the output of passing tests too.
	KeepPassingOutput bool
}

// maxLine is the longest line decoded as an event; longer lines (test2json
// splits long output lines, so these are not events) go to Step.Output.
const maxLine = 8 << 20

// event is a test2json event: testjson.TestEvent, plus FailedBuild (go ≥
// 1.24), which names the ImportPath whose build-output explains a
// package's build failure.
type event struct {
	testjson.TestEvent
	FailedBuild string
}

// Parse reads a `go test -json` stream into a step. When the stream is cut
// short (mid-line, or while packages were still running) it returns the
// step with every test it read, Incomplete set, and a *pony.InputError
// naming the last line. An input with no test2json event at all gives a
// step holding the input as Output, Incomplete, and an error.
func Parse(ctx context.Context, r io.Reader, cfg Config) (*pony.Step, error) {
	p := newParser(cfg)
	if err := p.read(ctx, r); err != nil {
		return nil, err
	}
	return p.finish()
}

type testKey struct{ pkg, name string }

type parser struct {
	cfg      Config
	step     *pony.Step
	pkgs     map[string]*pkgRun
	attempts map[testKey]int
	out      pony.TailBuffer
	// build holds build output by ImportPath (go ≥ 1.24 build-output
	// events), or by the package named in a "# pkg" text header.
	build    map[string]*pony.TailBuffer
	curBuild string // the "# pkg" header the plain lines below belong to
	free     []*test
	seq      int
	events   int
	first    time.Time
	last     time.Time
	line     int   // lines read so far
	offset   int64 // byte offset of the current line
	inErr    *pony.InputError
}

// pkgRun is one run of one package, from its start event to its end.
type pkgRun struct {
	name        string
	running     map[string]*test
	out         pony.TailBuffer
	failed      int // tests failed in this run
	buildFailed bool
	reported    bool // a (build) entry was already made for this run
	active      bool // started and not ended
}

type test struct {
	name      string
	seq       int
	attempt   int
	out       pony.TailBuffer
	attrs     map[string]string
	failedSub []string
	// failedIdx indexes in Step.Tests the failed subtests that had nothing
	// to say, in case this test's output holds their panic.
	failedIdx []int
	subs      int
}

func newParser(cfg Config) *parser {
	p := &parser{
		cfg:      cfg,
		step:     &pony.Step{Type: "test", Format: Format},
		pkgs:     make(map[string]*pkgRun),
		attempts: make(map[testKey]int),
		build:    make(map[string]*pony.TailBuffer),
	}
	p.out.Max = cfg.StepOutputCap
	return p
}

// read folds every line of r.
func (p *parser) read(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // the start of a line longer than the reader's buffer
	over := false   // inside a line over maxLine, streamed to the output
	var n int64     // bytes of the current line so far
	var ev event
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			switch {
			case over:
				p.out.Write(chunk)
			case len(long)+len(chunk) > maxLine:
				p.out.Write(long)
				p.out.Write(chunk)
				long, over = long[:0], true
			default:
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		switch {
		case over:
			p.out.Write(chunk)
			line = nil
		case len(long) > 0:
			long = append(long, chunk...)
			line = long
		}
		if n > 0 {
			p.line++
			if line != nil {
				p.handleLine(line, err == io.EOF, &ev)
			}
			p.offset += n
		}
		long, over, n = long[:0], false, 0
		if err == io.EOF {
			return nil
		}
		if err != nil {
			p.fail(&pony.InputError{File: p.cfg.File, Line: p.line, Offset: p.offset, Err: fmt.Errorf("read: %w", err)})
			return nil
		}
		if p.line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// fail records the first input error; the step is Incomplete.
func (p *parser) fail(e *pony.InputError) {
	p.step.Incomplete = true
	if p.inErr == nil {
		p.inErr = e
	}
}

func (p *parser) handleLine(line []byte, atEOF bool, ev *event) {
	text := bytes.TrimRight(line, "\r\n")
	trimmed := bytes.TrimLeft(text, " \t")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		*ev = event{}
		err := json.Unmarshal(trimmed, ev)
		if err == nil && ev.Action != "" {
			p.curBuild = ""
			p.handleEvent(ev)
			return
		}
		if atEOF && !bytes.HasSuffix(line, []byte("\n")) && err != nil {
			p.fail(&pony.InputError{File: p.cfg.File, Line: p.line, Offset: p.offset,
				Err: fmt.Errorf("stream cut in the middle of an event: %w", err)})
			return
		}
	}
	p.plainLine(text)
}

// plainLine keeps a line that is not an event: in the step's output, and
// as build output when it follows a "# pkg" header (plain-text build
// errors, before go1.24 or with GODEBUG=gotestjsonbuildtext=1).
func (p *parser) plainLine(text []byte) {
	p.out.Write(text)
	p.out.Write([]byte{'\n'})
	s := string(text)
	if name, ok := strings.CutPrefix(s, "# "); ok {
		p.curBuild = importPathPackage(name)
		p.buildBuf(p.curBuild).WriteString(s + "\n")
		return
	}
	if pkg, what, ok := buildFailLine(s); ok {
		p.curBuild = ""
		run := p.pkg(pkg)
		if !run.reported {
			p.addBuildEntry(run, p.build[pkg], what)
		}
		return
	}
	if p.curBuild != "" {
		p.buildBuf(p.curBuild).WriteString(s + "\n")
	}
}

func (p *parser) buildBuf(importPath string) *pony.TailBuffer {
	b := p.build[importPath]
	if b == nil {
		b = &pony.TailBuffer{Max: p.cfg.OutputCap}
		p.build[importPath] = b
	}
	return b
}

// importPathPackage turns "pkg [pkg.test]" into "pkg".
func importPathPackage(s string) string {
	if i := strings.Index(s, " ["); i >= 0 {
		return s[:i]
	}
	return s
}

// buildFailLine recognises "FAIL\tpkg [build failed]" and "[setup failed]".
func buildFailLine(s string) (pkg, what string, ok bool) {
	rest, ok := strings.CutPrefix(s, "FAIL")
	if !ok || len(rest) == 0 || (rest[0] != '\t' && rest[0] != ' ') {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	for _, w := range []string{"build failed", "setup failed"} {
		if p, ok := strings.CutSuffix(rest, " ["+w+"]"); ok && p != "" && !strings.ContainsAny(p, " \t") {
			return p, w, true
		}
	}
	return "", "", false
}

func (p *parser) pkg(name string) *pkgRun {
	run := p.pkgs[name]
	if run == nil {
		run = &pkgRun{name: name, running: make(map[string]*test)}
		run.out.Max = p.cfg.OutputCap
		p.pkgs[name] = run
	}
	return run
}

func (p *parser) handleEvent(ev *event) {
	p.events++
	if t := ev.Time; !t.IsZero() {
		if p.first.IsZero() || t.Before(p.first) {
			p.first = t
		}
		if t.After(p.last) {
			p.last = t
		}
	}
	switch ev.Action {
	case testjson.ActionBuild:
		p.out.WriteString(ev.Output)
		p.buildBuf(ev.ImportPath).WriteString(ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Package == "" {
		return
	}
	run := p.pkg(ev.Package)
	if ev.Test == "" {
		p.packageEvent(run, ev)
		return
	}
	if !run.active {
		p.startRun(run)
	}
	switch ev.Action {
	case testjson.ActionRun:
		p.startTest(run, ev.Test)
	case testjson.ActionOutput, testjson.ActionBench:
		t := p.running(run, ev.Test)
		if !isFraming(ev.Output) {
			t.out.WriteString(ev.Output)
		}
	case testjson.ActionAttr:
		t := p.running(run, ev.Test)
		if t.attrs == nil {
			t.attrs = make(map[string]string)
		}
		t.attrs[ev.Key] = ev.Value
	case testjson.ActionPass:
		p.endTest(run, p.running(run, ev.Test), pony.StatusPass, ev.Elapsed, "")
	case testjson.ActionFail:
		p.endTest(run, p.running(run, ev.Test), pony.StatusFail, ev.Elapsed, "")
	case testjson.ActionSkip:
		p.endTest(run, p.running(run, ev.Test), pony.StatusSkip, ev.Elapsed, "")
	}
}

// isFraming reports whether an output line is test2json's framing
// ("=== RUN", "=== PAUSE"…), which says nothing the entry does not.
func isFraming(s string) bool {
	if !strings.HasPrefix(s, "=== ") {
		return false
	}
	for _, w := range []string{"RUN ", "PAUSE ", "CONT ", "NAME ", "ATTR "} {
		if strings.HasPrefix(s[4:], w) {
			return true
		}
	}
	return false
}

func (p *parser) startRun(run *pkgRun) {
	if run.active {
		// A new start while the last run never ended: that run's
		// tests will not report now.
		p.endUnfinished(run, pony.StatusError, "no result: the package's run started again before this test finished")
	}
	run.active = true
	run.failed = 0
	run.buildFailed = false
	run.out.Reset()
}

func (p *parser) startTest(run *pkgRun, name string) *test {
	if old := run.running[name]; old != nil {
		// A second run event with no verdict for the first.
		p.endTest(run, old, pony.StatusError, 0, "no result: the test was started again before it finished")
	}
	var t *test
	if n := len(p.free); n > 0 {
		t, p.free = p.free[n-1], p.free[:n-1]
	} else {
		t = &test{}
	}
	p.seq++
	k := testKey{run.name, name}
	p.attempts[k]++
	t.name, t.seq, t.attempt = name, p.seq, p.attempts[k]
	t.out.Max = p.cfg.OutputCap
	run.running[name] = t
	if parent := testjson.TestName(name).Parent(); parent != "" {
		if pt := run.running[parent]; pt != nil {
			pt.subs++
		}
	}
	return t
}

// running returns the running test called name, starting it when its run
// event is missing.
func (p *parser) running(run *pkgRun, name string) *test {
	if t := run.running[name]; t != nil {
		return t
	}
	return p.startTest(run, name)
}

func (p *parser) endTest(run *pkgRun, t *test, status pony.Status, elapsed float64, why string) {
	delete(run.running, t.name)
	res := pony.TestResult{
		Suite:    run.name,
		Name:     t.name,
		Status:   status,
		Duration: elapsed,
		Attempt:  t.attempt,
	}
	if len(t.attrs) > 0 {
		res.Properties = t.attrs
	}
	out := ""
	if status != pony.StatusPass || p.cfg.KeepPassingOutput || why != "" {
		out = t.out.String()
	}
	if status != pony.StatusPass || why != "" {
		res.Output = out
		m := describe(out)
		res.File, res.Line = m.file, m.line
		switch {
		case why != "":
			res.Message = joinNonEmpty(why, m.text)
		case m.text != "" && m.located:
			res.Message = m.text
		case len(t.failedSub) > 0:
			res.Message = "failed subtest: " + strings.Join(t.failedSub, ", ")
			if m.text != "" {
				res.Message += "\n" + m.text
			}
		case status == pony.StatusSkip && m.text == "" && t.subs > 0:
			res.Message = "every subtest skipped"
		default:
			res.Message = m.text
		}
		res.Message = pony.CapTail(res.Message, p.cfg.OutputCap)
		if m.panic != "" {
			// A subtest's panic is printed in its top-level test's output.
			for _, i := range t.failedIdx {
				if sub := &p.step.Tests[i]; sub.Message == "" {
					sub.Message = pony.CapTail(m.panic+"\n(printed in the output of "+t.name+")", p.cfg.OutputCap)
					if sub.File == "" {
						sub.File, sub.Line = m.file, m.line
					}
				}
			}
		}
	} else if p.cfg.KeepPassingOutput {
		res.Output = out
	}
	if status == pony.StatusFail || status == pony.StatusError {
		run.failed++
		if parent := testjson.TestName(t.name).Parent(); parent != "" {
			if pt := run.running[parent]; pt != nil && len(pt.failedSub) < 10 {
				pt.failedSub = append(pt.failedSub, t.name)
			}
			// Remember it in its top-level test, which prints its panic.
			root, _ := testjson.TestName(t.name).Split()
			if rt := run.running[root]; rt != nil && res.Message == "" && len(rt.failedIdx) < 100 {
				rt.failedIdx = append(rt.failedIdx, len(p.step.Tests))
			}
		}
	}
	p.step.Tests = append(p.step.Tests, res)
	p.release(t)
}

func (p *parser) release(t *test) {
	t.out.Reset()
	t.attrs = nil
	t.failedSub = t.failedSub[:0]
	t.failedIdx = t.failedIdx[:0]
	t.subs = 0
	if len(p.free) < 64 {
		p.free = append(p.free, t)
	}
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

func (p *parser) packageEvent(run *pkgRun, ev *event) {
	switch ev.Action {
	case "start":
		p.startRun(run)
	case testjson.ActionOutput:
		if !run.active {
			p.startRun(run)
		}
		run.out.WriteString(ev.Output)
		p.out.WriteString(ev.Output)
		if _, _, ok := buildFailLine(strings.TrimRight(ev.Output, "\n")); ok {
			run.buildFailed = true
		}
	case testjson.ActionPass, testjson.ActionSkip:
		p.endRun(run, ev)
	case testjson.ActionFail:
		p.endRun(run, ev)
	}
}

// endRun closes a package run: its unfinished tests, then its own failure.
func (p *parser) endRun(run *pkgRun, ev *event) {
	failed := ev.Action == testjson.ActionFail
	if failed {
		p.endUnfinished(run, pony.StatusFail, "no result: the test binary exited while this test was running (a panic, os.Exit or -timeout)")
	} else {
		p.endUnfinished(run, pony.StatusError, "no result reported for this test, though its package passed")
	}
	switch {
	case !failed:
	case ev.FailedBuild != "" || run.buildFailed:
		if !run.reported {
			what := "build failed"
			if strings.Contains(run.out.String(), "[setup failed]") {
				what = "setup failed"
			}
			var b *pony.TailBuffer
			if ev.FailedBuild != "" {
				b = p.build[ev.FailedBuild]
			}
			if b == nil {
				b = p.build[run.name]
			}
			p.addBuildEntry(run, b, what)
		}
	case run.failed == 0:
		p.addPackageEntry(run, ev.Elapsed)
	}
	run.active = false
	run.reported = false
	run.out.Reset()
}

// endUnfinished ends the tests still running in run, in start order.
// Benchmarks are ended by their result lines instead (test2json sends no
// pass event for them).
func (p *parser) endUnfinished(run *pkgRun, status pony.Status, why string) {
	if len(run.running) == 0 {
		return
	}
	left := make([]*test, 0, len(run.running))
	for _, t := range run.running {
		left = append(left, t)
	}
	sort.Slice(left, func(i, j int) bool { return left[i].seq < left[j].seq })
	for _, t := range left {
		if strings.HasPrefix(t.name, "Benchmark") {
			p.endBenchmark(run, t, status, why)
			continue
		}
		p.endTest(run, t, status, 0, why)
	}
}

// endBenchmark ends a benchmark that got no verdict event: a pass when its
// result line is there, nothing when it only ran sub-benchmarks.
func (p *parser) endBenchmark(run *pkgRun, t *test, status pony.Status, why string) {
	out := t.out.String()
	if props, dur, ok := benchResult(t.name, out); ok {
		delete(run.running, t.name)
		res := pony.TestResult{Suite: run.name, Name: t.name, Status: pony.StatusPass,
			Duration: dur, Attempt: t.attempt, Properties: props}
		for k, v := range t.attrs {
			res.Properties[k] = v
		}
		if p.cfg.KeepPassingOutput {
			res.Output = out
		}
		p.step.Tests = append(p.step.Tests, res)
		p.release(t)
		return
	}
	if t.subs > 0 || status == pony.StatusError && strings.HasPrefix(why, "no result reported") {
		delete(run.running, t.name)
		p.release(t)
		return
	}
	p.endTest(run, t, status, 0, why)
}

// benchResult finds a benchmark's result line, e.g.
// "BenchmarkJoin-2 \t 1\t 1162 ns/op\t 16 B/op\t 1 allocs/op", in its output.
func benchResult(name, out string) (map[string]string, float64, bool) {
	for len(out) > 0 {
		line := out
		if i := strings.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = ""
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if f[0] != name && !(strings.HasPrefix(f[0], name+"-") && isDigits(f[0][len(name)+1:])) {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		props := map[string]string{"iterations": f[1]}
		var dur float64
		for i := 2; i+1 < len(f); i += 2 {
			props[f[i+1]] = f[i]
			if f[i+1] == "ns/op" {
				if ns, err := strconv.ParseFloat(f[i], 64); err == nil {
					dur = ns * float64(n) / 1e9
				}
			}
		}
		if _, ok := props["ns/op"]; !ok {
			continue
		}
		return props, dur, true
	}
	return nil, 0, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p *parser) nextAttempt(pkg, name string) int {
	k := testKey{pkg, name}
	p.attempts[k]++
	return p.attempts[k]
}

// addBuildEntry reports a package whose test binary did not build.
func (p *parser) addBuildEntry(run *pkgRun, b *pony.TailBuffer, what string) {
	run.reported = true
	res := pony.TestResult{
		Suite:   run.name,
		Name:    BuildEntry,
		Status:  pony.StatusError,
		Attempt: p.nextAttempt(run.name, BuildEntry),
	}
	var msg []string
	if b != nil {
		res.Output = b.String()
		for _, l := range strings.Split(res.Output, "\n") {
			if l == "" || strings.HasPrefix(l, "# ") {
				continue
			}
			if res.File == "" {
				if f, n, _, ok := location(l); ok {
					res.File, res.Line = f, n
				}
			}
			msg = append(msg, l)
		}
	}
	res.Message = what
	if len(msg) > 0 {
		res.Message += ":\n" + strings.Join(msg, "\n")
	}
	res.Message = pony.CapTail(res.Message, p.cfg.OutputCap)
	p.step.Tests = append(p.step.Tests, res)
}

// addPackageEntry reports a package that failed with no failing test.
func (p *parser) addPackageEntry(run *pkgRun, elapsed float64) {
	out := run.out.String()
	res := pony.TestResult{
		Suite:    run.name,
		Name:     PackageEntry,
		Status:   pony.StatusError,
		Duration: elapsed,
		Attempt:  p.nextAttempt(run.name, PackageEntry),
		Output:   out,
	}
	m := describe(out)
	res.File, res.Line = m.file, m.line
	res.Message = joinNonEmpty("the package failed outside any test (TestMain, init, or a panic or os.Exit outside a test)", m.text)
	res.Message = pony.CapTail(res.Message, p.cfg.OutputCap)
	p.step.Tests = append(p.step.Tests, res)
}

// finish ends what the stream left open and returns the step.
func (p *parser) finish() (*pony.Step, error) {
	names := make([]string, 0, len(p.pkgs))
	for n, run := range p.pkgs {
		if run.active {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		run := p.pkgs[n]
		p.endUnfinished(run, pony.StatusError, "stream ended before the test finished")
		p.fail(&pony.InputError{File: p.cfg.File, Line: p.line, Offset: p.offset,
			Err: fmt.Errorf("stream ended before package %s finished", n)})
	}
	p.step.Output = p.out.String()
	if !p.first.IsZero() {
		p.step.Duration = p.last.Sub(p.first).Seconds()
	}
	if p.events == 0 && len(p.step.Tests) == 0 {
		p.step.Incomplete = true
		err := &pony.InputError{File: p.cfg.File, Line: p.line, Err: ErrNoEvents}
		if p.inErr != nil {
			err = p.inErr
		}
		return p.step, err
	}
	if p.inErr != nil {
		return p.step, p.inErr
	}
	return p.step, nil
}

// ErrNoEvents is the error (wrapped in a *pony.InputError) of an input that
// holds no go test -json event at all: not go test -json output.
var ErrNoEvents = errors.New("no go test -json events found: not go test -json output")

// message is what describe finds in a test's output.
type message struct {
	text    string
	file    string
	line    int
	located bool // text holds "file.go:NN:" lines
	panic   string
}

// describe picks the most useful lines of a test's output: its
// "file.go:NN: text" lines with their continuations, then its panic (the
// "panic:" lines up to the stack); failing both, the output without the
// "--- FAIL" verdict lines. File and Line come from the first location, or
// from the first _test.go frame of the panic's stack.
func describe(out string) message {
	var m message
	var loc, panicLines, rest []string
	block, blockIndent := false, 0
	panicState := 0 // 0 none yet, 1 in the panic's header, 2 in its stack
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if panicState == 0 {
			if file, n, indent, ok := location(l); ok {
				if m.file == "" {
					m.file, m.line = file, n
				}
				loc = append(loc, l[indent:])
				block, blockIndent = true, indent
				continue
			}
			if block && indentOf(l) > blockIndent && strings.TrimSpace(l) != "" {
				loc = append(loc, l[blockIndent:])
				continue
			}
			block = false
		}
		switch {
		case panicState == 0 && (strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ")):
			panicState = 1
			panicLines = append(panicLines, l)
		case panicState == 1:
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "goroutine ") {
				panicState = 2
			} else {
				panicLines = append(panicLines, l)
			}
		case panicState == 2:
			if m.file == "" {
				m.file, m.line, _ = stackFrame(l)
			}
		case strings.HasPrefix(l, "--- "), l == "PASS", l == "FAIL", strings.HasPrefix(l, "FAIL\t"), strings.HasPrefix(l, "ok  \t"):
		case strings.TrimSpace(l) != "":
			rest = append(rest, l)
		}
	}
	switch {
	case len(loc) > 0:
		m.panic = strings.Join(panicLines, "\n")
		m.text, m.located = strings.Join(append(loc, panicLines...), "\n"), true
	case len(panicLines) > 0:
		m.text = strings.Join(panicLines, "\n")
		m.panic = m.text
	default:
		m.text = strings.Join(rest, "\n")
	}
	return m
}

func indentOf(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// location parses "    file_test.go:42: text" (a t.Log/t.Error line) or a
// compiler's "dir/file.go:6:17: text", returning the file, line and indent.
func location(l string) (file string, line, indent int, ok bool) {
	indent = indentOf(l)
	s := l[indent:]
	i := strings.Index(s, ".go:")
	if i <= 0 || strings.ContainsAny(s[:i], " \t") {
		return "", 0, 0, false
	}
	rest := s[i+4:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j == 0 || j >= len(rest) || rest[j] != ':' {
		return "", 0, 0, false
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil {
		return "", 0, 0, false
	}
	return s[:i+3], n, indent, true
}

// stackFrame parses a panic stack line "\t/path/x_test.go:10 +0x28" in a
// test file, returning the file's base name and the line.
func stackFrame(l string) (string, int, bool) {
	if !strings.HasPrefix(l, "\t") {
		return "", 0, false
	}
	s := strings.TrimSpace(l)
	if i := strings.LastIndex(s, " +0x"); i >= 0 {
		s = s[:i]
	}
	i := strings.LastIndex(s, "_test.go:")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+len("_test.go:"):])
	if err != nil {
		return "", 0, false
	}
	return path.Base(s[:i+len("_test.go")]), n, true
}

// Detect scores how sure it is that head starts a `go test -json` stream:
// lines that are test2json events ({"Time":…,"Action":…}), possibly after
// plain lines (build output, go command messages).
func Detect(head []byte) int {
	events, lines := 0, 0
	for len(head) > 0 && lines < 200 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if line[0] == '{' && bytes.Contains(line, []byte(`"Action":`)) &&
			(bytes.HasPrefix(line, []byte(`{"Time":`)) || bytes.HasPrefix(line, []byte(`{"Action":`)) ||
				bytes.HasPrefix(line, []byte(`{"ImportPath":`)) || bytes.Contains(line, []byte(`"Package":`))) {
			events++
		}
	}
	switch {
	case events >= 2:
		return 95
	case events == 1:
		return 80
	}
	return 0
}
