// Package tap reads the Test Anything Protocol (TAP 12, 13 and 14) as a
// stream, one line at a time, into a pony.Step.
//
// It understands the version line, the plan (leading or trailing, and
// `1..0 # SKIP reason`), test points with or without numbers, the SKIP and
// TODO directives, YAML diagnostic blocks, TAP 14 indented subtests (and
// node's and Test::More's `# Subtest:` comments), `Bail out!`, pragmas and
// comments. Lines that are not TAP are kept as the step's output.
//
// How TAP maps onto pony:
//
//   - `ok` is pass, `not ok` is fail; `# SKIP` is skip whatever the verdict;
//     `# TODO` is xfail when the test failed and xpass when it passed.
//     node's test runner says why a test failed (`failureType`, `code`,
//     `name`): a thrown error that is not an assertion, a hook failure, a
//     timeout or a cancellation is an error, not a failure.
//   - A subtest's tests are named after their parents, Go style:
//     "outer/inner/leaf". The parent's own test point is an entry too, after
//     its children, as `go test` does. Suite is empty, except for the output
//     of `prove -v`, whose sections are named by their file (t/foo.t).
//   - A test without a description is named by its number, "#3". Two test
//     points with the same name under the same parent are different tests in
//     TAP (it has no reruns), so the later ones get their number appended,
//     "name #7", lest they read as attempts of one test.
//   - The YAML block's message (node's error) is the Message; at, location
//     (and Test::More's "at FILE line N." comment) give File and Line;
//     duration_ms (and node-tap's `# time=`) the Duration. Other one-line
//     keys become Properties, and the raw block and the comments that follow
//     the test are its Output. Passing tests keep none of these, unless
//     Options.KeepPassingOutput, so memory does not grow with their chatter.
//   - Step.Errout holds what the parser has to say about the stream, one
//     line each: a bail out, a skip-all plan's reason, a plan not met,
//     duplicate or out-of-order numbers.
//   - Step.Incomplete is set when tests were lost: fewer tests than planned,
//     no plan at all, a bail out, a YAML block or subtest cut off by the end
//     of the input.
package tap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pony-build/pony"
)

// Options configure a parse.
type Options struct {
	// File names the input in errors and notes.
	File string
	// OutputCap caps each test's output and message (the tail is kept);
	// 0 means pony.DefaultLimits.Output.
	OutputCap int
	// StepOutputCap caps the step's output and errout; 0 means
	// pony.DefaultLimits.StepOutput.
	StepOutputCap int
	// KeepPassingOutput keeps passing tests' diagnostics and output too.
	KeepPassingOutput bool
}

// Plan is a plan line: `Start..End`, possibly a skip-all.
type Plan struct {
	Start, End int
	// SkipAll is true for `1..0`; Reason is the `# SKIP` reason.
	SkipAll bool
	Reason  string
	// Line is where the plan was read.
	Line int
}

// Problem is something wrong with the stream, where it was seen.
type Problem struct {
	Line int
	Msg  string
	// Fatal problems mean tests were lost or the stream is damaged; Parse
	// returns the first of them as a *pony.InputError.
	Fatal bool
}

// Summary counts the top-level test points the way npm's tap-parser does
// (subtests are summarised by their parent's line), for comparison with
// it, and keeps what the stream said about itself.
type Summary struct {
	// Version is the TAP version line's number, 12 when there is none.
	Version int
	// Plan is the last top-level plan read, nil when there was none.
	Plan *Plan
	// Count is the number of top-level test points; Pass of them are `ok`
	// and Fail `not ok`; Skip and Todo carry those directives (whatever
	// their verdict).
	Count, Pass, Fail, Skip, Todo int
	// Bailout is true after `Bail out!`; BailoutReason is its text.
	Bailout       bool
	BailoutReason string
	// Problems lists what was wrong, at most maxProblems of them.
	Problems []Problem
}

const (
	maxProblems = 100
	// maxLine caps a single line; what is over it is dropped.
	maxLine = 1 << 20
	// maxTracked caps the test numbers tracked for duplicate detection.
	maxTracked = 1 << 22
)

