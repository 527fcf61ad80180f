package junit

// This file keeps the decoder as it was on encoding/xml's RawToken, as the
// reference of TestLexerDifferential: the production decoder on our own
// lexer must give the same entries, suite output, counts and errors.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"

	"github.com/pony-build/pony"
)

// refDecoder reads a JUnit XML report one <testcase> at a time. See the
// package documentation for the mapping onto pony.TestResult.
type refDecoder struct {
	x    *xml.Decoder
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
	// a test met again is a refRerun. Hashes keep this map small (16 bytes a
	// test); a collision of 64-bit hashes is negligible.
	attempts map[uint64]int32
	seed     maphash.Seed

	suiteOut, suiteErr pony.TailBuffer
	tc                 refTestcase
	part               part
}

// NewDecoder returns a refDecoder reading r.
func newRefDecoder(r io.Reader, opts Options) *refDecoder {
	x := xml.NewDecoder(r)
	x.Strict = true
	x.Entity = xml.HTMLEntity
	x.CharsetReader = charsetReader
	d := &refDecoder{
		x:        x,
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
func (d *refDecoder) Next() (pony.TestResult, error) {
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
func (d *refDecoder) Counts() Counts { return d.counts }

// SuiteOutput returns the suites' <system-out>, each block headed by its
// suite's name, capped by Options.StepOutputCap.
func (d *refDecoder) SuiteOutput() string { return d.suiteOut.String() }

// SuiteErrout returns the suites' <system-err>, like SuiteOutput.
func (d *refDecoder) SuiteErrout() string { return d.suiteErr.String() }

// Started reports whether a JUnit root element has been read: an error
// after that point leaves good entries behind, an error before it means the
// input is not JUnit at all.
func (d *refDecoder) Started() bool { return d.rootSeen }

// fail builds the decoder's InputError at the current position.
func (d *refDecoder) fail(err error) error {
	line, _ := d.x.InputPos()
	return &pony.InputError{File: d.opts.File, Line: line, Offset: d.x.InputOffset(), Err: err}
}

// token reads the next raw token, keeping the element stack and checking
// that end tags match (RawToken does not).
func (d *refDecoder) token() (xml.Token, error) {
	tok, err := d.x.RawToken()
	if err != nil {
		if err == io.EOF {
			if !d.rootSeen {
				return nil, d.fail(fmt.Errorf("%w: no XML element found", ErrNotJUnit))
			}
			if len(d.stack) > 0 {
				return nil, d.fail(fmt.Errorf("%w: %s still open", ErrTruncated, d.openElements()))
			}
			return nil, io.EOF
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
			return nil, ie
		}
		if !d.rootSeen {
			return nil, d.fail(fmt.Errorf("%w: %w", ErrNotJUnit, err))
		}
		return nil, d.fail(fmt.Errorf("read XML: %w", err))
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(d.stack) == 0 {
			if t.Name.Local != "testsuites" && t.Name.Local != "testsuite" {
				if !d.rootSeen {
					return nil, d.fail(fmt.Errorf("%w: the root element is <%s>, want <testsuites> or <testsuite>", ErrNotJUnit, refQname(t.Name)))
				}
				return nil, d.fail(fmt.Errorf("unexpected element <%s> after the root element", refQname(t.Name)))
			}
			d.rootSeen = true
		}
		d.stack = append(d.stack, t.Name.Local)
	case xml.EndElement:
		if len(d.stack) == 0 {
			return nil, d.fail(fmt.Errorf("malformed XML: unexpected end element </%s>", refQname(t.Name)))
		}
		if top := d.stack[len(d.stack)-1]; top != t.Name.Local {
			return nil, d.fail(fmt.Errorf("malformed XML: element <%s> closed by </%s>", top, refQname(t.Name)))
		}
		d.stack = d.stack[:len(d.stack)-1]
	case xml.CharData:
		if !d.rootSeen && len(bytes.TrimLeft(bytes.TrimSpace(t), "\ufeff")) > 0 {
			return nil, d.fail(fmt.Errorf("%w: text before any XML element: %s", ErrNotJUnit, quoteHead(t)))
		}
	}
	return tok, nil
}

func refQname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func (d *refDecoder) openElements() string {
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
func (d *refDecoder) advance() error {
	for len(d.pending) == 0 {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			parent := ""
			if n := len(d.stack); n >= 2 {
				parent = d.stack[n-2]
			}
			switch t.Name.Local {
			case "testsuite":
				d.counts.Suites++
				s := suite{name: refAttr(t.Attr, "name")}
				if len(d.suites) > 0 {
					s.repeats = d.suites[len(d.suites)-1].repeats
				}
				s.tests = atoi(refAttr(t.Attr, "tests"))
				s.failures = atoi(refAttr(t.Attr, "failures"))
				s.errors = atoi(refAttr(t.Attr, "errors"))
				d.suites = append(d.suites, s)
			case "testcase":
				if err := d.readTestcase(t); err != nil {
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
				if t.Name.Local == "system-err" {
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
				if err := d.readSuiteError(t); err != nil {
					return err
				}
			case "properties":
				if parent != "testsuite" {
					if err := d.skip(); err != nil {
						return err
					}
					continue
				}
				if err := d.readSuiteProperties(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if t.Name.Local == "testsuite" && len(d.suites) > 0 {
				d.endSuite()
			}
		}
	}
	return nil
}

func refAttr(attrs []xml.Attr, name string) string {
	for i := range attrs {
		if attrs[i].Name.Local == name {
			return attrs[i].Value
		}
	}
	return ""
}

// skip reads to the end of the element just opened.
func (d *refDecoder) skip() error { return d.text(nil) }

// text reads to the end of the element just opened, writing its text
// (that of nested elements included) to p when p is not nil.
func (d *refDecoder) text(p *part) error {
	depth := len(d.stack)
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if p != nil {
				p.write(t)
			}
		case xml.EndElement:
			if len(d.stack) < depth {
				return nil
			}
		}
	}
}

func (d *refDecoder) currentSuite() string {
	if n := len(d.suites); n > 0 {
		return d.suites[n-1].name
	}
	return ""
}

func (d *refDecoder) readSuiteOutput(buf *pony.TailBuffer) error {
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
func (d *refDecoder) readSuiteError(start xml.StartElement) error {
	body := pony.TailBuffer{Max: d.outCap}
	d.part.begin(&body, "")
	if err := d.text(&d.part); err != nil {
		return err
	}
	first := refEnd(&d.part)
	st := pony.StatusError
	if start.Name.Local == "failure" {
		st = pony.StatusFail
	}
	msg := refAttr(start.Attr, "message")
	if msg == "" {
		msg = first
	}
	if msg == "" {
		msg = "testsuite reports an " + start.Name.Local
	}
	if n := len(d.suites); n > 0 {
		d.suites[n-1].reported = true
	}
	d.queueSuiteEntry(st, msg, body.String())
	return nil
}

func (d *refDecoder) queueSuiteEntry(st pony.Status, msg, out string) {
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

func (d *refDecoder) hashKey(k pony.TestKey) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(k.Suite)
	h.WriteByte(0)
	h.WriteString(k.Name)
	return h.Sum64()
}

func (d *refDecoder) attempt(k pony.TestKey) int {
	sum := d.hashKey(k)
	n := d.attempts[sum] + 1
	d.attempts[sum] = n
	return int(n)
}

func (d *refDecoder) endSuite() {
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
type refTestcase struct {
	verdicts   []verdict
	flaky      []refRerun
	reruns     []refRerun
	output     pony.TailBuffer // verdict texts, system-out, system-err
	properties map[string]string
}

type refRerun struct {
	status  pony.Status
	message string
	time    string
	output  string
}

func (tc *refTestcase) init(max int) {
	tc.output.Max = max
}

func (tc *refTestcase) reset() {
	tc.verdicts = tc.verdicts[:0]
	tc.flaky = tc.flaky[:0]
	tc.reruns = tc.reruns[:0]
	tc.output.Reset()
	tc.properties = nil
}

// readTestcase reads one <testcase> whose start tag was just read and
// queues its entries.
func (d *refDecoder) readTestcase(start xml.StartElement) error {
	err := d.readTestcaseBody(start)
	if err != nil {
		if name := refAttr(start.Attr, "name"); name != "" {
			if ie, ok := err.(*pony.InputError); ok {
				ie.Err = fmt.Errorf("%w (in testcase %q)", ie.Err, name)
			}
		}
	}
	return err
}

func (d *refDecoder) readTestcaseBody(start xml.StartElement) error {
	tc := &d.tc
	tc.reset()
	depth := len(d.stack)
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if len(d.stack) < depth {
				d.finishTestcase(start)
				return nil
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "failure", "error", "skipped":
				d.part.begin(&tc.output, "")
				if err := d.text(&d.part); err != nil {
					return err
				}
				tc.verdicts = append(tc.verdicts, verdict{
					kind:    t.Name.Local,
					message: refAttr(t.Attr, "message"),
					typ:     refAttr(t.Attr, "type"),
					first:   refEnd(&d.part),
				})
			case "flakyFailure", "flakyError", "rerunFailure", "rerunError":
				r, err := d.readRerun(t)
				if err != nil {
					return err
				}
				if strings.HasPrefix(t.Name.Local, "flaky") {
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
				if err := d.readProperties(); err != nil {
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

func (d *refDecoder) readRerun(start xml.StartElement) (refRerun, error) {
	r := refRerun{
		status:  pony.StatusFail,
		message: refAttr(start.Attr, "message"),
		time:    refAttr(start.Attr, "time"),
	}
	if strings.HasSuffix(start.Name.Local, "Error") {
		r.status = pony.StatusError
	}
	out := pony.TailBuffer{Max: d.outCap}
	var p part // the refRerun's own text, between its children
	p.begin(&out, "")
	depth := len(d.stack)
	for {
		tok, err := d.token()
		if err != nil {
			return r, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			p.write(t)
		case xml.EndElement:
			if len(d.stack) < depth {
				first := refEnd(&p)
				r.output = out.String()
				if r.message == "" {
					r.message = first
				}
				return r, nil
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "stackTrace", "system-out", "system-err":
				p.end()
				d.part.begin(&out, "")
				if err := d.text(&d.part); err != nil {
					return r, err
				}
				first := refEnd(&d.part)
				if r.message == "" && t.Name.Local == "stackTrace" {
					r.message = first
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

// readSuiteProperties reads a testsuite's properties for what the entries
// depend on: whether a testcase met again is a rerun (go.version,
// pony.repeats=attempts). (The decoder also keeps java.version, which no
// entry carries.)
func (d *refDecoder) readSuiteProperties() error {
	depth := len(d.stack)
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if len(d.stack) < depth {
				return nil
			}
		case xml.StartElement:
			if t.Name.Local == "property" {
				name, value := refAttr(t.Attr, "name"), refAttr(t.Attr, "value")
				if name == "go.version" || name == "pony.repeats" && value == "attempts" {
					d.suites[len(d.suites)-1].repeats = true
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
		}
	}
}

func (d *refDecoder) readProperties() error {
	depth := len(d.stack)
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if len(d.stack) < depth {
				return nil
			}
		case xml.StartElement:
			if t.Name.Local != "property" {
				if err := d.skip(); err != nil {
					return err
				}
				continue
			}
			name := refAttr(t.Attr, "name")
			value, hasValue := "", false
			for _, a := range t.Attr {
				if a.Name.Local == "value" {
					value, hasValue = a.Value, true
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

// finishTestcase turns the testcase just read into entries.
func (d *refDecoder) finishTestcase(start xml.StartElement) {
	tc := &d.tc
	var name, classname, timeAttr, file, line string
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "name":
			name = a.Value
		case "classname":
			classname = a.Value
		case "time":
			timeAttr = a.Value
		case "file":
			file = a.Value
		case "line":
			line = a.Value
		}
	}
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
		Duration: seconds(timeAttr),
		File:     file,
	}
	main.Line = atoi(line)

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
	if d.attempts[d.hashKey(main.Key())] > 0 && (len(d.suites) == 0 || !d.suites[len(d.suites)-1].repeats) {
		base := main.Name
		for n := 2; ; n++ {
			main.Name = base + " #" + strconv.Itoa(n)
			if d.attempts[d.hashKey(main.Key())] == 0 {
				break
			}
		}
	}
	k := main.Key()
	for _, r := range tc.flaky {
		d.pending = append(d.pending, d.rerunEntry(main, r, k))
	}
	main.Attempt = d.attempt(k)
	d.pending = append(d.pending, main)
	for _, r := range tc.reruns {
		d.pending = append(d.pending, d.rerunEntry(main, r, k))
	}
}

func (d *refDecoder) finalStatus(main pony.Status) pony.Status {
	if n := len(d.tc.reruns); n > 0 {
		return d.tc.reruns[n-1].status
	}
	return main
}

func (d *refDecoder) rerunEntry(main pony.TestResult, r refRerun, k pony.TestKey) pony.TestResult {
	return pony.TestResult{
		Suite:    main.Suite,
		Name:     main.Name,
		Status:   r.status,
		Duration: seconds(r.time),
		Attempt:  d.attempt(k),
		Message:  pony.CapTail(r.message, d.outCap),
		Output:   pony.CapTail(r.output, d.outCap),
		File:     main.File,
		Line:     main.Line,
	}
}

// RefDecoder exports the reference decoder to the external tests.
type RefDecoder = refDecoder

// NewRefDecoder returns the reference decoder, on encoding/xml, reading r.
func NewRefDecoder(r io.Reader, opts Options) *RefDecoder { return newRefDecoder(r, opts) }

// refEnd closes a part and returns its first line, as part.end did.
func refEnd(p *part) string {
	p.end()
	return p.first()
}
