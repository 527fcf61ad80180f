package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

// ErrNotJUnit is returned (inside a *pony.InputError) when the input is not
// a JUnit report at all: its root element is not <testsuites> or
// <testsuite>, or it holds no XML element.
var ErrNotJUnit = errors.New("not a JUnit XML report")

// ErrTruncated is returned (inside a *pony.InputError) when the input ends
// while elements are still open.
var ErrTruncated = errors.New("input ends early")

// Options configure a Decoder.
type Options struct {
	// File names the input in errors ("-" for standard input).
	File string
	// OutputCap caps each entry's output and message, keeping the tail.
	// Zero means pony.DefaultLimits.Output; a negative value means no cap.
	OutputCap int
	// StepOutputCap caps the suites' system-out and system-err as gathered
	// by SuiteOutput and SuiteErrout, keeping the tail. Zero means
	// pony.DefaultLimits.StepOutput; a negative value means no cap.
	StepOutputCap int
	// KeepPassingOutput keeps the output of passing tests too.
	KeepPassingOutput bool
}

func capOf(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0 // TailBuffer and CapTail read 0 as "no cap"
	}
	return v
}

// Counts sums up what a Decoder has read so far.
type Counts struct {
	// Suites counts <testsuite> elements.
	Suites int
	// Testcases counts complete <testcase> elements.
	Testcases int
	// Entries counts the results Next returned, attempts included.
	Entries int
	// SuiteErrors counts the entries made for suite-level errors.
	SuiteErrors int
	// Pass, Fail, Error, Skip, XFail and XPass count testcases by their own
	// verdict (a rerun testcase counts once, by its last attempt).
	Pass, Fail, Error, Skip, XFail, XPass int
}

func (c *Counts) count(s pony.Status) {
	switch s {
	case pony.StatusPass:
		c.Pass++
	case pony.StatusFail:
		c.Fail++
	case pony.StatusError:
		c.Error++
	case pony.StatusSkip:
		c.Skip++
	case pony.StatusXFail:
		c.XFail++
	case pony.StatusXPass:
		c.XPass++
	}
}

// Decoder reads a JUnit XML report one <testcase> at a time. See the
// package documentation for the mapping onto pony.TestResult.
type Decoder struct {
	lx   *lexer
	opts Options
	// outCap and stepCap are the resolved caps (0: none).
	outCap, stepCap int

	stack    []string // open elements' local names
	suites   []suite
	pending  []pony.TestResult
	next     int // index of the next pending entry to return
	err      error
	rootSeen bool
	counts   Counts
	unnamed  int
	// attempts numbers the entries of each test, by a hash of its key:
	// a test met again is a rerun. Hashes keep this map small (16 bytes a
	// test); a collision of 64-bit hashes is negligible.
	attempts map[uint64]int32
	seed     maphash.Seed

	suiteOut, suiteErr pony.TailBuffer
	tc                 testcase
	part               part
	// lastClass and lastFile are the last classname and file attributes
	// read, reused while the next testcases repeat them.
	lastClass, lastFile string
	// javaVersion is the first suite's java.version property.
	javaVersion string
}

type suite struct {
	name      string
	failures  int
	errors    int
	tests     int
	testcases int  // testcases inside, nested suites included
	reported  bool // a suite-level entry was made already
	// repeats is set when a testcase met again in this suite is a rerun
	// of the first (see repeatsAreReruns), inherited by nested suites.
	repeats bool
}

// repeatsAreReruns reports whether a suite property says that a testcase
// met again is a rerun: go.version, which the Go tools that write a
// testcase per run (gotestsum after --rerun-fails or go test -count=N,
// go-junit-report) put in every suite, and pony.repeats=attempts, which
// WriteBag puts in a suite where it wrote a test as several testcases.
func repeatsAreReruns(name, value []byte) bool {
	return string(name) == "go.version" || string(name) == "pony.repeats" && string(value) == "attempts"
}