// Parse reads a TAP stream into a step. On a damaged or truncated stream it
// returns the step with every test it read, Incomplete set when tests were
// lost, and a *pony.InputError naming the line. When the input holds no TAP
// at all, the step is nil.
func Parse(ctx context.Context, r io.Reader, opts Options) (*pony.Step, *Summary, error) {
	if opts.OutputCap == 0 {
		opts.OutputCap = pony.DefaultLimits.Output
	}
	if opts.StepOutputCap == 0 {
		opts.StepOutputCap = pony.DefaultLimits.StepOutput
	}
	p := &parser{
		opts:    opts,
		step:    &pony.Step{},
		sum:     &Summary{Version: 12},
		out:     pony.TailBuffer{Max: opts.StepOutputCap},
		errout:  pony.TailBuffer{Max: opts.StepOutputCap},
		noteBuf: make([]string, 0, 8),
	}
	p.reset()
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	var readErr error
	for {
		if p.line&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				readErr = err
				break
			}
		}
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else if len(long) < maxLine {
				long = append(long, chunk[:maxLine-len(long)]...)
			}
			p.offset += int64(len(chunk))
			continue
		}
		if len(chunk) > 0 || len(long) > 0 {
			p.offset += int64(len(chunk))
			line := chunk
			if len(long) > 0 {
				if len(long)+len(chunk) > maxLine {
					chunk = chunk[:max(0, maxLine-len(long))]
					p.problem(p.line+1, fmt.Sprintf("line is over %d bytes; the rest was dropped", maxLine), false)
				}
				line = append(long, chunk...)
				long = long[:0]
			}
			p.line++
			p.lastNL = len(line) > 0 && line[len(line)-1] == '\n'
			line = bytes.TrimSuffix(line, []byte{'\n'})
			line = bytes.TrimSuffix(line, []byte{'\r'})
			p.handle(line)
		}
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
	}
	p.finish(readErr)
	if !p.sawTAP {
		return nil, p.sum, &pony.InputError{File: opts.File, Line: p.line, Offset: p.offset,
			Err: errors.New("no TAP found: no version line, plan, test point or bail out")}
	}
	p.step.Tests = p.tests()
	p.step.Output = p.out.String()
	p.step.Errout = p.errout.String()
	p.step.Format = "tap"
	if p.fatal != nil {
		return p.step, p.sum, &pony.InputError{File: opts.File, Line: p.fatal.Line, Err: errors.New(p.fatal.Msg)}
	}
	return p.step, p.sum, nil
}

// frame is one level of nesting: the top level, or a subtest.
type frame struct {
	indent int
	// name is the subtest's name from its `# Subtest:` comment.
	name      string
	startLine int
	// results buffers a subtest's entries until its parent's test point
	// names them. The top level writes to the step directly.
	results []pony.TestResult
	plan    *Plan
	count   int
	seen    []uint64
	names   map[string]struct{}
	// pend is the last test point, waiting for its YAML block and
	// comments; nil when there is none. It points to pendBuf, reused.
	pend    *pending
	pendBuf *pending
}

// pending is a test point read but not yet committed.
type pending struct {
	res       pony.TestResult
	ok        bool
	directive byte // 's' skip, 't' todo, 0 none
	reason    string
	num       int
	line      int
	keep      bool // collects output and diagnostics
	out       pony.TailBuffer
	comments  []string
	diag      []diagEntry
	hadYAML   bool
}

type parser struct {
	opts   Options
	step   *pony.Step
	sum    *Summary
	out    pony.TailBuffer
	errout pony.TailBuffer

	line   int
	offset int64
	lastNL bool
	sawTAP bool
	fatal  *Problem

	stack []*frame
	spare []*frame
	// chunks hold the top level's entries, assembled into Step.Tests at
	// the end with one allocation.
	chunks  [][]pony.TestResult
	names   map[uint64]struct{}
	seed    maphash.Seed
	yamlBuf []byte
	yamlEnd []int
	suite   string // prove -v section
	bailed  bool
	nProbs  int
	noteBuf []string

	// YAML block in progress.
	inYAML    bool
	yamlLine  int
	yamlInd   int
	yamlLines []string
	yamlPend  *pending
}

// reset starts a new stream (the input, or a section of prove -v output).
func (p *parser) reset() {
	p.stack = append(p.stack[:0], &frame{indent: 0})
}

