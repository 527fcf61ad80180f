package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
	"gotest.tools/gotestsum/testjson"
)

// Exit statuses of a wrapped command, as `pony-report run` returns them.
const (
	// ExitNotRun is the status of a command that could not be started
	// (not found, not executable), as in sh.
	ExitNotRun = 127
	// ExitSignalBase plus the signal's number is the status of a command
	// killed by a signal, as in sh.
	ExitSignalBase = 128
)

// DefaultGrace is how long a command told to stop (SIGTERM) has before it
// is killed (SIGKILL).
const DefaultGrace = 10 * time.Second

// Command is one command to run as one step of a bag.
type Command struct {
	// Name is the step's name; "" means the command line.
	Name string
	// Type is the step's type (setup, build, test…); "" means test.
	Type string
	// Argv is the program and its arguments. A shell line is
	// []string{"sh", "-c", LINE}.
	Argv []string
	// Dir is the working directory; "" means the current one.
	Dir string
	// TimeLimit stops the command (SIGTERM, then SIGKILL after Grace) when
	// it runs longer; 0 means no limit.
	TimeLimit time.Duration
	// ContinueOnError lets the steps after a failing setup or build step
	// run.
	ContinueOnError bool
	// Reports are report files the command writes, read after it exits.
	Reports []ReportGlob
}

// ReportGlob names report files: a glob (`**` matches any number of
// directories) and their format ("" detects it).
type ReportGlob struct {
	Format  string
	Pattern string
	// Implicit marks a runner's default location (NamedReports), where
	// finding nothing is no news.
	Implicit bool
}

// CommandLine is argv as one line a shell would take back.
func CommandLine(argv []string) string {
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		return argv[2]
	}
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

// stepName makes a step name of a command line: one line, control
// characters as spaces, at most 200 bytes.
func stepName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == ' ' }), " ")
	if len(s) > 200 {
		cut := 199
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// GoTestJSON reports whether argv is `go test` (argv[0]'s base "go", argv[1]
// "test"; also as a plain `sh -c` line, as pony.yaml's steps are) and, if so, returns the argv that runs it with -json (the same
// argv when the user gave -json) and whether pony-report added -json (so
// that the terminal should show human output), and whether -v was given.
func GoTestJSON(argv []string) (out []string, isGoTest, added, verbose bool) {
	if inner, plain := plainShellLine(argv); plain {
		// sh -c 'go test ./...' (a pony.yaml step): the line gets -json.
		out, isGoTest, added, verbose = goTestJSON(inner)
		if !isGoTest {
			return argv, false, false, false
		}
		if added {
			return []string{argv[0], argv[1], CommandLine(out)}, true, true, verbose
		}
		return argv, true, false, verbose
	}
	return goTestJSON(argv)
}

func goTestJSON(argv []string) (out []string, isGoTest, added, verbose bool) {
	if len(argv) < 2 || strings.TrimSuffix(filepath.Base(argv[0]), ".exe") != "go" || argv[1] != "test" {
		return argv, false, false, false
	}
	hasJSON := false
	for _, a := range argv[2:] {
		if a == "-args" || a == "--args" {
			break
		}
		switch strings.TrimLeft(a, "-") {
		case "json", "json=true":
			if strings.HasPrefix(a, "-") {
				hasJSON = true
			}
		case "v", "v=true", "test.v", "test.v=true":
			if strings.HasPrefix(a, "-") {
				verbose = true
			}
		}
	}
	if hasJSON {
		return argv, true, false, verbose
	}
	out = make([]string, 0, len(argv)+1)
	out = append(out, argv[:2]...)
	out = append(out, "-json")
	out = append(out, argv[2:]...)
	return out, true, true, verbose
}

// TestCount counts the tests a running step has finished, read from its
// output as it streams; it feeds the progress line and the live progress
// reports. It is safe for concurrent use.
type TestCount struct {
	tests, failed atomic.Int64
	// named holds the runtimes the output names (RuntimeInOutput), which
	// are the ones under test when they differ from those on PATH.
	mu    sync.Mutex
	named map[string]string
}

// Runtimes returns the runtime versions named in the output so far (see
// RuntimeInOutput), by name; the first one seen of each name is kept.
func (c *TestCount) Runtimes() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]string, len(c.named))
	for k, v := range c.named {
		m[k] = v
	}
	return m
}