// NewDecoder returns a Decoder reading r.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	d := &Decoder{
		lx:       newLexer(r, charsetReader),
		opts:     opts,
		outCap:   capOf(opts.OutputCap, pony.DefaultLimits.Output),
		stepCap:  capOf(opts.StepOutputCap, pony.DefaultLimits.StepOutput),
		attempts: make(map[uint64]int32),
		seed:     maphash.MakeSeed(),
	}
	d.suiteOut.Max = d.stepCap
	d.suiteErr.Max = d.stepCap
	d.tc.init(d.outCap)
	return d
}

// Next returns the next test entry. It returns io.EOF after the last one,
// and a *pony.InputError when the input is damaged or not JUnit; every entry
// completed before the damage has been returned by then.
func (d *Decoder) Next() (pony.TestResult, error) {
	for {
		if d.next < len(d.pending) {
			t := d.pending[d.next]
			d.pending[d.next] = pony.TestResult{}
			d.next++
			d.counts.Entries++
			return t, nil
		}
		d.pending, d.next = d.pending[:0], 0
		if d.err != nil {
			return pony.TestResult{}, d.err
		}
		if err := d.advance(); err != nil {
			d.err = err
		}
	}
}

// Counts returns what has been read so far.
func (d *Decoder) Counts() Counts { return d.counts }

// SuiteOutput returns the suites' <system-out>, each block headed by its
// suite's name, capped by Options.StepOutputCap.
func (d *Decoder) SuiteOutput() string { return d.suiteOut.String() }

// SuiteErrout returns the suites' <system-err>, like SuiteOutput.
func (d *Decoder) SuiteErrout() string { return d.suiteErr.String() }

// Started reports whether a JUnit root element has been read: an error
// after that point leaves good entries behind, an error before it means the
// input is not JUnit at all.
func (d *Decoder) Started() bool { return d.rootSeen }

// fail builds the decoder's InputError at the current position.
func (d *Decoder) fail(err error) error {
	return &pony.InputError{File: d.opts.File, Line: d.lx.line, Offset: d.lx.offset(), Err: err}
}

// token reads the next raw token into d.lx, keeping the element stack and
// checking that end tags match (the lexer, like encoding/xml's RawToken,
// does not).
func (d *Decoder) token() error {
	err := d.lx.next()
	if err != nil {
		if err == io.EOF {
			if !d.rootSeen {
				return d.fail(fmt.Errorf("%w: no XML element found", ErrNotJUnit))
			}
			if len(d.stack) > 0 {
				return d.fail(fmt.Errorf("%w: %s still open", ErrTruncated, d.openElements()))
			}
			return io.EOF
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			ie := d.fail(fmt.Errorf("malformed XML: %s", se.Msg))
			ie.(*pony.InputError).Line = se.Line
			if !d.rootSeen {
				ie.(*pony.InputError).Err = fmt.Errorf("%w: malformed XML: %s", ErrNotJUnit, se.Msg)
			} else if strings.Contains(se.Msg, "unexpected EOF") {
				ie.(*pony.InputError).Err = fmt.Errorf("%w: malformed XML: %s; %s still open", ErrTruncated, se.Msg, d.openElements())
			}
			return ie
		}
		if !d.rootSeen {
			return d.fail(fmt.Errorf("%w: %w", ErrNotJUnit, err))
		}
		return d.fail(fmt.Errorf("read XML: %w", err))
	}
	lx := d.lx
	switch lx.kind {
	case tokStart:
		if len(d.stack) == 0 {
			if string(lx.local) != "testsuites" && string(lx.local) != "testsuite" {
				if !d.rootSeen {
					return d.fail(fmt.Errorf("%w: the root element is <%s>, want <testsuites> or <testsuite>", ErrNotJUnit, lx.qname()))
				}
				return d.fail(fmt.Errorf("unexpected element <%s> after the root element", lx.qname()))
			}
			d.rootSeen = true
			// Text is kept only inside the elements text and readRerun
			// read; elsewhere a long one is streamed and dropped.
			d.lx.textCap = 1
		}
		d.stack = append(d.stack, d.intern(lx.local))
	case tokEnd:
		if len(d.stack) == 0 {
			return d.fail(fmt.Errorf("malformed XML: unexpected end element </%s>", lx.qname()))
		}
		if top := d.stack[len(d.stack)-1]; top != string(lx.local) {
			return d.fail(fmt.Errorf("malformed XML: element <%s> closed by </%s>", top, lx.qname()))
		}
		d.stack = d.stack[:len(d.stack)-1]
	case tokText:
		if !d.rootSeen && len(bytes.TrimLeft(bytes.TrimSpace(lx.text), "\ufeff")) > 0 {
			return d.fail(fmt.Errorf("%w: text before any XML element: %s", ErrNotJUnit, quoteHead(lx.text)))
		}
	}
	return nil
}