func (p *parser) problem(line int, msg string, fatal bool) {
	if fatal {
		p.step.Incomplete = true
	}
	pr := Problem{Line: line, Msg: msg, Fatal: fatal}
	if fatal && p.fatal == nil {
		p.fatal = &pr
	}
	p.nProbs++
	switch {
	case p.nProbs <= maxProblems:
		p.sum.Problems = append(p.sum.Problems, pr)
		p.note(line, msg)
	case p.nProbs == maxProblems+1:
		p.note(0, fmt.Sprintf("more problems follow; only the first %d are listed", maxProblems))
	}
}

// note writes one line to the step's errout.
func (p *parser) note(line int, msg string) {
	f := p.opts.File
	if f == "" {
		f = "<input>"
	}
	if line > 0 {
		fmt.Fprintf(&p.errout, "tap: %s:%d: %s\n", f, line, msg)
	} else {
		fmt.Fprintf(&p.errout, "tap: %s: %s\n", f, msg)
	}
}

func (p *parser) output(line []byte) {
	p.out.Write(line)
	p.out.WriteString("\n")
}

// handle reads one line (without its newline).
func (p *parser) handle(line []byte) {
	if p.inYAML {
		if p.yamlLineOf(line) {
			return
		}
	}
	if p.bailed {
		p.output(line)
		return
	}
	ind := 0
	for ind < len(line) && line[ind] == ' ' {
		ind++
	}
	s := line[ind:]
	if len(s) == 0 {
		p.output(line)
		return
	}
	top := p.stack[len(p.stack)-1]
	kind := classify(s)

	// A YAML block opens right after a test point, two spaces in.
	if kind == kindOther && ind == top.indent+2 && top.pend != nil && !top.pend.hadYAML && isMarker(s, "---") {
		p.inYAML, p.yamlLine, p.yamlInd, p.yamlPend = true, p.line, ind, top.pend
		p.yamlBuf, p.yamlEnd = p.yamlBuf[:0], p.yamlEnd[:0]
		top.pend.hadYAML = true
		return
	}
	if kind == kindOther || kind == kindComment && ind != top.indent && ind != top.indent+4 {
		if kind == kindComment {
			if f := p.frameAt(ind); f != nil {
				p.comment(f, s)
				return
			}
		}
		if len(p.stack) == 1 && ind == 0 && p.proveHeader(s) {
			return
		}
		p.output(line)
		return
	}

	// A structural line: find or make its level.
	switch {
	case ind == top.indent:
	case ind == top.indent+4 && (kind == kindPoint || kind == kindPlan || kind == kindVersion || kind == kindSubtest):
		// An indented subtest without a `# Subtest:` comment.
		p.commit(top)
		p.push(ind, "")
		top = p.stack[len(p.stack)-1]
	case ind < top.indent:
		f := p.frameAt(ind)
		if f == nil {
			p.output(line)
			return
		}
		if kind == kindComment {
			p.comment(f, s)
			return
		}
		top = f
	default:
		if kind == kindComment {
			// Test::More indents a child's diagnostics with the child.
			p.comment(top, s)
			return
		}
		p.output(line)
		return
	}

	switch kind {
	case kindComment:
		p.comment(top, s)
	case kindSubtest:
		p.commit(top)
		p.push(top.indent+4, strings.TrimSpace(strings.TrimPrefix(string(s[len("# Subtest"):]), ":")))
	case kindPoint:
		p.point(top, s)
	case kindPlan:
		p.plan(top, s)
	case kindVersion:
		p.sawTAP = true
		p.commit(top)
		if len(p.stack) == 1 {
			v, _ := strconv.Atoi(strings.TrimSpace(string(s[len("TAP version"):])))
			p.sum.Version = v
		}
	case kindPragma:
		p.commit(top)
	case kindBailout:
		p.bailout(top, s)
	}
}

// frameAt returns the open frame whose indentation is ind, closing the
// frames inside it only when a structural line arrives (see point).
func (p *parser) frameAt(ind int) *frame {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if p.stack[i].indent == ind {
			return p.stack[i]
		}
	}
	return nil
}

func (p *parser) push(indent int, name string) {
	p.sawTAP = true
	var f *frame
	if n := len(p.spare); n > 0 {
		f, p.spare = p.spare[n-1], p.spare[:n-1]
		*f = frame{indent: indent, name: name, startLine: p.line, pendBuf: f.pendBuf, seen: f.seen[:0]}
	} else {
		f = &frame{indent: indent, name: name, startLine: p.line}
	}
	p.stack = append(p.stack, f)
}