// runtimeLine records a runtime named in an output line.
func (c *TestCount) runtimeLine(l []byte) {
	if !bytes.HasPrefix(l, []byte("platform ")) {
		return
	}
	name, v, ok := RuntimeInOutput(string(l))
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.named == nil {
		c.named = map[string]string{}
	}
	if _, seen := c.named[name]; !seen {
		c.named[name] = v
	}
}

// Load returns the tests finished and failed so far.
func (c *TestCount) Load() (tests, failed int) {
	return int(c.tests.Load()), int(c.failed.Load())
}

func (c *TestCount) reset() { c.tests.Store(0); c.failed.Store(0) }

// line counts one line of output: a test2json pass/fail/skip event of a
// test, or a top-level TAP test point.
func (c *TestCount) line(l []byte) {
	if len(l) > 0 && l[0] == '{' {
		if !bytes.Contains(l, []byte(`"Test":`)) {
			return
		}
		switch {
		case bytes.Contains(l, []byte(`"Action":"pass"`)), bytes.Contains(l, []byte(`"Action":"skip"`)):
			c.tests.Add(1)
		case bytes.Contains(l, []byte(`"Action":"fail"`)):
			c.tests.Add(1)
			c.failed.Add(1)
		}
		return
	}
	switch {
	case bytes.HasPrefix(l, []byte("ok ")), bytes.Equal(bytes.TrimRight(l, "\r"), []byte("ok")):
		c.tests.Add(1)
	case bytes.HasPrefix(l, []byte("not ok")):
		c.tests.Add(1)
		if !bytes.Contains(bytes.ToUpper(l), []byte("# TODO")) {
			c.failed.Add(1)
		}
	default:
		c.runtimeLine(l)
	}
}

// Runner runs commands as steps: their output passes through to Stdout and
// Stderr as it comes, and is read at the same time into the step.
type Runner struct {
	// Stdin is the commands' standard input; nil means none.
	Stdin io.Reader
	// Stdout and Stderr receive the commands' output as it comes.
	Stdout, Stderr io.Writer
	// Say prints a note on pony-report's own stderr; nil means none.
	Say func(format string, args ...any)
	// Signals are forwarded to the running command (SIGINT, SIGTERM,
	// SIGHUP); a second SIGINT kills it. nil means none.
	Signals <-chan os.Signal
	// Count, when set, is reset at each step's start and counts its tests.
	Count *TestCount
	// Grace is the time between SIGTERM and SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
	// KeepPassingOutput keeps passing tests' output too.
	KeepPassingOutput bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	interrupted atomic.Bool
}

// Interrupted reports whether a signal was forwarded to a command: the
// steps after it should not run.
func (r *Runner) Interrupted() bool { return r.interrupted.Load() }

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) say(format string, args ...any) {
	if r.Say != nil {
		r.Say(format, args...)
	}
}

// StepRun is what running one Command gave.
type StepRun struct {
	// Step is the command's step; FileSteps are the report files read after
	// it that were not merged into it (see Runner.Run).
	Step      pony.Step
	FileSteps []pony.Step
	// ExitCode is the command's: its exit status, 128+N when killed by
	// signal N, ExitNotRun when it could not start.
	ExitCode int
	// Problems are damaged inputs whose good tests were kept.
	Problems []error
}

// Failed reports whether the step (or a report file of it) failed.
func (s *StepRun) Failed() bool {
	if !s.Step.Succeeded() {
		return true
	}
	for i := range s.FileSteps {
		if !s.FileSteps[i].Succeeded() {
			return true
		}
	}
	return false
}

// Verdict is pony-report's exit status for this step: the command's exit
// code, or 1 when it exited 0 but a test failed or an input was cut short.
func (s *StepRun) Verdict() int {
	if s.ExitCode != 0 {
		return s.ExitCode
	}
	if s.Failed() {
		return 1
	}
	return 0
}