// knownNames are the element names JUnit files use most, kept as strings
// on the element stack without allocating.
var knownNames = [...]string{
	"testsuites", "testsuite", "testcase", "failure", "error", "skipped",
	"system-out", "system-err", "properties", "property", "flakyFailure",
	"flakyError", "rerunFailure", "rerunError", "stackTrace",
}

// intern returns name as a string, without allocating for known names.
func (d *Decoder) intern(name []byte) string {
	for _, k := range knownNames {
		if string(name) == k {
			return k
		}
	}
	return string(name)
}

func quoteHead(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 40 {
		b = append(b[:40:40], "…"...)
	}
	return strconv.Quote(string(b))
}

func (d *Decoder) openElements() string {
	var b strings.Builder
	for i, n := range d.stack {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<" + n + ">")
	}
	return b.String()
}

// advance reads tokens outside testcases until it has queued entries or hit
// the end or an error.
func (d *Decoder) advance() error {
	for len(d.pending) == 0 {
		if err := d.token(); err != nil {
			return err
		}
		lx := d.lx
		switch lx.kind {
		case tokStart:
			parent := ""
			n := len(d.stack)
			if n >= 2 {
				parent = d.stack[n-2]
			}
			switch name := d.stack[n-1]; name {
			case "testsuite":
				d.counts.Suites++
				s := suite{name: lx.attrString("name")}
				if len(d.suites) > 0 {
					s.repeats = d.suites[len(d.suites)-1].repeats
				}
				s.tests = lx.attrInt("tests")
				s.failures = lx.attrInt("failures")
				s.errors = lx.attrInt("errors")
				d.suites = append(d.suites, s)
			case "testcase":
				if err := d.readTestcase(); err != nil {
					return err
				}
			case "system-out", "system-err":
				if parent != "testsuite" {
					if err := d.skip(); err != nil {
						return err
					}
					continue
				}
				buf := &d.suiteOut
				if name == "system-err" {
					buf = &d.suiteErr
				}
				if err := d.readSuiteOutput(buf); err != nil {
					return err
				}
			case "error", "failure":
				if parent != "testsuite" {
					if err := d.skip(); err != nil {
						return err
					}
					continue
				}
				if err := d.readSuiteError(name); err != nil {
					return err
				}
			case "properties":
				if parent != "testsuite" {
					if err := d.skip(); err != nil {
						return err
					}
					continue
				}
				if err := d.readProperties(true); err != nil {
					return err
				}
			}
		case tokEnd:
			if string(lx.local) == "testsuite" && len(d.suites) > 0 {
				d.endSuite()
			}
		}
	}
	return nil
}

// attrInt reads an attribute as atoi does.
func (l *lexer) attrInt(name string) int {
	v, _ := l.attr(name)
	if len(v) > 64 {
		return 0
	}
	return atoi(string(v))
}

// skip reads to the end of the element just opened.
func (d *Decoder) skip() error { return d.text(nil) }

// text reads to the end of the element just opened, writing its text
// (that of nested elements included) to p when p is not nil.
func (d *Decoder) text(p *part) error {
	depth := len(d.stack)
	saved := d.lx.textCap
	d.lx.textCap = p.textCap()
	defer func() { d.lx.textCap = saved }()
	for {
		if err := d.token(); err != nil {
			return err
		}
		switch d.lx.kind {
		case tokText:
			if p != nil {
				p.token(d.lx)
			}
		case tokEnd:
			if len(d.stack) < depth {
				return nil
			}
		}
	}
}