// release returns a closed subtest's frame for reuse, once its entries
// have been handed to its parent.
func (p *parser) release(f *frame) {
	f.results, f.names, f.plan, f.pend = nil, nil, nil, nil
	p.spare = append(p.spare, f)
}

type lineKind int

const (
	kindOther lineKind = iota
	kindPoint
	kindPlan
	kindVersion
	kindComment
	kindSubtest
	kindBailout
	kindPragma
)

// classify says what a line (without its indentation) is.
func classify(s []byte) lineKind {
	switch s[0] {
	case 'o':
		if len(s) == 2 && s[1] == 'k' || len(s) > 2 && s[1] == 'k' && (s[2] == ' ' || s[2] == '\t') {
			return kindPoint
		}
	case 'n':
		if bytes.HasPrefix(s, []byte("not ok")) && (len(s) == 6 || s[6] == ' ' || s[6] == '\t') {
			return kindPoint
		}
	case '#':
		if bytes.HasPrefix(s, []byte("# Subtest")) && (len(s) == 9 || s[9] == ':') {
			return kindSubtest
		}
		return kindComment
	case 'T':
		if bytes.HasPrefix(s, []byte("TAP version ")) {
			if _, err := strconv.Atoi(strings.TrimSpace(string(s[len("TAP version "):]))); err == nil {
				return kindVersion
			}
		}
	case 'B', 'b':
		if len(s) >= 9 && strings.EqualFold(string(s[:9]), "bail out!") {
			return kindBailout
		}
	case 'p':
		if bytes.HasPrefix(s, []byte("pragma ")) && len(s) > 8 && (s[7] == '+' || s[7] == '-') {
			return kindPragma
		}
	default:
		if s[0] >= '0' && s[0] <= '9' {
			if _, ok := parsePlan(s); ok {
				return kindPlan
			}
		}
	}
	return kindOther
}

func isMarker(s []byte, m string) bool {
	return string(bytes.TrimRight(s, " \t")) == m
}

// yamlLineOf takes a line inside a YAML block; it returns false when the
// line ends the block without belonging to it.
func (p *parser) yamlLineOf(line []byte) bool {
	ind := 0
	for ind < len(line) && line[ind] == ' ' {
		ind++
	}
	if ind == p.yamlInd && isMarker(line[ind:], "...") {
		p.endYAML(true)
		return true
	}
	if ind >= p.yamlInd || len(bytes.TrimSpace(line)) == 0 {
		if ind > len(line) {
			ind = len(line)
		}
		p.yamlBuf = append(p.yamlBuf, line[min(p.yamlInd, len(line)):]...)
		p.yamlEnd = append(p.yamlEnd, len(p.yamlBuf))
		return true
	}
	p.problem(p.yamlLine, fmt.Sprintf("YAML block opened here is not closed with \"...\" (line %d ends it)", p.line), false)
	p.endYAML(false)
	return false
}

func (p *parser) endYAML(closed bool) {
	pd := p.yamlPend
	p.inYAML, p.yamlPend = false, nil
	if pd == nil {
		return
	}
	all := string(p.yamlBuf)
	p.yamlLines = p.yamlLines[:0]
	start := 0
	for _, end := range p.yamlEnd {
		p.yamlLines = append(p.yamlLines, all[start:end])
		start = end
	}
	if closed {
		pd.diag = parseDiag(pd.diag[:0], p.yamlLines)
	}
	if pd.keep || !pd.ok {
		for _, l := range p.yamlLines {
			pd.out.WriteString(l)
			pd.out.WriteString("\n")
		}
	}
}

// comment attaches a comment to the pending failing test of its frame, or
// writes it to the step's output.
func (p *parser) comment(f *frame, s []byte) {
	if pd := f.pend; pd != nil && (pd.keep || !pd.ok) && len(pd.comments) < 256 {
		c := string(s)
		pd.comments = append(pd.comments, c)
		pd.out.WriteString(c)
		pd.out.WriteString("\n")
		return
	}
	p.output(s)
}