// Run runs c and returns its step. Its output passes through live; its
// stdout is read, streaming, as `go test -json` or TAP when detected in the
// first bytes, else kept (the tail) as the step's output with format none;
// its stderr's tail is the step's errout. `go test` without -json gets
// -json, and the terminal is shown go test's usual output made from the
// events (gotestsum's standard-quiet, or standard-verbose with -v).
//
// Then the report files of c.Reports that the command wrote (modified since
// it started, to the second) are read. When the command's own output held
// no test, their tests are merged into its step (which keeps its exit code,
// output and timing); otherwise each file is one more step in FileSteps.
// Files older than the start are ignored and named in a note.
func (r *Runner) Run(ctx context.Context, c Command) *StepRun {
	argv, isGoTest, human, verbose := GoTestJSON(c.Argv)
	line := CommandLine(c.Argv)
	// Report files the command's own flags name, and, for a pytest
	// without one, a JUnit report pony-report asks for.
	c.Reports = append(c.Reports[:len(c.Reports):len(c.Reports)], NamedReports(c.Argv)...)
	if _, pytest := PytestJUnitArg(argv, "-"); pytest && !isGoTest && !pytestJUnitOff(c.Dir) {
		if dir, err := os.MkdirTemp("", "pony-report-pytest-"); err == nil {
			defer os.RemoveAll(dir)
			file := filepath.Join(dir, "junit.xml")
			if a, ok := PytestJUnitArg(argv, file); ok {
				argv = a
				c.Reports = append(c.Reports, ReportGlob{Format: "junit", Pattern: file, Implicit: true})
			}
		}
	}
	sr := &StepRun{Step: pony.Step{Type: c.Type, Name: c.Name, Command: line}}
	st := &sr.Step
	if st.Type == "" {
		st.Type = "test"
	}
	if st.Name == "" {
		st.Name = stepName(line)
	}
	if r.Count != nil {
		r.Count.reset()
	}
	start := r.now()
	defer func() { st.Duration = r.now().Sub(start).Seconds() }()
	if len(argv) == 0 {
		sr.ExitCode, st.Status = ExitNotRun, -1
		st.Errout = "pony-report: no command to run"
		return sr
	}
	opts := reporters.Options{File: st.Name, KeepPassingOutput: r.KeepPassingOutput}.WithDefaults()
	errTail := &pony.TailBuffer{Max: opts.StepOutputCap}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Stdin = r.Stdin
	ownGroup := setProcessGroup(cmd, r.Stdin)
	// Orphans still holding the output open do not hold the step up for
	// long once the command itself has exited.
	cmd.WaitDelay = 5 * time.Second

	stdout := r.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	stderr := r.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	var humanW *goHuman
	term := stdout
	if human {
		format := "standard-quiet"
		if verbose {
			format = "standard-verbose"
		}
		humanW = newGoHuman(stdout, format)
		term = humanW
	}
	pr, pw := io.Pipe()
	tee := &teeWriter{term: term, parse: pw, count: r.Count}
	cmd.Stdout = tee
	cmd.Stderr = io.MultiWriter(stderr, errTail)

	type parsed struct {
		step *pony.Step
		err  error
	}
	done := make(chan parsed, 1)
	go func() {
		// A setup or build step's output is not read for tests: what it
		// prints ("ok", a plan-like line) says nothing of them, and a
		// stream taken for a cut TAP one would fail the step.
		step, err := parseStream(ctx, pr, opts, c.Type != "setup" && c.Type != "build")
		io.Copy(io.Discard, pr) // the parser may stop early: never block the command
		done <- parsed{step, err}
	}()

	if err := cmd.Start(); err != nil {
		pw.Close()
		<-done
		sr.ExitCode, st.Status = ExitNotRun, -1
		st.Format = "none"
		msg := fmt.Sprintf("cannot run %s: %v", argv[0], unwrapExec(err))
		st.Errout = msg
		r.say("%s", msg)
		return sr
	}
	var (
		mu     sync.Mutex
		why    string // why the command was stopped, when it was
		stop   = make(chan struct{})
		waited = make(chan struct{})
	)
	setWhy := func(s string) {
		mu.Lock()
		if why == "" {
			why = s
		}
		mu.Unlock()
	}
	grace := r.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	go func() {
		defer close(waited)
		var limit <-chan time.Time
		if c.TimeLimit > 0 {
			t := time.NewTimer(c.TimeLimit)
			defer t.Stop()
			limit = t.C
		}
		var kill <-chan time.Time
		ints := 0
		killNow := func(reason string) {
			setWhy(reason)
			signalCommand(cmd, ownGroup, syscall.SIGKILL)
		}
		for {
			select {
			case <-stop:
				return
			case <-limit:
				limit = nil
				setWhy(fmt.Sprintf("stopped by pony-report after its time limit of %v", c.TimeLimit))
				r.say("%s ran over its time limit of %v: sending SIGTERM (SIGKILL in %v)", st.Name, c.TimeLimit, grace)
				signalCommand(cmd, ownGroup, syscall.SIGTERM)
				t := time.NewTimer(grace)
				defer t.Stop()
				kill = t.C
			case <-kill:
				kill = nil
				r.say("%s still running %v after SIGTERM: sending SIGKILL", st.Name, grace)
				killNow(fmt.Sprintf("killed by pony-report (SIGKILL) %v after SIGTERM", grace))
			case sig := <-r.Signals:
				r.interrupted.Store(true)
				s, _ := sig.(syscall.Signal)
				if s == syscall.SIGINT {
					ints++
					if ints > 1 {
						r.say("second interrupt: killing %s", st.Name)
						killNow("killed by pony-report after a second interrupt")
						continue
					}
				}
				setWhy(fmt.Sprintf("interrupted: pony-report received %v and passed it on", sig))
				if s == syscall.SIGINT && !ownGroup {
					// The terminal sent it to the whole foreground group:
					// the command has it already.
					continue
				}
				signalCommand(cmd, ownGroup, s)
			}
		}
	}()
	werr := cmd.Wait()
	close(stop)
	<-waited
	pw.Close()
	res := <-done
	if humanW != nil {
		humanW.Close()
	}

	sr.ExitCode = exitCode(cmd.ProcessState, werr)
	if res.step != nil {
		*st = mergeParsed(*st, res.step)
	}
	if res.err != nil && res.step != nil && res.step.Format != "none" {
		sr.Problems = append(sr.Problems, res.err)
	}
	st.Status = sr.ExitCode
	st.Errout = errTail.String()
	if !isGoTest && st.Format == "none" && len(st.Output) == 0 {
		st.Output = ""
	}
	mu.Lock()
	reason := why
	mu.Unlock()
	if reason == "" && signaled(cmd.ProcessState) {
		reason = fmt.Sprintf("killed by signal %d", sr.ExitCode-ExitSignalBase)
	}
	if reason != "" {
		st.Incomplete = true
		setNote(st, reason)
		if st.Errout != "" && !strings.HasSuffix(st.Errout, "\n") {
			st.Errout += "\n"
		}
		st.Errout = pony.CapTail(st.Errout+"[pony-report: "+reason+"]\n", opts.StepOutputCap)
	}
	if errors.Is(werr, exec.ErrWaitDelay) {
		r.say("%s exited but something it started still held its output open; stopped reading after 5s", st.Name)
	}
	r.readReports(ctx, c, start, sr)
	return sr
}