// part writes one element's text into a tail-capped buffer shared by the
// parts of one output: a blank part writes nothing, a part that writes
// something is preceded by header and ends with a newline. It keeps the
// first bytes of the part for messages.
type part struct {
	w       *pony.TailBuffer
	header  string
	pending spool // leading blanks, written once something else comes
	wrote   bool
	last    byte
	head    []byte
}

const headSize = 4096

func (p *part) begin(w *pony.TailBuffer, header string) {
	p.w, p.header, p.wrote = w, header, false
	p.pending.reset(p.textCap())
	p.head = p.head[:0]
}

// textCap is the lexer's textCap for text written to p: its buffer's Max
// (0, no cap: text is held whole), or 1 when nothing is kept.
func (p *part) textCap() int {
	if p == nil || p.w == nil {
		return 1
	}
	return p.w.Max
}

// token writes the text token lx holds, whole or streamed.
func (p *part) token(lx *lexer) {
	if lx.long {
		p.writeLong(lx.text, &lx.tail, lx.blank)
		return
	}
	p.write(lx.text)
}

func (p *part) write(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(p.head) < headSize {
		p.head = append(p.head, b[:min(len(b), headSize-len(p.head))]...)
	}
	if p.w == nil {
		return
	}
	if !p.wrote {
		if len(bytes.TrimSpace(b)) == 0 {
			if p.pending.n < headSize {
				p.pending.write(b)
			}
			return
		}
		if p.header != "" {
			p.w.WriteString(p.header)
		}
		p.pending.writeTo(p.w)
		p.wrote = true
	}
	p.w.Write(b)
	p.last = b[len(b)-1]
}

// writeLong is write for a text the lexer streamed: head is its first
// bytes, t its length and tail, blank whether it is blank. It writes what
// write would have written of the whole text.
func (p *part) writeLong(head []byte, t *spool, blank bool) {
	if len(p.head) < headSize {
		p.head = append(p.head, head[:min(len(head), headSize-len(p.head))]...)
	}
	if p.w == nil {
		return
	}
	if !p.wrote {
		if blank {
			if p.pending.n < headSize {
				p.pending.add(t)
			}
			return
		}
		if p.header != "" {
			p.w.WriteString(p.header)
		}
		p.pending.writeTo(p.w)
		p.wrote = true
	}
	t.writeTo(p.w)
	p.last = t.last()
}

// end closes the part.
func (p *part) end() {
	if p.wrote && p.last != '\n' {
		p.w.WriteString("\n")
	}
}

// first returns the part's first line, for messages.
func (p *part) first() string { return firstLineBytes(p.head) }

func (d *Decoder) currentSuite() string {
	if n := len(d.suites); n > 0 {
		return d.suites[n-1].name
	}
	return ""
}

func (d *Decoder) readSuiteOutput(buf *pony.TailBuffer) error {
	header := ""
	if name := d.currentSuite(); name != "" {
		header = "[" + name + "]\n"
	}
	d.part.begin(buf, header)
	err := d.text(&d.part)
	d.part.end()
	return err
}

// readSuiteError turns an <error> or <failure> directly inside a
// <testsuite> into an entry for the suite.
func (d *Decoder) readSuiteError(kind string) error {
	msg := d.lx.attrString("message")
	body := pony.TailBuffer{Max: d.outCap}
	d.part.begin(&body, "")
	if err := d.text(&d.part); err != nil {
		return err
	}
	d.part.end()
	st := pony.StatusError
	if kind == "failure" {
		st = pony.StatusFail
	}
	if msg == "" {
		msg = d.part.first()
	}
	if msg == "" {
		msg = "testsuite reports an " + kind
	}
	if n := len(d.suites); n > 0 {
		d.suites[n-1].reported = true
	}
	d.queueSuiteEntry(st, msg, body.String())
	return nil
}