// point reads a test point at frame f, closing any subtest below it: the
// point is that subtest's summary line.
func (p *parser) point(f *frame, s []byte) {
	p.sawTAP = true
	pt := parsePoint(s)
	var children []pony.TestResult
	for p.stack[len(p.stack)-1] != f {
		child := p.pop()
		name := pt.desc
		if name == "" {
			name = child.name
		}
		children = append(children, prefixed(child.results, name)...)
		p.release(child)
	}
	p.commit(f)
	for i := range children {
		p.emit(f, children[i])
	}
	f.count++
	if f == p.stack[0] {
		p.sum.Count++
		if pt.ok {
			p.sum.Pass++
		} else {
			p.sum.Fail++
		}
		switch pt.directive {
		case 's':
			p.sum.Skip++
		case 't':
			p.sum.Todo++
		}
	}
	num := f.count
	if pt.num > 0 {
		num = pt.num
		start := 1
		if f.plan != nil {
			start = f.plan.Start
		}
		if want := start + f.count - 1; num != want {
			p.problem(p.line, fmt.Sprintf("test number %d out of order (want %d)", num, want), false)
		}
		if num < maxTracked {
			w := num / 64
			for len(f.seen) <= w {
				f.seen = append(f.seen, 0)
			}
			if f.seen[w]&(1<<(num%64)) != 0 {
				p.problem(p.line, fmt.Sprintf("test number %d seen twice", num), false)
			}
			f.seen[w] |= 1 << (num % 64)
		}
	}
	name := pt.desc
	if name == "" {
		name = "#" + strconv.Itoa(num)
	}
	pd := f.pendBuf
	if pd == nil {
		pd = &pending{}
		f.pendBuf = pd
	}
	pd.out.Reset()
	*pd = pending{ok: pt.ok, directive: pt.directive, reason: pt.reason, num: num, line: p.line,
		keep: p.opts.KeepPassingOutput, out: pd.out, comments: pd.comments[:0], diag: pd.diag[:0]}
	pd.out.Max = p.opts.OutputCap
	pd.res = pony.TestResult{Suite: p.suite, Name: name, Duration: pt.seconds}
	f.pend = pd
}

// pop closes the innermost subtest, committing its last test point.
func (p *parser) pop() *frame {
	f := p.stack[len(p.stack)-1]
	if p.inYAML {
		p.endYAML(false)
	}
	p.commit(f)
	p.checkPlan(f, false)
	p.stack = p.stack[:len(p.stack)-1]
	return f
}

// prefixed names a finished subtest's entries after their parent.
func prefixed(rs []pony.TestResult, parent string) []pony.TestResult {
	if parent == "" {
		parent = "(subtest)"
	}
	for i := range rs {
		rs[i].Name = parent + "/" + rs[i].Name
	}
	return rs
}

// commit turns frame f's pending test point into an entry.
func (p *parser) commit(f *frame) {
	pd := f.pend
	if pd == nil {
		return
	}
	f.pend = nil
	if p.inYAML && p.yamlPend == pd {
		p.problem(p.yamlLine, "YAML block opened here is not closed with \"...\"", false)
		p.endYAML(false)
	}
	r := pd.res
	r.Status = statusOf(pd)
	for _, e := range pd.diag {
		switch e.key {
		case "duration_ms":
			if ms, err := strconv.ParseFloat(e.val, 64); err == nil && ms >= 0 {
				r.Duration = math.Round(ms*1e6) / 1e9
			}
		case "location", "at":
			if r.File == "" {
				r.File, r.Line = location(e)
			}
		}
	}
	if r.Status != pony.StatusPass || pd.keep {
		for _, e := range pd.diag {
			switch e.key {
			case "message", "error":
				if r.Message == "" || e.key == "message" {
					r.Message = pony.CapTail(e.val, p.opts.OutputCap)
				}
			case "duration_ms", "location", "at", "stack":
			default:
				if !e.nested && !e.multiline && len(e.val) <= 1024 {
					if r.Properties == nil {
						r.Properties = make(map[string]string)
					}
					r.Properties[e.key] = e.val
				}
			}
		}
		for _, c := range pd.comments {
			if r.File != "" {
				break
			}
			r.File, r.Line = perlAt(c)
		}
		if r.Message == "" && (r.Status == pony.StatusSkip || r.Status == pony.StatusXFail || r.Status == pony.StatusXPass) {
			r.Message = pd.reason
		}
		if r.Message == "" && r.Status.Failed() {
			r.Message = pony.CapTail(fallbackMessage(pd), p.opts.OutputCap)
		}
		r.Output = pd.out.String()
	}
	p.emit(f, r)
}