// mergeParsed puts what the parser read into the step, keeping the
// command's identity.
func mergeParsed(st pony.Step, p *pony.Step) pony.Step {
	p.Type, p.Name, p.Command = st.Type, st.Name, st.Command
	return *p
}

// setNote records why a step is incomplete in its "note" key.
func setNote(st *pony.Step, note string) {
	if st.Extra == nil {
		st.Extra = map[string]json.RawMessage{}
	}
	b, _ := json.Marshal(note)
	st.Extra["note"] = b
}

// parseStream detects the format of the stream's first bytes and parses
// it (when detect is set); with no known format, the step holds the tail of
// the stream as its output, with format none.
func parseStream(ctx context.Context, r io.Reader, opts reporters.Options, detect bool) (*pony.Step, error) {
	br := bufio.NewReaderSize(r, reporters.DetectSize)
	head, err := br.Peek(reporters.DetectSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if f, derr := reporters.Detect(head); derr == nil && detect {
		return reporters.Parse(ctx, f.Name, br, opts)
	}
	out := &pony.TailBuffer{Max: opts.StepOutputCap}
	_, err = io.Copy(out, br)
	return &pony.Step{Format: "none", Output: out.String()}, err
}

// unwrapExec makes exec's start errors read well.
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		if errors.Is(ee.Err, exec.ErrNotFound) {
			return errors.New("command not found")
		}
		return ee.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// exitCode is a finished command's status, sh style.
func exitCode(ps *os.ProcessState, werr error) int {
	if ps == nil {
		if werr != nil {
			return 1
		}
		return 0
	}
	if n := signalNumber(ps); n > 0 {
		return ExitSignalBase + n
	}
	return ps.ExitCode()
}

func signaled(ps *os.ProcessState) bool { return ps != nil && signalNumber(ps) > 0 }

// teeWriter passes a command's stdout to the terminal, to the parser and to
// the test counter.
type teeWriter struct {
	term  io.Writer
	parse io.Writer
	count *TestCount
	// line holds the start of the current line for the counter.
	line []byte
}

func (t *teeWriter) Write(p []byte) (int, error) {
	// The terminal may go away (a closed pipe): the parse goes on.
	t.term.Write(p)
	if t.count != nil {
		t.countLines(p)
	}
	if _, err := t.parse.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// countHead is how much of a line the counter looks at.
const countHead = 512

func (t *teeWriter) countLines(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := countHead - len(t.line); room > 0 {
			t.line = append(t.line, chunk[:min(room, len(chunk))]...)
		}
		if i < 0 {
			return
		}
		t.count.line(t.line)
		t.line = t.line[:0]
		p = p[i+1:]
	}
}

// goHuman turns `go test -json` lines back into go test's usual output on
// a terminal, through gotestsum's formatter. Lines that are not events
// (build errors, go's own messages) pass as they are. Without -v, a
// failing test's output is shown when it fails, as go test does.
type goHuman struct {
	out     io.Writer
	fmt     testjson.EventFormatter
	verbose bool
	partial []byte
	held    map[[2]string]*pony.TailBuffer // test output held until its verdict
	// verdictLine holds a test's "--- FAIL: …" line, printed before its
	// output.
	verdictLine map[[2]string]string
	// failed: a package failed; go test ends its output with "FAIL" then,
	// a line that is no event.
	failed bool
}

func newGoHuman(out io.Writer, format string) *goHuman {
	return &goHuman{
		out:     out,
		fmt:     testjson.NewEventFormatter(out, format, testjson.FormatOptions{}),
		verbose: format == "standard-verbose",
		held:    map[[2]string]*pony.TailBuffer{},

		verdictLine: map[[2]string]string{},
	}
}

func (g *goHuman) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(g.partial)+len(p) > 1<<20 { // not a JSON line: let it through
				g.out.Write(g.partial)
				g.out.Write(p)
				g.partial = g.partial[:0]
				return n, nil
			}
			g.partial = append(g.partial, p...)
			return n, nil
		}
		line := p[:i+1]
		if len(g.partial) > 0 {
			line = append(g.partial, line...)
			g.partial = g.partial[:0]
		}
		g.line(line)
		p = p[i+1:]
	}
	return n, nil
}