func (d *Decoder) queueSuiteEntry(st pony.Status, msg, out string) {
	t := pony.TestResult{
		Suite:   d.currentSuite(),
		Name:    "(testsuite)",
		Status:  st,
		Message: pony.CapTail(msg, d.outCap),
		Output:  pony.CapTail(out, d.outCap),
	}
	t.Attempt = d.attempt(t.Key())
	d.counts.SuiteErrors++
	d.pending = append(d.pending, t)
}

func (d *Decoder) attempt(k pony.TestKey) int { return d.attemptOf(d.keyHash(k.Suite, k.Name)) }

// attemptOf numbers the next entry of the test whose key hashes to sum.
func (d *Decoder) attemptOf(sum uint64) int {
	n := d.attempts[sum] + 1
	d.attempts[sum] = n
	return int(n)
}

func (d *Decoder) keyHash(suite, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(suite)
	h.WriteByte(0)
	h.WriteString(name)
	return h.Sum64()
}

// repeats reports whether the current suite takes a testcase met again
// as a rerun.
func (d *Decoder) repeats() bool {
	n := len(d.suites)
	return n > 0 && d.suites[n-1].repeats
}

// unusedName returns name with " #2", " #3"… appended, the first that no
// test of suite has.
func (d *Decoder) unusedName(suite, name string) string {
	for n := 2; ; n++ {
		c := name + " #" + strconv.Itoa(n)
		if d.attempts[d.keyHash(suite, c)] == 0 {
			return c
		}
	}
}

func (d *Decoder) endSuite() {
	n := len(d.suites)
	s := d.suites[n-1]
	if s.testcases == 0 && !s.reported && s.failures+s.errors > 0 {
		st := pony.StatusError
		if s.errors == 0 {
			st = pony.StatusFail
		}
		d.queueSuiteEntry(st, fmt.Sprintf("testsuite declares tests=%d failures=%d errors=%d but holds no testcase", s.tests, s.failures, s.errors), "")
	}
	d.suites = d.suites[:n-1]
	if n >= 2 {
		d.suites[n-2].testcases += s.testcases
	}
}

// testcase is the state of the testcase being read; its buffers are reused.
type testcase struct {
	verdicts   []verdict
	flaky      []rerun
	reruns     []rerun
	output     pony.TailBuffer // verdict texts, system-out, system-err
	properties map[string]string
}

type verdict struct {
	kind    string // error, failure, skipped
	message string
	typ     string
	first   string // the first line of its text
}

type rerun struct {
	status   pony.Status
	message  string
	duration float64
	output   string
}

// tcAttrs are the attributes of a testcase's start tag that it keeps.
type tcAttrs struct {
	name, classname, file string
	duration              float64
	line                  int
}

func (tc *testcase) init(max int) {
	tc.output.Max = max
}

func (tc *testcase) reset() {
	tc.verdicts = tc.verdicts[:0]
	tc.flaky = tc.flaky[:0]
	tc.reruns = tc.reruns[:0]
	tc.output.Reset()
	tc.properties = nil
}

// readTestcase reads one <testcase> whose start tag was just read and
// queues its entries.
func (d *Decoder) readTestcase() error {
	lx := d.lx
	var a tcAttrs
	var firstName []byte // errors name the testcase by its first name attribute
	for i := range lx.attrs {
		at := &lx.attrs[i]
		v := lx.abuf[at.value[0]:at.value[1]]
		switch string(lx.abuf[at.local[0]:at.local[1]]) {
		case "name":
			a.name = string(v)
			if firstName == nil {
				firstName = v
			}
		case "classname":
			if string(v) != d.lastClass {
				d.lastClass = string(v)
			}
			a.classname = d.lastClass
		case "time":
			a.duration = secondsBytes(v)
		case "file":
			if string(v) != d.lastFile {
				d.lastFile = string(v)
			}
			a.file = d.lastFile
		case "line":
			a.line = 0
			if len(v) <= 64 {
				a.line = atoi(string(v))
			}
		}
	}
	first := ""
	if len(firstName) > 0 {
		first = a.name
		if string(firstName) != a.name {
			first = string(firstName)
		}
	}
	err := d.readTestcaseBody(&a)
	if err != nil && first != "" {
		if ie, ok := err.(*pony.InputError); ok {
			ie.Err = fmt.Errorf("%w (in testcase %q)", ie.Err, first)
		}
	}
	return err
}