// emit adds an entry to frame f, making its name unique among its siblings.
func (p *parser) emit(f *frame, r pony.TestResult) {
	if f != p.stack[0] {
		if f.names == nil {
			f.names = make(map[string]struct{})
		}
		if _, dup := f.names[r.Name]; dup {
			base := r.Name
			for n := 2; ; n++ {
				r.Name = base + " #" + strconv.Itoa(n)
				if _, dup := f.names[r.Name]; !dup {
					break
				}
			}
		}
		f.names[r.Name] = struct{}{}
		f.results = append(f.results, r)
		return
	}
	// The top level may hold a million names: keep their 64-bit hashes
	// (suite included, as prove -v sections are separate namespaces).
	if p.names == nil {
		p.names = make(map[uint64]struct{}, 1024)
		p.seed = maphash.MakeSeed()
	}
	h := p.nameHash(r.Suite, r.Name)
	if _, dup := p.names[h]; dup {
		base := r.Name
		for n := 2; ; n++ {
			r.Name = base + " #" + strconv.Itoa(n)
			if h = p.nameHash(r.Suite, r.Name); !mapHas(p.names, h) {
				break
			}
		}
	}
	p.names[h] = struct{}{}
	last := len(p.chunks) - 1
	if last < 0 || len(p.chunks[last]) == cap(p.chunks[last]) {
		p.chunks = append(p.chunks, make([]pony.TestResult, 0, 4096))
		last++
	}
	p.chunks[last] = append(p.chunks[last], r)
}

func (p *parser) nameHash(suite, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	h.WriteString(suite)
	h.WriteByte(0)
	h.WriteString(name)
	return h.Sum64()
}

func mapHas(m map[uint64]struct{}, k uint64) bool {
	_, ok := m[k]
	return ok
}

// tests assembles the top level's entries.
func (p *parser) tests() []pony.TestResult {
	n := 0
	for _, c := range p.chunks {
		n += len(c)
	}
	if n == 0 {
		return nil
	}
	out := make([]pony.TestResult, 0, n)
	for _, c := range p.chunks {
		out = append(out, c...)
	}
	return out
}

// statusOf maps a test point onto pony's statuses.
func statusOf(pd *pending) pony.Status {
	switch {
	case pd.directive == 's':
		return pony.StatusSkip
	case pd.directive == 't' && pd.ok:
		return pony.StatusXPass
	case pd.directive == 't':
		return pony.StatusXFail
	case pd.ok:
		return pony.StatusPass
	}
	// node's test runner says what kind of failure it was.
	var failureType, code, name string
	for _, e := range pd.diag {
		switch e.key {
		case "failureType":
			failureType = e.val
		case "code":
			code = e.val
		case "name":
			name = e.val
		}
	}
	switch failureType {
	case "hookFailure", "testTimeoutFailure", "cancelledByParent", "uncaughtException", "unhandledRejection":
		return pony.StatusError
	case "testCodeFailure":
		if code != "ERR_ASSERTION" && name != "AssertionError" {
			return pony.StatusError
		}
	}
	return pony.StatusFail
}

// fallbackMessage builds a failing test's message when its YAML block has
// none: the compared values in the producer's own words (tape's
// expected/actual, node-tap's wanted/found), else the first line of the
// stack, else Test::More's diagnostic comments.
func fallbackMessage(pd *pending) string {
	var b strings.Builder
	for _, k := range []string{"wanted", "found", "expected", "actual"} {
		for _, e := range pd.diag {
			if e.key == k {
				fmt.Fprintf(&b, "%s: %s\n", k, e.val)
			}
		}
	}
	if b.Len() > 0 {
		return strings.TrimSuffix(b.String(), "\n")
	}
	for _, e := range pd.diag {
		if e.key == "stack" && e.val != "" {
			first, _, _ := strings.Cut(e.val, "\n")
			return first
		}
	}
	if len(pd.comments) > 0 {
		return diagText(pd.comments)
	}
	return ""
}

// perlAt reads Test::More's "#   at t/foo.t line 12." diagnostic.
func perlAt(c string) (string, int) {
	c = strings.TrimSpace(strings.TrimLeft(c, "# "))
	i := strings.LastIndex(c, " line ")
	if i < 0 || !strings.HasSuffix(c, ".") {
		return "", 0
	}
	n, err := strconv.Atoi(c[i+len(" line ") : len(c)-1])
	if err != nil {
		return "", 0
	}
	head := c[:i]
	j := strings.LastIndex(head, "at ")
	if j < 0 || (j > 0 && head[j-1] != ' ') {
		return "", 0
	}
	return head[j+3:], n
}