func (g *goHuman) line(l []byte) {
	t := bytes.TrimSpace(l)
	var ev testjson.TestEvent
	if len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &ev) != nil || ev.Action == "" {
		g.out.Write(l)
		return
	}
	if !g.verbose && ev.Test != "" {
		k := [2]string{ev.Package, ev.Test}
		switch ev.Action {
		case testjson.ActionOutput:
			b := g.held[k]
			if b == nil {
				b = &pony.TailBuffer{Max: 64 << 10}
				g.held[k] = b
			}
			switch {
			case strings.HasPrefix(ev.Output, "=== "):
			case strings.HasPrefix(ev.Output, "--- "):
				g.verdictLine[k] = ev.Output // go test prints it first
			default:
				b.WriteString(ev.Output)
			}
		case testjson.ActionFail:
			io.WriteString(g.out, g.verdictLine[k])
			if b := g.held[k]; b != nil {
				io.WriteString(g.out, b.String())
			}
			delete(g.held, k)
			delete(g.verdictLine, k)
		case testjson.ActionPass, testjson.ActionSkip:
			delete(g.held, k)
			delete(g.verdictLine, k)
		}
	}
	if ev.Test == "" && ev.Action == testjson.ActionFail {
		g.failed = true
	}
	g.fmt.Format(ev, nil)
}

// Close writes what is left of a last line without a newline, and go
// test's closing "FAIL" when a package failed.
func (g *goHuman) Close() {
	if len(g.partial) > 0 {
		g.line(g.partial)
		g.partial = nil
	}
	if g.failed {
		io.WriteString(g.out, "FAIL\n")
	}
}