// secondsBytes is seconds on bytes; a plain decimal ("0.125") is read
// without allocating.
func secondsBytes(v []byte) float64 {
	plain := len(v) > 0 && len(v) <= 32
	for _, c := range v {
		if (c < '0' || c > '9') && c != '.' {
			plain = false
			break
		}
	}
	if !plain {
		return seconds(string(v))
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) {
		return seconds(string(v))
	}
	return f
}

func (d *Decoder) readTestcaseBody(a *tcAttrs) error {
	tc := &d.tc
	tc.reset()
	depth := len(d.stack)
	lx := d.lx
	for {
		if err := d.token(); err != nil {
			return err
		}
		switch lx.kind {
		case tokEnd:
			if len(d.stack) < depth {
				d.finishTestcase(a)
				return nil
			}
		case tokStart:
			switch name := d.stack[len(d.stack)-1]; name {
			case "failure", "error", "skipped":
				v := verdict{
					kind:    name,
					message: lx.attrString("message"),
					typ:     lx.attrString("type"),
				}
				d.part.begin(&tc.output, "")
				if err := d.text(&d.part); err != nil {
					return err
				}
				d.part.end()
				if v.message == "" {
					v.first = d.part.first()
				}
				tc.verdicts = append(tc.verdicts, v)
			case "flakyFailure", "flakyError", "rerunFailure", "rerunError":
				r, err := d.readRerun(name)
				if err != nil {
					return err
				}
				if strings.HasPrefix(name, "flaky") {
					tc.flaky = append(tc.flaky, r)
				} else {
					tc.reruns = append(tc.reruns, r)
				}
			case "system-out", "system-err":
				d.part.begin(&tc.output, "")
				if err := d.text(&d.part); err != nil {
					return err
				}
				d.part.end()
			case "properties":
				if err := d.readProperties(false); err != nil {
					return err
				}
			default:
				if err := d.skip(); err != nil {
					return err
				}
			}
		}
	}
}

func (d *Decoder) readRerun(kind string) (rerun, error) {
	lx := d.lx
	r := rerun{
		status:  pony.StatusFail,
		message: lx.attrString("message"),
	}
	if v, _ := lx.attr("time"); len(v) > 0 {
		r.duration = secondsBytes(v)
	}
	if strings.HasSuffix(kind, "Error") {
		r.status = pony.StatusError
	}
	out := pony.TailBuffer{Max: d.outCap}
	var p part // the rerun's own text, between its children
	p.begin(&out, "")
	saved := lx.textCap
	lx.textCap = p.textCap()
	defer func() { lx.textCap = saved }()
	depth := len(d.stack)
	for {
		if err := d.token(); err != nil {
			return r, err
		}
		switch lx.kind {
		case tokText:
			p.token(lx)
		case tokEnd:
			if len(d.stack) < depth {
				p.end()
				r.output = out.String()
				if r.message == "" {
					r.message = p.first()
				}
				return r, nil
			}
		case tokStart:
			switch name := d.stack[len(d.stack)-1]; name {
			case "stackTrace", "system-out", "system-err":
				p.end()
				d.part.begin(&out, "")
				if err := d.text(&d.part); err != nil {
					return r, err
				}
				d.part.end()
				if r.message == "" && name == "stackTrace" {
					r.message = d.part.first()
				}
				p.begin(&out, "")
			default:
				if err := d.skip(); err != nil {
					return r, err
				}
			}
		}
	}
}

// JavaVersion returns the java.version property of the first testsuite
// that has one (Surefire and Failsafe write the JVM's system properties
// into each suite): the Java the tests ran on. It is "" when none was read
// so far.
func (d *Decoder) JavaVersion() string { return d.javaVersion }