// diagText joins Test::More-style diagnostic comments without their "#".
func diagText(comments []string) string {
	var b strings.Builder
	for i, c := range comments {
		if i > 0 {
			b.WriteByte('\n')
		}
		c = strings.TrimPrefix(c, "#")
		b.WriteString(strings.TrimSpace(c))
	}
	return b.String()
}

func (p *parser) plan(f *frame, s []byte) {
	p.sawTAP = true
	for p.stack[len(p.stack)-1] != f {
		child := p.pop()
		if child.count > 0 {
			p.problem(child.startLine, fmt.Sprintf("subtest %q has no test point of its own", child.name), false)
		}
		for _, r := range prefixed(child.results, child.name) {
			p.emit(f, r)
		}
		p.release(child)
	}
	p.commit(f)
	pl, _ := parsePlan(s)
	pl.Line = p.line
	if f.plan != nil {
		p.problem(p.line, fmt.Sprintf("a second plan, ignored (the first was on line %d)", f.plan.Line), false)
		return
	}
	f.plan = &pl
	if f == p.stack[0] {
		p.sum.Plan = &pl
		if pl.SkipAll {
			msg := "all tests skipped"
			if pl.Reason != "" {
				msg += ": " + pl.Reason
			}
			p.note(p.line, msg)
		}
	}
}

func (p *parser) bailout(f *frame, s []byte) {
	p.sawTAP = true
	reason := strings.TrimSpace(string(s[len("bail out!"):]))
	if strings.IndexByte(reason, '\\') >= 0 {
		reason = string(unescape([]byte(reason)))
	}
	p.bailed = true
	p.sum.Bailout = true
	p.sum.BailoutReason = reason
	p.closeAll("the run bailed out")
	p.step.Incomplete = true
	msg := "Bail out!"
	if reason != "" {
		msg += " " + reason
	}
	p.note(p.line, msg)
	p.output(s)
}

// closeAll commits and closes every open subtest, naming orphan entries
// after their `# Subtest:` comment.
func (p *parser) closeAll(why string) {
	if p.inYAML {
		if !p.bailed {
			p.problem(p.yamlLine, "YAML block opened here is not closed with \"...\"", true)
		}
		p.endYAML(false)
	}
	for len(p.stack) > 1 {
		child := p.pop()
		if !p.bailed {
			p.problem(child.startLine, fmt.Sprintf("subtest %q started here did not finish: %s", child.name, why), true)
		}
		parent := p.stack[len(p.stack)-1]
		for _, r := range prefixed(child.results, child.name) {
			p.emit(parent, r)
		}
		p.release(child)
	}
	p.commit(p.stack[0])
}

// checkPlan compares a frame's test count with its plan.
func (p *parser) checkPlan(f *frame, top bool) {
	if p.bailed {
		return
	}
	if f.plan == nil && f.count == 0 && !top {
		return
	}
	where := "the input"
	if !top {
		where = fmt.Sprintf("subtest %q", f.name)
	}
	if f.plan == nil {
		if f.count > 0 || top {
			p.problem(p.line, fmt.Sprintf("%s ended after %d tests without a plan (1..N line)", where, f.count), top)
		}
		return
	}
	want := f.plan.End - f.plan.Start + 1
	if f.plan.SkipAll {
		want = 0
	}
	switch {
	case f.count < want:
		p.problem(p.line, fmt.Sprintf("%s ended after %d of the %d planned tests", where, f.count, want), top)
	case f.count > want:
		p.problem(f.plan.Line, fmt.Sprintf("%s ran %d tests, more than the %d planned", where, f.count, want), false)
	}
}

// finish closes the stream (or a prove -v section).
func (p *parser) finish(readErr error) {
	if readErr != nil {
		p.problem(p.line, "read: "+readErr.Error(), true)
	}
	truncated := "the input ended"
	p.closeAll(truncated)
	if p.sawTAP || len(p.step.Tests) > 0 {
		p.checkPlan(p.stack[0], true)
	}
}