// readProperties reads a testcase's <properties> into d.tc, or, when suite
// is true, a testsuite's, of which it keeps only the first java.version
// (see JavaVersion): Surefire writes every system property of the JVM
// there, in every suite, so nothing else is made a string.
func (d *Decoder) readProperties(suite bool) error {
	depth := len(d.stack)
	lx := d.lx
	for {
		if err := d.token(); err != nil {
			return err
		}
		switch lx.kind {
		case tokEnd:
			if len(d.stack) < depth {
				return nil
			}
		case tokStart:
			if string(lx.local) != "property" || suite {
				if suite && string(lx.local) == "property" && len(d.suites) > 0 {
					n, _ := lx.attr("name")
					v, _ := lx.attr("value")
					if d.javaVersion == "" && string(n) == "java.version" {
						d.javaVersion = strings.TrimSpace(string(v))
					}
					if repeatsAreReruns(n, v) {
						d.suites[len(d.suites)-1].repeats = true
					}
				}
				if err := d.skip(); err != nil {
					return err
				}
				continue
			}
			name := lx.attrString("name")
			value, hasValue := "", false
			for i := range lx.attrs {
				a := &lx.attrs[i]
				if string(lx.abuf[a.local[0]:a.local[1]]) == "value" {
					value, hasValue = string(lx.abuf[a.value[0]:a.value[1]]), true
				}
			}
			if hasValue {
				if err := d.skip(); err != nil {
					return err
				}
			} else {
				text := pony.TailBuffer{Max: d.outCap}
				d.part.begin(&text, "")
				if err := d.text(&d.part); err != nil {
					return err
				}
				d.part.end()
				value = strings.TrimSuffix(text.String(), "\n")
			}
			if d.tc.properties == nil {
				d.tc.properties = make(map[string]string)
			}
			d.tc.properties[name] = value
		}
	}
}

// nodePlaceholderClass is the classname node's junit reporter writes on
// every testcase; it names nothing, so the enclosing suite (node's describe
// block) is the suite instead.
const nodePlaceholderClass = "test"

// finishTestcase turns the testcase just read into entries.
func (d *Decoder) finishTestcase(a *tcAttrs) {
	tc := &d.tc
	name, classname := a.name, a.classname
	if name == "" {
		d.unnamed++
		name = fmt.Sprintf("(unnamed testcase %d)", d.unnamed)
	}
	suiteName := classname
	if suiteName == "" || suiteName == nodePlaceholderClass {
		suiteName = d.currentSuite()
	}
	main := pony.TestResult{
		Suite:    suiteName,
		Name:     name,
		Status:   pony.StatusPass,
		Duration: a.duration,
		File:     a.file,
		Line:     a.line,
	}

	// The deciding element: the first error, else the first failure, else
	// the first skipped.
	var dec *verdict
	for _, kind := range [...]string{"error", "failure", "skipped"} {
		for i := range tc.verdicts {
			if tc.verdicts[i].kind == kind {
				dec = &tc.verdicts[i]
				break
			}
		}
		if dec != nil {
			break
		}
	}
	if dec != nil {
		switch dec.kind {
		case "error":
			main.Status = pony.StatusError
		case "failure":
			main.Status = pony.StatusFail
		case "skipped":
			main.Status = skipStatus(dec)
		}
		// node's todo tests: <skipped type="todo"> plus a <failure> when the
		// test failed, as TAP's "# TODO".
		for i := range tc.verdicts {
			if v := &tc.verdicts[i]; v.kind == "skipped" && v.typ == "todo" {
				if dec.kind == "skipped" {
					main.Status = pony.StatusXPass
				} else {
					main.Status = pony.StatusXFail
				}
				break
			}
		}
		main.Message = dec.message
		if main.Message == "" {
			main.Message = dec.first
		}
	}
	if len(tc.properties) > 0 {
		if tc.properties["pony.status"] == "xpass" && main.Status == pony.StatusPass {
			main.Status = pony.StatusXPass
			delete(tc.properties, "pony.status")
		}
		if len(tc.properties) > 0 {
			main.Properties = tc.properties
		}
	}
	if main.Status != pony.StatusPass || d.opts.KeepPassingOutput {
		main.Output = tc.output.String()
	}
	main.Message = pony.CapTail(main.Message, d.outCap)

	d.counts.Testcases++
	d.counts.count(d.finalStatus(main.Status))
	if n := len(d.suites); n > 0 {
		d.suites[n-1].testcases++
	}
	sum := d.keyHash(main.Suite, main.Name) // hashed once for every entry of the testcase
	if d.attempts[sum] > 0 && !d.repeats() {
		// The same name again, in a report that does not write reruns as
		// testcases: another test (jest's same-named tests, xUnit's theory
		// rows), named as TAP's duplicates are, lest a failure be taken
		// for a retried flake.
		main.Name = d.unusedName(main.Suite, main.Name)
		sum = d.keyHash(main.Suite, main.Name)
	}
	for _, r := range tc.flaky {
		d.pending = append(d.pending, d.rerunEntry(main, r, sum))
	}
	main.Attempt = d.attemptOf(sum)
	d.pending = append(d.pending, main)
	for _, r := range tc.reruns {
		d.pending = append(d.pending, d.rerunEntry(main, r, sum))
	}
}

// skipStatus reads a deciding <skipped>: the expected failures of pytest
// (type "pytest.xfail"), unittest-xml-reporting (type "XFAIL") and nose2
// (message "expected test failure") are xfail; pytest's old strict xpass is
// a failure; anything else is a skip.
func skipStatus(v *verdict) pony.Status {
	switch {
	case v.typ == "pytest.xfail", strings.EqualFold(v.typ, "xfail"), v.message == "expected test failure":
		return pony.StatusXFail
	case v.message == "xfail-marked test passes unexpectedly":
		return pony.StatusFail
	}
	return pony.StatusSkip
}

func (d *Decoder) finalStatus(main pony.Status) pony.Status {
	if n := len(d.tc.reruns); n > 0 {
		return d.tc.reruns[n-1].status
	}
	return main
}

func (d *Decoder) rerunEntry(main pony.TestResult, r rerun, sum uint64) pony.TestResult {
	return pony.TestResult{
		Suite:    main.Suite,
		Name:     main.Name,
		Status:   r.status,
		Duration: r.duration,
		Attempt:  d.attemptOf(sum),
		Message:  pony.CapTail(r.message, d.outCap),
		Output:   pony.CapTail(r.output, d.outCap),
		File:     main.File,
		Line:     main.Line,
	}
}

// atoi reads a count or a line number: a non-negative decimal, spaces
// around allowed; anything else is 0. Unlike strconv.Atoi it does not
// allocate on bad input, which is common (empty attributes).
func atoi(s string) int {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 9 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// firstLine returns the first non-blank line of s, trimmed.
func firstLine(s string) string {
	for s != "" {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// firstLineBytes is firstLine for bytes; it allocates only the line.
func firstLineBytes(b []byte) string {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return string(line)
		}
	}
	return ""
}

// seconds reads a time attribute: seconds, possibly with thousands
// separators ("1,234.5"), or a Go duration ("1.5s"); anything else is 0.
func seconds(s string) float64 {
	if s == "" {
		return 0
	}
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, ',') >= 0 {
		s = strings.ReplaceAll(s, ",", "")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		dur, derr := time.ParseDuration(s)
		if derr != nil {
			return 0
		}
		f = dur.Seconds()
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

// charsetReader decodes the single-byte encodings JUnit files declare
// besides UTF-8: ISO-8859-1 (and windows-1252 read as it) and US-ASCII.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252", "us-ascii", "ascii":
		return &latin1Reader{r: input}, nil
	case "utf8":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (want UTF-8 or ISO-8859-1)", charset)
}

type latin1Reader struct {
	r   io.Reader
	buf []byte
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.out) == 0 {
		if cap(l.buf) == 0 {
			l.buf = make([]byte, 4096)
		}
		n, err := l.r.Read(l.buf[:cap(l.buf)])
		if n == 0 {
			return 0, err
		}
		l.out = l.out[:0]
		for _, c := range l.buf[:n] {
			l.out = utf8.AppendRune(l.out, rune(c))
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