// proveHeader starts a new section at prove -v's "t/foo.t .. " line, when
// the current section has finished or not started.
func (p *parser) proveHeader(s []byte) bool {
	t := bytes.TrimRight(s, " ")
	sp := bytes.IndexByte(t, ' ')
	if sp <= 0 || !bytes.HasSuffix(t, []byte("..")) || len(bytes.Trim(t[sp:], " .")) != 0 {
		return false
	}
	top := p.stack[0]
	if top.count > 0 && top.plan == nil {
		return false
	}
	if p.sawTAP {
		p.finish(nil)
		p.reset()
	}
	p.suite = string(t[:sp])
	return true
}

// point is a parsed test point line.
type point struct {
	ok        bool
	num       int
	desc      string
	directive byte
	reason    string
	seconds   float64
}

// parsePoint reads `ok|not ok [N] [-] [description] [# directive]`.
func parsePoint(s []byte) point {
	var pt point
	if s[0] == 'o' {
		pt.ok, s = true, s[2:]
	} else {
		s = s[6:]
	}
	s = bytes.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && (i == len(s) || s[i] == ' ' || s[i] == '\t') {
		if n, err := strconv.Atoi(string(s[:i])); err == nil && n > 0 {
			pt.num = n
		}
		s = bytes.TrimLeft(s[i:], " \t")
	}
	if len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ' || s[1] == '\t') {
		s = bytes.TrimLeft(s[1:], " \t")
	}
	// The directive follows the first unescaped '#'.
	desc := s
	for j := 0; j < len(s); j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		// A '#' glued to a word (a URL's fragment) is not a directive; one
		// after an escaped backslash is.
		if s[j] != '#' || j > 0 && s[j-1] != ' ' && s[j-1] != '\t' && s[j-1] != '\\' {
			continue
		}
		d := bytes.TrimLeft(s[j+1:], " \t")
		switch {
		case hasWordFold(d, "skip"):
			pt.directive, pt.reason = 's', directiveReason(d)
		case hasWordFold(d, "todo"):
			pt.directive, pt.reason = 't', directiveReason(d)
		case bytes.HasPrefix(d, []byte("time=")):
			pt.seconds = parseTime(string(d[len("time="):]))
		default:
			// Only the first unescaped '#' can start a directive.
			j = len(s)
			continue
		}
		desc = s[:j]
		break
	}
	desc = bytes.TrimRight(desc, " \t")
	if bytes.IndexByte(desc, '\\') >= 0 {
		desc = unescape(desc)
	}
	pt.desc = string(desc)
	return pt
}

// hasWordFold reports whether s starts with word, any case, followed by a
// letter-free boundary (SKIP, skip:, SKIPPED, TODO).
func hasWordFold(s []byte, word string) bool {
	if len(s) < len(word) || !strings.EqualFold(string(s[:len(word)]), word) {
		return false
	}
	return true
}

// directiveReason is what follows SKIP or TODO (and their suffixes).
func directiveReason(d []byte) string {
	i := 4
	for i < len(d) && (d[i] >= 'a' && d[i] <= 'z' || d[i] >= 'A' && d[i] <= 'Z') {
		i++
	}
	r := bytes.TrimLeft(d[i:], ": \t")
	return string(bytes.TrimSpace(r))
}

// parseTime reads node-tap's "12.5ms" or "3s".
func parseTime(s string) float64 {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "ms"):
		s, mul = s[:len(s)-2], 1e-3
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return f * mul
}

func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '#' || b[i+1] == '\\') {
			i++
		}
		out = append(out, b[i])
	}
	return out
}

// parsePlan reads `N..M [# comment]`.
func parsePlan(s []byte) (Plan, bool) {
	var pl Plan
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || !bytes.HasPrefix(s[i:], []byte("..")) {
		return pl, false
	}
	start, err := strconv.Atoi(string(s[:i]))
	if err != nil {
		return pl, false
	}
	rest := s[i+2:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j == 0 {
		return pl, false
	}
	end, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return pl, false
	}
	rest = bytes.TrimSpace(rest[j:])
	if len(rest) > 0 && rest[0] != '#' {
		return pl, false
	}
	pl.Start, pl.End = start, end
	if end < start {
		if !(start == 1 && end == 0) {
			return pl, false
		}
		pl.SkipAll = true
	}
	if len(rest) > 0 {
		c := bytes.TrimLeft(rest[1:], " \t")
		if hasWordFold(c, "skip") {
			pl.Reason = directiveReason(c)
		} else {
			pl.Reason = string(bytes.TrimSpace(c))
		}
	}
	return pl, true
}
