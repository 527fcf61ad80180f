// Package tap reads the Test Anything Protocol (TAP 12, 13 and 14) as a
// stream, one line at a time, into a pony.Step.
//
// It understands the version line, the plan (leading or trailing, and
// `1..0 # SKIP reason`), test points with or without numbers, the SKIP and
// TODO directives, YAML diagnostic blocks, TAP 14 indented subtests (and
// node's and Test::More's `# Subtest:` comments, at the parent's
// indentation or, as older Test::More wrote it, at the subtest's), TAP 14
// buffered subtests (below), `Bail out!`, pragmas (`pragma +strict`) and
// comments. Lines that are not TAP are kept as the step's output.
//
// A buffered subtest (node-tap, Test2; tap-parser reads them, the TAP 14
// specification leaves them to harnesses) puts its test point first and
// its body after it, indented 4 spaces, closed by a `}` at the point's
// indentation:
//
//	ok 1 - name {
//	    ok 1 - child
//	    1..1
//	}
//
// The point opens it when its line ends in ` {` and the body follows at
// once; the test is "name", without the ` {` (which may also end its
// directive: `ok 1 - name # TODO why {`, `ok 1 - name # time=5ms {`, or its
// description before a directive: `ok 1 - name { # time=5ms`). A point
// with a YAML block opens it with a `{` line of its own after the block.
// A point whose ` {` no body follows keeps it in its name (node's test
// runner writes a test named "x {" so, with its YAML block). A body ends
// with its `}`, or, not closed, with a test point at its parent's level
// or the end of the input; any other line at the parent's level in it is
// not TAP.
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
//     its children, as `go test` does (for a buffered subtest too, whose
//     point comes first). Suite is Options.Suite (none by default), except
//     in the output of `prove -v`, whose sections are named by their file
//     (t/foo.t).
//   - A test without a description is named by its number, "#3". Two test
//     points with the same name under the same parent are different tests in
//     TAP (it has no reruns), so the later ones get " #2", " #3"…
//     appended, lest they read as attempts of one test.
//   - The YAML block's message (node's error) is the Message; at, location
//     (and Test::More's "at FILE line N." comment) give File and Line;
//     duration_ms (and node-tap's `# time=`) the Duration. Other one-line
//     keys become Properties, and the raw block and the comments that follow
//     the test are its Output. Passing tests keep none of these, unless
//     Options.KeepPassingOutput, so memory does not grow with their chatter.
//   - A broken plan fails the stream, every test kept: an entry named
//     "(plan)" (PlanEntry) with status error, after the tests of its level
//     (the stream's, or a subtest's, then "sub/(plan)"), says what broke
//     it and where, its Line the first such line of the input (File):
//     more tests than planned (`1..0` with tests too), a test number
//     outside the plan or seen before, a test point after a trailing plan
//     (or after `1..0`), a subtest with fewer tests than its plan or none.
//     Under `pragma +strict` (a subtest inherits its parent's), each line
//     that is not TAP is a failure too, reported by an entry "(strict)".
//     Summary.Failures lists the top level's, with kinds in npm
//     tap-parser's terms. Numbers out of order are only noted.
//   - Step.Errout holds what the parser has to say about the stream, one
//     line each: a bail out, a skip-all plan's reason, a broken plan,
//     out-of-order numbers, a subtest left open.
//   - Step.Incomplete is set when tests were lost: fewer tests than planned
//     at the end of the input, no plan at all, a bail out, a YAML block cut
//     off by the end of the input, a subtest left open (not closed by its
//     test point or `}`) short of its plan, or without one. A subtest left
//     open that met its plan (tap-parser's "subtest-unfinished") is only
//     noted.
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
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/pony-build/pony"
)

// Options configure a parse.
type Options struct {
	// File names the input in errors and notes.
	File string
	// Suite is the suite of the tests that have none of their own: all
	// of them but those of prove -v's sections, which are named by their
	// file. Empty leaves them without a suite. A caller reading a file
	// names them after it, so that two files' tests stay distinct.
	Suite string
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
	// Failures lists the top level's protocol failures, at most
	// maxProblems of them: what makes the stream fail though no test point
	// does. Those of kind TooFew and NoPlan (tests were lost) make the step
	// Incomplete; the others are the PlanEntry and StrictEntry entries.
	Failures []Failure
}

// Failure is a protocol failure, where it was seen.
type Failure struct {
	Line int
	Kind FailureKind
	Msg  string
}

// FailureKind says what a protocol failure is.
type FailureKind string

// The kinds of protocol failure. npm's tap-parser reports each of them as
// a failure (a "tapError"), but AfterPlan: it drops such points as
// non-TAP.
const (
	// OutsidePlan is a test number outside the plan's range.
	OutsidePlan FailureKind = "outside plan"
	// Duplicate is a test number seen before.
	Duplicate FailureKind = "duplicate number"
	// AfterPlan is a test point after a trailing plan (or after `1..0`).
	AfterPlan FailureKind = "after plan"
	// TooMany is more test points than planned, counted at the end.
	TooMany FailureKind = "too many"
	// TooFew is fewer test points than planned: at the end of the input,
	// tests were lost; in a subtest, its plan was not met.
	TooFew FailureKind = "too few"
	// NoPlan is an input that ended without a plan (tests may have been
	// lost), or a subtest without one.
	NoPlan FailureKind = "no plan"
	// Strict is a line that is not TAP under `pragma +strict`.
	Strict FailureKind = "strict"
)

// Names of the entries that report a stream's (or a subtest's) protocol
// failures, with status error, after its tests.
const (
	// PlanEntry reports a plan broken: test numbers outside it or seen
	// twice, tests after a trailing plan, more tests than planned.
	PlanEntry = "(plan)"
	// StrictEntry reports lines that are not TAP under `pragma +strict`.
	StrictEntry = "(strict)"
)

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
	return parse(ctx, r, opts, true)
}

// parse is Parse; fast says whether to use the fast path (fast.go) for the
// common blocks, which the tests turn off to compare with the general one.
func parse(ctx context.Context, r io.Reader, opts Options, fast bool) (*pony.Step, *Summary, error) {
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
		seed:    newSeed(),
	}
	p.suite = opts.Suite
	p.hashedSuite, p.suiteHash = opts.Suite, strHash(p.seed, opts.Suite)
	p.reset()
	br := bufio.NewReaderSize(r, 64<<10)
	// YAML blocks are read in bulk whatever the options; whole blocks of
	// node's shape only when passing tests keep nothing.
	fastY := fast
	fast = fast && !opts.KeepPassingOutput
	var long []byte
	var readErr error
	nextCheck := 0
	for {
		if p.line >= nextCheck {
			if err := ctx.Err(); err != nil {
				readErr = err
				break
			}
			nextCheck = p.line + 0x1000
		}
		if fastY && len(long) == 0 && !p.bailed && br.Buffered() > 0 {
			// The whole lines in the reader's buffer, read in place (see
			// fast.go): blocks of the common shape at once, the rest one
			// by one through handle. A line cut by the buffer's end goes
			// the general way.
			buf, _ := br.Peek(br.Buffered())
			if n := p.fastLines(buf, fast); n > 0 {
				br.Discard(n)
				p.offset += int64(n)
			}
		}
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // ReadSlice's own, never wrapped
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
			if p.lastNL {
				line = line[:len(line)-1]
			}
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
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
	// rawName is the subtest's name from its `# Subtest:` comment, made a
	// string (name) only when something needs it: most subtests are
	// closed by their own test point, which names them.
	rawName   []byte
	name      string
	named     bool
	startLine int
	// results buffers a subtest's entries until its parent's test point
	// names them. The top level writes to the step directly.
	results []pony.TestResult
	plan    *Plan
	planBuf Plan // a subtest's plan, which plan points to
	count   int
	seen    []uint64
	// names holds the names of results once there are many of them; until
	// then duplicates are found by looking through results.
	names map[string]struct{}
	// pend is the last test point, waiting for its YAML block and
	// comments; nil when there is none. It points to pendBuf, reused.
	pend    *pending
	pendBuf *pending
	// buffered is set for the body of a TAP 14 buffered subtest, opened
	// by its parent's pending point (`ok N - name {`) and closed by `}`.
	buffered bool
	// strict is `pragma +strict`'s setting, inherited from the parent.
	strict bool
	// trailing is set once a plan came after test points (or was
	// `1..0`): no test point may follow.
	trailing bool
	// cut is set on a subtest closed without its end (its test point or
	// `}`): a plan it did not meet is said by closeUnfinished instead.
	cut bool
	// big holds the test numbers too big for seen, at most maxBig.
	big []int
	// fails are the frame's protocol failures (not TooFew or NoPlan),
	// at most maxFails of them; nPlan and nStrict count them all.
	fails          []Failure
	nPlan, nStrict int
}

// maxBig caps frame.big, and maxFails frame.fails.
const (
	maxBig   = 64
	maxFails = 20
)

// pending is a test point read but not yet committed.
type pending struct {
	// name is the test's name, a string only once it is committed;
	// suite and seconds (node-tap's `# time=`) go to its entry too.
	name      []byte
	suite     string
	seconds   float64
	ok        bool
	directive byte // 's' skip, 't' todo, 0 none
	reason    string
	num       int
	line      int
	keep      bool // collects output and diagnostics
	out       pony.TailBuffer
	comments  []string
	diag      []diagEntry
	lines     []string // the YAML block's, which diag points into
	hadYAML   bool
	// dur is duration_ms in seconds, when hasDur; quickDiag reads it
	// instead of putting it in diag.
	dur    float64
	hasDur bool
	// kids counts the entries of the subtest this point closed, and
	// kidFailed says whether one of them failed; isSuite is set by a
	// YAML `type: 'suite'` (node's describe), failureType is node's.
	kids        int
	kidFailed   bool
	isSuite     bool
	failureType string
	// yamlOut is the YAML block's text, when it was the first thing
	// written to out.
	yamlOut string
	// braceCut is the length of name without its ` {`, -1 when it has
	// none; braceReason is set when the ` {` ended the directive's reason
	// instead (see point.brace).
	braceCut    int
	braceReason bool
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
	// children is point's buffer for a closed subtest's entries; kids
	// matchSuite's for a suite's subtests.
	children []pony.TestResult
	kids     []kid
	// chunks hold the top level's entries, assembled into Step.Tests at
	// the end with one allocation; nEntries counts them.
	chunks   [][]entry
	nEntries int
	// nameTotal is the length of the plain passes' names so far;
	// chunkName[i] what it was at chunks[i]'s first entry.
	nameTotal int
	chunkName []int
	// full holds the top-level entries that are not a plain pass, in
	// chunks of fullChunk (a grown slice would be copied); suites the
	// suite names of the plain ones, suites[i] from entry suiteFrom[i] on.
	full      [][]pony.TestResult
	nFull     int
	suites    []string
	suiteFrom []int
	// arena holds plain passes' names, written into a strings.Builder of
	// arenaChunk bytes that becomes one of names, without a copy, when it
	// is full; it holds no pointers for the collector to follow.
	// arenaBase is the offset of arena's first byte among all names;
	// nameEnd[i] that of names[i]'s end.
	arena     strings.Builder
	arenaBase int
	names     []string
	nameEnd   []int
	// seed and the rest hash names (nameHash) for the duplicate check.
	seed        uint64
	hashedSuite string
	suiteHash   uint64
	// yamlBuf holds the open YAML block's lines, each followed by a
	// newline; yamlEnd[i] is the end of line i, before its newline.
	yamlBuf []byte
	yamlEnd []int
	// text holds the strings of the entries that are not plain passes
	// (names, raw YAML blocks, messages), textChunk bytes a string, so
	// that each takes no allocation of its own (see keep).
	text strings.Builder
	// suite is the suite of the tests read now: Options.Suite, or in a
	// prove -v section (prove set), the section's.
	suite string
	prove bool
	// reasons are the last SKIP or TODO reasons read, made strings once.
	reasons [2]string
	bailed  bool
	// sawVersion is set once the section's version line was read.
	sawVersion bool
	// await is the pending test point the last line left waiting for a
	// buffered subtest's body (see brace); awaitStrip says the point's
	// line ended in ` {`.
	await      *pending
	awaitStrip bool
	nProbs     int
	noteBuf    []string

	// YAML block in progress.
	inYAML   bool
	yamlLine int
	yamlInd  int
	yamlPend *pending
}

// reset starts a new stream (the input, or a section of prove -v output).
func (p *parser) reset() {
	p.stack = append(p.stack[:0], &frame{indent: 0})
	p.sawVersion, p.await = false, nil
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
	// A test point ending in ` {` (or a `{` line after its YAML block)
	// opens a buffered subtest when its body, indented 4 spaces, follows
	// at once (blank lines aside).
	await, strip := p.await, p.awaitStrip
	p.await = nil
	if await != nil && await == top.pend && ind >= top.indent+4 {
		p.openBuffered(top, strip)
		top = p.stack[len(p.stack)-1]
	}
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
		if p.brace(top, ind, s, await, strip) {
			return
		}
		if len(p.stack) == 1 && ind == 0 && p.proveHeader(s) {
			return
		}
		p.nonTAP(ind, line)
		return
	}

	// prove -v's verdict on a passing file, after its TAP.
	if kind == kindPoint && ind == 0 && len(p.stack) == 1 && p.prove && proveVerdict(top, s) {
		p.output(line)
		return
	}

	// A structural line: find or make its level.
	switch {
	case ind == top.indent:
	case ind == top.indent+4 && kind == kindSubtest:
		// An indented `# Subtest:` comment (Test::More before 1.3)
		// opens the subtest at its own indentation.
		p.commit(top)
		p.push(ind, subtestName(s))
		return
	case ind == top.indent+4 && (kind == kindPoint || kind == kindPlan || kind == kindVersion):
		// An indented subtest without a `# Subtest:` comment.
		p.commit(top)
		p.push(ind, nil)
		top = p.stack[len(p.stack)-1]
	case ind < top.indent:
		f := p.frameAt(ind)
		if f == nil {
			p.nonTAP(ind, line)
			return
		}
		if kind == kindComment {
			p.comment(f, s)
			return
		}
		if kind == kindPragma || kind == kindVersion {
			// Between a subtest's start and its end, its parent has
			// nothing to say but its test point (TAP 14, subtest rule
			// 12): not TAP.
			p.nonTAP(ind, line)
			return
		}
		if g := p.bufferedAbove(f); g != nil && kind != kindBailout {
			// The body of a buffered subtest ends with its `}`: a test
			// point at the parent's level ends it too (tap-parser does
			// so), any other line there is not TAP (TAP 14, subtest
			// rule 12).
			if kind != kindPoint {
				p.nonTAP(ind, line)
				return
			}
			p.closeTo(g, false, fmt.Sprintf("line %d is a test point at its parent's level", p.line))
		}
		top = f
	default:
		if kind == kindComment {
			// Test::More indents a child's diagnostics with the child.
			p.comment(top, s)
			return
		}
		p.nonTAP(ind, line)
		return
	}

	switch kind {
	case kindComment:
		p.comment(top, s)
	case kindSubtest:
		p.commit(top)
		p.push(top.indent+4, subtestName(s))
	case kindPoint:
		p.point(top, s)
	case kindPlan:
		p.plan(top, s)
	case kindVersion:
		p.sawTAP = true
		p.commit(top)
		if top == p.stack[0] {
			v, _ := strconv.Atoi(strings.TrimSpace(string(s[len("TAP version"):])))
			if v < 13 || top.plan != nil || top.count > 0 || p.sawVersion {
				// Only a first line may say the version, 13 or more (TAP
				// 12 had none): a strict parse refuses any other.
				p.strictFail(top, line)
			}
			p.sawVersion = true
			p.sum.Version = v
		}
	case kindPragma:
		p.commit(top)
		if key := bytes.TrimRight(s[len("pragma +"):], " \t"); string(key) == "strict" {
			top.strict = s[len("pragma ")] == '+'
		}
	case kindBailout:
		p.bailout(top, s)
	}
}

// subtestName is the name in a `# Subtest: NAME` comment.
func subtestName(s []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(s[len("# Subtest"):], []byte(":")))
}

// brace reads the lines of a buffered subtest that are neither TAP nor
// output: the `}` that closes its body at its test point's indentation,
// and the `{` that stands on its own after the test point's YAML block
// (node-tap's form for a subtest with diagnostics). await is the pending
// point that the previous line left waiting for a body (strip: the point
// ends in ` {`), nil when there is none. It reports whether it took s.
func (p *parser) brace(top *frame, ind int, s []byte, await *pending, strip bool) bool {
	t := bytes.TrimRight(s, " \t")
	if len(t) != 1 {
		return false
	}
	switch t[0] {
	case '}':
		for i := len(p.stack) - 1; i > 0; i-- {
			if g := p.stack[i]; g.buffered && g.indent == ind+4 {
				p.closeTo(g, true, "")
				return true
			}
		}
		if await != nil && await == top.pend && ind == top.indent {
			// An empty body.
			p.openBuffered(top, strip)
			p.closeTo(p.stack[len(p.stack)-1], true, "")
			return true
		}
	case '{':
		if pd := top.pend; pd != nil && ind == top.indent && pd.hadYAML && !p.inYAML {
			p.await, p.awaitStrip = pd, false
			return true
		}
	}
	return false
}

// openBuffered opens the body of a buffered subtest, whose test point is
// f's pending one; strip drops the point's ` {` from its name (and from
// its directive's reason).
func (p *parser) openBuffered(f *frame, strip bool) {
	pd := f.pend
	if strip && pd.braceCut >= 0 {
		if pd.braceCut == 0 {
			pd.name = strconv.AppendInt(append(pd.name[:0], '#'), int64(pd.num), 10)
		} else {
			pd.name = pd.name[:pd.braceCut]
		}
		pd.braceCut = -1
	}
	if strip && pd.braceReason {
		pd.reason = strings.TrimRight(strings.TrimSuffix(pd.reason, "{"), " \t")
		pd.braceReason = false
	}
	p.push(f.indent+4, pd.name)
	g := p.stack[len(p.stack)-1]
	g.buffered, g.startLine = true, pd.line
}

// bufferedAbove returns the outermost buffered subtest open inside frame
// f, nil when there is none.
func (p *parser) bufferedAbove(f *frame) *frame {
	inside := false
	for _, g := range p.stack {
		if inside && g.buffered {
			return g
		}
		inside = inside || g == f
	}
	return nil
}

// closeTo ends the body of the buffered subtest g, closed by its `}` when
// closed, else for why; the subtests open inside it did not finish.
func (p *parser) closeTo(g *frame, closed bool, why string) {
	for p.stack[len(p.stack)-1] != g {
		inner := why
		if closed {
			inner = fmt.Sprintf("the body of %q closed on line %d", g.title(), p.line)
		}
		p.closeUnfinished(inner)
	}
	p.closeBuffered(closed, why)
}

// closeUnfinished closes the innermost subtest, which did not finish (its
// test point, or its `}`, never came) for why. Its entries are kept, named
// after it. Tests may have been lost, unless it met its own plan.
func (p *parser) closeUnfinished(why string) {
	if p.stack[len(p.stack)-1].buffered {
		p.closeBuffered(false, why)
		return
	}
	p.stack[len(p.stack)-1].cut = true
	child := p.pop()
	if !p.bailed {
		if child.planMet() {
			p.problem(child.startLine, fmt.Sprintf("subtest %q started here has no test point of its own (%s); its plan was met", child.title(), why), false)
		} else {
			p.problem(child.startLine, fmt.Sprintf("subtest %q started here did not finish: %s", child.title(), why), true)
		}
	}
	parent := p.stack[len(p.stack)-1]
	for _, r := range prefixed(child.results, child.title()) {
		p.emit(parent, r)
	}
	p.release(child)
}

// closeBuffered ends the body of the innermost subtest, a buffered one,
// closed by its `}` when closed, else for why: its entries go before its
// test point's, pending in its parent, named after it; the point is then
// committed.
func (p *parser) closeBuffered(closed bool, why string) {
	p.stack[len(p.stack)-1].cut = !closed
	g := p.pop()
	parent := p.stack[len(p.stack)-1]
	if !closed && !p.bailed {
		msg := fmt.Sprintf("buffered subtest %q opened here is not closed with \"}\": %s", g.title(), why)
		if g.planMet() {
			msg += "; its plan was met"
		}
		p.problem(g.startLine, msg, !g.planMet())
	}
	pd := parent.pend
	if pd == nil {
		// Its test point was committed by a line the body could not
		// hold; its entries are still named after it.
		for _, r := range prefixed(g.results, g.title()) {
			p.emit(parent, r)
		}
		p.release(g)
		return
	}
	for i := range g.results {
		r := &g.results[i]
		pd.kidFailed = pd.kidFailed || r.Status.Failed()
		if parent == p.stack[0] {
			p.emitTopPrefixed(r, pd.name)
		} else {
			r.Name = string(pd.name) + "/" + r.Name
			p.emit(parent, *r)
		}
	}
	pd.kids += len(g.results)
	p.release(g)
	p.commit(parent)
}

// planMet reports whether a subtest has a plan that its test points met.
func (f *frame) planMet() bool {
	return f.plan != nil && f.count == f.plan.want()
}

// want is the number of tests the plan announces.
func (pl *Plan) want() int {
	if pl.SkipAll {
		return 0
	}
	return pl.End - pl.Start + 1
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

func (p *parser) push(indent int, name []byte) {
	p.sawTAP = true
	var f *frame
	if n := len(p.spare); n > 0 {
		f, p.spare = p.spare[n-1], p.spare[:n-1]
		// Field by field: a whole frame would be copied with a barrier
		// while the GC runs. release cleared the rest.
		f.indent, f.rawName, f.name, f.named = indent, append(f.rawName[:0], name...), "", false
		f.startLine, f.count, f.seen = p.line, 0, f.seen[:0]
	} else {
		f = &frame{indent: indent, rawName: append([]byte(nil), name...), startLine: p.line}
	}
	f.strict = p.stack[len(p.stack)-1].strict
	p.stack = append(p.stack, f)
}

// title is the subtest's name from its `# Subtest:` comment.
func (f *frame) title() string {
	if !f.named {
		f.name, f.named = string(f.rawName), true
	}
	return f.name
}

// release returns a closed subtest's frame for reuse, once its entries
// have been handed to its parent (which copies them).
func (p *parser) release(f *frame) {
	clear(f.results)
	f.results = f.results[:0]
	f.names, f.plan, f.pend, f.name = nil, nil, nil, ""
	f.buffered, f.trailing, f.cut, f.big, f.nPlan, f.nStrict = false, false, false, f.big[:0], 0, 0
	clear(f.fails)
	f.fails = f.fails[:0]
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

// isMarker reports whether s is m followed by nothing but blanks.
func isMarker(s []byte, m string) bool {
	if len(s) < len(m) || string(s[:len(m)]) != m {
		return false
	}
	for _, c := range s[len(m):] {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
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
		p.yamlBuf = append(p.yamlBuf, '\n')
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
	if pd.ok && pd.directive == 0 && !pd.keep {
		// A passing test keeps only its duration and location.
		if !closed || p.quickDiag(pd) {
			return
		}
	}
	// A block whose test is kept with more than a name (not a plain
	// pass) is kept in text: its values and output point into it.
	var all string
	if pd.keep || !pd.ok || pd.directive != 0 {
		all = p.keep(p.yamlBuf)
	} else {
		all = string(p.yamlBuf)
	}
	// The lines are pd's, as its diag may point to them until commit.
	pd.lines = pd.lines[:0]
	start := 0
	for _, end := range p.yamlEnd {
		pd.lines = append(pd.lines, all[start:end])
		start = end + 1
	}
	if closed {
		pd.diag = parseDiag(pd.diag[:0], pd.lines)
	}
	if pd.keep || !pd.ok {
		// The lines, each with its newline, are all; when they are all
		// of the output, commit takes all for it (yamlOut).
		if pd.out.Len() == 0 {
			pd.yamlOut = all
		}
		pd.out.WriteString(all)
	}
}

// textChunk is the size of parser.text's chunks, and textMax the longest
// string keep puts in one.
const (
	textChunk = 16 << 10
	textMax   = 2 << 10
)

// keep returns b as a string, written into parser.text when it is short:
// the strings of an entry that is kept (a failure's name, YAML block and
// message) take a chunk's room instead of an allocation each.
func (p *parser) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > textMax {
		return string(b)
	}
	if p.text.Len()+len(b) > p.text.Cap() {
		p.text = strings.Builder{}
		p.text.Grow(textChunk)
	}
	n := p.text.Len()
	p.text.Write(b)
	return p.text.String()[n:]
}

// quickDiag reads a passing test's YAML block for what commit keeps of
// it, duration_ms, location and at, without making strings of the rest.
// It does so when the block is flat, every line at one indentation (as it
// is for most passing tests), and so gives what parseDiag would; otherwise
// it returns false and the block is parsed in full.
func (p *parser) quickDiag(pd *pending) bool {
	base, start := -1, 0
	for _, end := range p.yamlEnd {
		l := p.yamlBuf[start:end]
		start = end + 1
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		ind := 0
		for ind < len(l) && l[ind] == ' ' {
			ind++
		}
		if base < 0 {
			base = ind
		} else if ind != base {
			pd.diag, pd.hasDur = pd.diag[:0], false
			return false
		}
		key, rest, ok := splitKeyBytes(l[base:])
		if !ok {
			continue
		}
		// With no line deeper than the key's, a value is its own line:
		// a block scalar's indicator (`|`) leaves it empty.
		if len(rest) > 0 && (rest[0] == '|' || rest[0] == '>') {
			rest = nil
		}
		switch string(key) {
		case "duration_ms":
			var d float64
			var ok bool
			if len(rest) > 0 && (rest[0] == '\'' || rest[0] == '"') {
				d, ok = duration(scalar(string(rest)))
			} else {
				d, ok = durationBytes(rest)
			}
			if ok {
				pd.dur, pd.hasDur = d, true
			}
		case "location":
			pd.diag = append(pd.diag, diagEntry{key: "location", val: scalar(string(rest))})
		case "at":
			pd.diag = append(pd.diag, diagEntry{key: "at", val: scalar(string(rest))})
		case "type":
			pd.isSuite = pd.isSuite || scalar(string(rest)) == "suite"
		}
	}
	return true
}

// duration reads duration_ms into seconds.
func duration(v string) (float64, bool) {
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil || !(ms >= 0) {
		return 0, false
	}
	return roundMS(ms), true
}

// durationBytes is duration for a plain scalar, as bytes or a string
// (duration's own string is strconv's to read). A plain decimal
// (`0.1234`) is read here, as strconv would read it: a mantissa and a
// power of ten both exact in a float64 give the correctly rounded quotient
// (strconv's own fast path). Anything else goes to strconv.
func durationBytes[T string | []byte](v T) (float64, bool) {
	var mant uint64
	digits, frac, dot := 0, 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return duration(string(v))
		}
		if digits > 15 {
			return duration(string(v))
		}
	}
	if digits == 0 || dot && frac == 0 {
		return duration(string(v))
	}
	return decimalMS(mant, frac), true
}

// decimalMS is roundMS(mant / 10^frac) for a plain decimal of at most 15
// digits, frac of them after the point. When the nanoseconds,
// mant·10^(6-frac), are an integer under 2^50, it is that integer over
// 1e9: the quotient and its product by 1e6 are each rounded by at most
// half an ulp, so the product is within a quarter of that integer and
// math.Round gives it back exactly; it is taken without them.
func decimalMS(mant uint64, frac int) float64 {
	if frac <= 6 && mant < nsLimit[6-frac] {
		return float64(mant*pow10u[6-frac]) / 1e9
	}
	return roundMS(float64(mant) / pow10[frac])
}

var (
	pow10u = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000}
	// nsLimit[i] is the mantissa under which mant·10^i is under 2^50.
	nsLimit = [...]uint64{1 << 50 / 1, 1 << 50 / 10, 1 << 50 / 100, 1 << 50 / 1000, 1 << 50 / 10000, 1 << 50 / 100000, 1 << 50 / 1000000}
)

// roundMS turns milliseconds into seconds, to the nanosecond.
func roundMS(ms float64) float64 { return math.Round(ms*1e6) / 1e9 }

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

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
	children := p.children[:0]
	// At the top level, a subtest's entries are named after the point's
	// description as they are written out (emitTopPrefixed).
	top := f == p.stack[0] && len(pt.desc) > 0
	for p.stack[len(p.stack)-1] != f {
		child := p.pop()
		if len(child.results) > 0 {
			if top {
				children = append(children, child.results...)
			} else {
				name := string(pt.desc)
				if name == "" {
					name = child.title()
				}
				children = append(children, prefixed(child.results, name)...)
			}
		}
		p.release(child)
	}
	p.commit(f)
	for i := range children {
		if top {
			p.emitTopPrefixed(&children[i], pt.desc)
		} else {
			p.emit(f, children[i])
		}
	}
	kids, kidFailed := len(children), false
	for i := range children {
		if children[i].Status.Failed() {
			kidFailed = true
			break
		}
	}
	clear(children)
	p.children = children[:0]
	p.pendPoint(f, &pt, kids, kidFailed)
	if pt.brace {
		p.await, p.awaitStrip = f.pend, true
	}
}

// pendPoint counts the test point pt, read at frame f (which closed kids
// entries of a subtest, kidFailed if one of them failed), checks its
// number, and makes it f's pending point.
func (p *parser) pendPoint(f *frame, pt *point, kids int, kidFailed bool) {
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
	}
	switch {
	case f.trailing:
		p.violation(f, AfterPlan, p.line, fmt.Sprintf("%sthe test point on line %d comes after the plan %s on line %d", p.where(f), p.line, f.plan, f.plan.Line))
	case pt.hasNum:
		n := pt.num
		start := 1
		if f.plan != nil {
			start = f.plan.Start
		}
		if want := start + f.count - 1; n != want {
			p.problem(p.line, fmt.Sprintf("test number %d out of order (want %d)", n, want), false)
		}
		if f.plan != nil && (n < f.plan.Start || n > f.plan.End) {
			p.violation(f, OutsidePlan, p.line, fmt.Sprintf("%stest number %d on line %d is outside the plan %s on line %d", p.where(f), n, p.line, f.plan, f.plan.Line))
		}
		if f.seenBefore(n) {
			p.violation(f, Duplicate, p.line, fmt.Sprintf("%stest number %d on line %d was seen before", p.where(f), n, p.line))
		}
	}
	pd := f.pendBuf
	if pd == nil {
		pd = &pending{}
		f.pendBuf = pd
	}
	if len(pt.desc) > 0 {
		pd.name = append(pd.name[:0], pt.desc...)
	} else {
		pd.name = strconv.AppendInt(append(pd.name[:0], '#'), int64(num), 10)
	}
	pd.suite, pd.seconds = p.suite, pt.seconds
	pd.ok, pd.directive, pd.reason, pd.num, pd.line = pt.ok, pt.directive, p.reasonString(pt.reason), num, p.line
	pd.keep, pd.hadYAML, pd.dur, pd.hasDur = p.opts.KeepPassingOutput, false, 0, false
	pd.kids, pd.kidFailed, pd.isSuite, pd.failureType, pd.yamlOut = kids, kidFailed, false, "", ""
	pd.braceCut, pd.braceReason = -1, false
	if pt.brace {
		pd.braceCut, pd.braceReason = pt.braceCut, pt.braceReason
	}
	if len(pd.comments) > 0 {
		clear(pd.comments)
		pd.comments = pd.comments[:0]
	}
	if len(pd.diag) > 0 {
		clear(pd.diag)
		pd.diag = pd.diag[:0]
	}
	pd.out.Reset()
	pd.out.Max = p.opts.OutputCap
	f.pend = pd
}

// where names frame f in a note: "" at the top level.
func (p *parser) where(f *frame) string {
	if f == p.stack[0] {
		return ""
	}
	return fmt.Sprintf("subtest %q: ", f.title())
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
	r := pony.TestResult{Suite: pd.suite, Duration: pd.seconds}
	r.Status = statusOf(pd)
	if pd.hasDur {
		r.Duration = pd.dur
	}
	for _, e := range pd.diag {
		switch e.key {
		case "duration_ms":
			if d, ok := durationBytes(e.val); ok {
				r.Duration = d
			}
		case "location", "at":
			if r.File == "" {
				r.File, r.Line = location(e)
			}
		case "type":
			pd.isSuite = pd.isSuite || e.val == "suite"
		case "failureType":
			pd.failureType = e.val
		}
	}
	if pd.isSuite && suiteExplained(pd, r.Status) {
		// node's describe() block: its tests are the entries, and node
		// counts no test for the suite itself.
		return
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
		if pd.yamlOut != "" && pd.out.Len() == int64(len(pd.yamlOut)) && (pd.out.Max <= 0 || len(pd.yamlOut) <= pd.out.Max) {
			// Nothing but the YAML block was written, and kept whole:
			// pd.out.String() would be a copy of it.
			r.Output = pd.yamlOut
		} else {
			r.Output = pd.out.String()
		}
	}
	if f == p.stack[0] {
		p.emitTop(r, pd.name, true)
		return
	}
	r.Name = string(pd.name)
	p.emit(f, r)
}

// suiteExplained reports whether a suite's verdict, status, says nothing
// its tests do not: it has tests, and it passed (or was skipped, or is a
// TODO), or it failed only because one of them did; or it has none and
// passed. A suite that failed on its own (a hook threw, node's failureType
// hookFailed) is kept, as is a skipped suite without tests.
func suiteExplained(pd *pending, status pony.Status) bool {
	if pd.kids == 0 {
		// An empty suite that passed says nothing; a skipped one is the
		// only trace of its tests, which node does not list.
		return status == pony.StatusPass
	}
	if !status.Failed() {
		return true
	}
	return pd.kidFailed && (pd.failureType == "" || pd.failureType == "subtestsFailed")
}

// emit adds an entry to frame f, making its name unique among its siblings.
func (p *parser) emit(f *frame, r pony.TestResult) {
	if f != p.stack[0] {
		if f.has(r.Name) {
			base := r.Name
			for n := 2; ; n++ {
				r.Name = base + " #" + strconv.Itoa(n)
				if !f.has(r.Name) {
					break
				}
			}
		}
		if f.names != nil {
			f.names[r.Name] = struct{}{}
		}
		f.results = append(f.results, r)
		return
	}
	p.emitTop(r, nil, false)
}

// emitTop adds an entry to the top level; when raw, name is its name,
// not yet made a string (r.Name is not set).
func (p *parser) emitTop(r pony.TestResult, name []byte, raw bool) {
	// Duplicate names are found, and renamed, by tests at the end.
	p.suiteOf(r.Suite)
	e := entry{dur: r.Duration}
	if !plain(&r) || uint64(len(name)) > math.MaxUint32 || uint64(len(r.Name)) > math.MaxUint32 {
		if raw {
			r.Name = p.keep(name)
		}
		e.full = p.addFull(r)
	} else if raw {
		p.addName(name)
		e.n = uint32(len(name))
	} else {
		p.reserve(len(r.Name))
		p.arena.WriteString(r.Name)
		e.n = uint32(len(r.Name))
	}
	p.addEntry(e)
}

// emitTopPrefixed is emitTop for an entry of a subtest named parent:
// r.Name becomes parent/r.Name (as prefixed makes it), written straight
// into the arena when the entry is a plain pass.
func (p *parser) emitTopPrefixed(r *pony.TestResult, parent []byte) {
	if !plain(r) || uint64(len(parent))+1+uint64(len(r.Name)) > math.MaxUint32 {
		full := *r
		full.Name = string(parent) + "/" + r.Name
		p.emitTop(full, nil, false)
		return
	}
	p.suiteOf(r.Suite)
	n := len(parent) + 1 + len(r.Name)
	p.reserve(n)
	p.arena.Write(parent)
	p.arena.WriteByte('/')
	p.arena.WriteString(r.Name)
	p.addEntry(entry{n: uint32(n), dur: r.Duration})
}

// plain reports whether r is a plain pass, kept as an entry with only a
// name and a duration.
func plain(r *pony.TestResult) bool {
	return r.Status == pony.StatusPass && r.Attempt == 0 && r.Message == "" && r.Output == "" &&
		r.File == "" && r.Line == 0 && r.Properties == nil
}

// suiteOf makes suite the plain entries' suite from the next entry on.
func (p *parser) suiteOf(suite string) {
	if len(p.suites) == 0 || p.suites[len(p.suites)-1] != suite {
		p.suites = append(p.suites, suite)
		p.suiteFrom = append(p.suiteFrom, p.nEntries)
	}
}

// fullChunk is the size of parser.full's chunks.
const fullChunk = 256

// addFull keeps an entry that is not a plain pass, returning 1 + its
// index.
func (p *parser) addFull(r pony.TestResult) int32 {
	if p.nFull%fullChunk == 0 {
		p.full = append(p.full, make([]pony.TestResult, 0, fullChunk))
	}
	c := &p.full[len(p.full)-1]
	*c = append(*c, r)
	p.nFull++
	return int32(p.nFull)
}

// fullAt is the entry addFull returned i for.
func (p *parser) fullAt(i int32) *pony.TestResult {
	i--
	return &p.full[i/fullChunk][i%fullChunk]
}

// entryChunk is the size of parser.chunks' chunks.
const entryChunk = 4096

// addEntry appends a top-level entry, whose name, when it is a plain
// pass, was the last written to the arena.
func (p *parser) addEntry(e entry) {
	last := len(p.chunks) - 1
	if last < 0 || len(p.chunks[last]) == cap(p.chunks[last]) {
		p.chunks = append(p.chunks, make([]entry, 0, entryChunk))
		p.chunkName = append(p.chunkName, p.nameTotal)
		last++
	}
	// The name's hash, for the duplicate check, is taken while the name
	// is in the cache: a plain pass's name is the arena's last e.n bytes.
	// A hash of 0 is taken again (fastBlocks takes it from the input).
	if e.full > 0 {
		r := p.fullAt(e.full)
		e.hash = p.nameHash(r.Suite, r.Name)
	} else {
		if e.hash == 0 {
			a := p.arena.String()
			e.hash = strHash(p.seed, a[len(a)-int(e.n):]) ^ p.suitePart(p.suites[len(p.suites)-1])
		}
		p.nameTotal += int(e.n)
	}
	p.chunks[last] = append(p.chunks[last], e)
	p.nEntries++
}

// arenaChunk is the size of the name arena, and so of the strings the
// names are kept in.
const arenaChunk = 32 << 10

// reserve makes room for a name of n bytes in the arena: a name is never
// split between two of names.
func (p *parser) reserve(n int) {
	if p.arena.Len()+n > p.arena.Cap() {
		p.flushNames()
		p.arena.Grow(max(arenaChunk, n))
	}
}

// addName writes a name to the arena.
func (p *parser) addName(name []byte) {
	p.reserve(len(name))
	p.arena.Write(name)
}

// flushNames makes the arena one of names, and starts a new one.
func (p *parser) flushNames() {
	if p.arena.Len() == 0 {
		return
	}
	p.names = append(p.names, p.arena.String())
	p.arenaBase += p.arena.Len()
	p.nameEnd = append(p.nameEnd, p.arenaBase)
	p.arena = strings.Builder{}
}

// entry is a top-level result in short: most are passing tests that have
// nothing but a name and a duration. Step.Tests is made from them at the
// end, in one allocation.
type entry struct {
	dur float64
	// hash is nameHash of the entry's suite and name, written by
	// addEntry.
	hash uint64
	// n is a plain pass's name's length: the plain passes' names follow
	// one another in the arena, in the entries' order. A longer name
	// makes a full entry.
	n uint32
	// full is 1 + the index in parser.full of an entry that is not a
	// plain pass; 0 for a plain pass, and -1 for one whose dur is a
	// whole number of nanoseconds, to be divided by 1e9 as decimalMS
	// does (by fill, on two cores).
	full int32
}

// has reports whether a subtest already holds an entry named name.
func (f *frame) has(name string) bool {
	if f.names != nil {
		_, ok := f.names[name]
		return ok
	}
	for i := range f.results {
		if f.results[i].Name == name {
			return true
		}
	}
	if len(f.results) >= 32 {
		// A big subtest: a set is cheaper than looking through it.
		f.names = make(map[string]struct{}, 2*len(f.results))
		for i := range f.results {
			f.names[f.results[i].Name] = struct{}{}
		}
	}
	return false
}

// nameHash hashes a top-level entry's suite and name.
func (p *parser) nameHash(suite, name string) uint64 {
	return strHash(p.seed, name) ^ p.suitePart(suite)
}

// strHash is wyhash (final version 4, by Wang Yi, public domain) of s
// under seed, made by newSeed: as good a 64-bit hash as maphash's for
// telling names apart, and, inlined, about half its cost on the short
// names of a test report.
func strHash[T string | []byte](seed uint64, s T) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n > 16:
		t := s
		for len(t) > 16 {
			seed = wymix(le64(t)^wyp1, le64(t[8:])^seed)
			t = t[16:]
		}
		a, b = le64(s[n-16:]), le64(s[n-8:])
	case n > 8:
		a, b = le64(s), le64(s[n-8:])
	case n >= 4:
		q := n >> 3 << 2 // 4 when n is 8, else 0
		a = le32(s)<<32 | le32(s[q:])
		b = le32(s[n-4:])<<32 | le32(s[n-4-q:])
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	hi, lo := bits.Mul64(a^wyp1, b^seed)
	return wymix(lo^wyp0^uint64(n), hi^wyp1)
}

// wyhash's constants.
const (
	wyp0 = 0xa0761d6478bd642f
	wyp1 = 0xe7037ed1a0b428db
)

// wymix folds the 128-bit product of a and b.
func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// newSeed makes a random seed for strHash, as wyhash makes its own.
func newSeed() uint64 {
	s := maphash.Comparable(maphash.MakeSeed(), 0)
	return s ^ wymix(s^wyp0, wyp1)
}

// le64 and le32 read s's first 8 or 4 bytes, little-endian.
func le64[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32[T string | []byte](s T) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// suitePart is the suite's part of nameHash.
func (p *parser) suitePart(suite string) uint64 {
	if suite != p.hashedSuite {
		p.hashedSuite, p.suiteHash = suite, strHash(p.seed, suite)
	}
	return bits.RotateLeft64(p.suiteHash, 29)
}

// hashSet is a set of 64-bit hashes, open addressed: cheaper than a map,
// and its memory holds no pointers for the collector to follow.
type hashSet struct {
	slots []uint64
	n     int
}

// newHashSet makes a set for n hashes.
func newHashSet(n int) *hashSet {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &hashSet{slots: make([]uint64, size)}
}

// add adds h, reporting false when it was there already. The set holds
// at most the n it was made for.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

// tests assembles the top level's entries, and makes their names unique.
func (p *parser) tests() []pony.TestResult {
	n := p.nEntries
	if n == 0 {
		return nil
	}
	p.flushNames()
	// Duplicate names are looked for by another goroutine while out is
	// allocated and written: on a second core, beside the zeroing of
	// out.
	dup := make(chan bool, 1)
	go func() { dup <- p.duplicates(n) }()
	out := make([]pony.TestResult, n)
	// Two goroutines write out, half the chunks each.
	half := len(p.chunks) / 2
	done := make(chan struct{})
	go func() {
		p.fill(out, half, len(p.chunks))
		close(done)
	}()
	p.fill(out, 0, half)
	<-done
	if <-dup {
		p.dedupe(out)
	}
	return out
}

// cursor walks the plain passes' suites and names, from a chunk of
// entries on.
type cursor struct {
	p       *parser
	si      int // suites[si] is the suite
	ci, pos int // the next name is in names[ci] at pos, or starts names[ci+1]
}

// cursorAt starts a cursor at chunks[from].
func (p *parser) cursorAt(from int) cursor {
	c := cursor{p: p}
	for c.si+1 < len(p.suiteFrom) && p.suiteFrom[c.si+1] <= from*entryChunk {
		c.si++
	}
	// The first plain name is at g among all names: in names[ci] at pos,
	// or at the start of the next one when names[ci] ends there.
	g := p.chunkName[from]
	c.ci, _ = slices.BinarySearch(p.nameEnd, g+1)
	if c.ci < len(p.names) {
		c.pos = g - (p.nameEnd[c.ci] - len(p.names[c.ci]))
	}
	return c
}

// plain returns the suite and name of the plain pass that is entry i,
// whose name is n bytes long: the next one.
func (c *cursor) plain(i int, n uint32) (suite, name string) {
	p := c.p
	for c.si+1 < len(p.suiteFrom) && p.suiteFrom[c.si+1] <= i {
		c.si++
	}
	if n > 0 {
		end := c.pos + int(n)
		if end > len(p.names[c.ci]) {
			c.ci, c.pos, end = c.ci+1, 0, int(n)
		}
		name = p.names[c.ci][c.pos:end]
		c.pos = end
	}
	return p.suites[c.si], name
}

// fill writes the entries of chunks from to to into out (every chunk but
// the last is full).
func (p *parser) fill(out []pony.TestResult, from, to int) {
	if from == to {
		return
	}
	i, cur := from*entryChunk, p.cursorAt(from)
	for _, c := range p.chunks[from:to] {
		for k := range c {
			e := &c[k]
			t := &out[i]
			if e.full > 0 {
				*t = *p.fullAt(e.full)
			} else {
				// Field by field: out is zeroed, and a whole struct
				// would be copied with a barrier while the GC runs.
				suite, name := cur.plain(i, e.n)
				if suite != "" {
					t.Suite = suite
				}
				t.Name, t.Status, t.Duration = name, pony.StatusPass, e.dur
				if e.full < 0 {
					t.Duration = e.dur / 1e9
				}
			}
			i++
		}
	}
}

// duplicates reports whether two of the n entries' names may be the same.
// It puts each entry's hash (addEntry's nameHash) into a Bloom filter,
// small enough to stay in the cache: one that may have been seen before is
// a suspect, looked for again among all of them. It only reads the
// entries, as fill does.
func (p *parser) duplicates(n int) bool {
	bloom := newBloom(n)
	var suspects []uint64
	for _, c := range p.chunks {
		for k := range c {
			if h := c[k].hash; bloom.add(h) {
				suspects = append(suspects, h)
			}
		}
	}
	return len(suspects) > 0 && p.hasDuplicate(suspects)
}

// bloom is a Bloom filter of 64-bit hashes, two bits each.
type bloom struct {
	words []uint64
	mask  uint64
}

// newBloom makes a filter for n hashes, with about 16 bits for each: a
// new hash is taken for one seen before at most about once in 70 (when
// the filter is full), fewer on average.
func newBloom(n int) bloom {
	bits := uint64(1024)
	for bits < uint64(n)*16 {
		bits *= 2
	}
	return bloom{words: make([]uint64, bits/64), mask: bits - 1}
}

// add adds h, reporting whether it may have been there already.
func (b bloom) add(h uint64) bool {
	i, j := h&b.mask, (h>>32)&b.mask
	w1, m1 := &b.words[i/64], uint64(1)<<(i%64)
	w2, m2 := &b.words[j/64], uint64(1)<<(j%64)
	seen := *w1&m1 != 0 && *w2&m2 != 0
	*w1 |= m1
	*w2 |= m2
	return seen
}

// hasDuplicate reports whether two of the entries' hashes are the same,
// given the hashes the Bloom filter suspected (which hold every repeated
// one).
func (p *parser) hasDuplicate(suspects []uint64) bool {
	count := make(map[uint64]int, len(suspects))
	// A bit per suspect, in 8 KiB: most hashes are ruled out without a
	// look in the map.
	var some [1024]uint64
	for _, h := range suspects {
		count[h] = 0
		some[h>>54] |= 1 << (h >> 48 & 63)
	}
	for _, c := range p.chunks {
		for k := range c {
			h := c[k].hash
			if some[h>>54]&(1<<(h>>48&63)) == 0 {
				continue
			}
			if n, ok := count[h]; ok {
				if n > 0 {
					return true
				}
				count[h] = 1
			}
		}
	}
	return false
}

// dedupe makes the top level's names unique: a name seen before (in the
// same suite, as prove -v sections are separate namespaces) gets " #2",
// " #3"… appended, the first of them not yet taken. It keeps 64-bit hashes
// of the names, not the names, renaming as the names come (each entry adds
// one name to the set, its final one). It runs only when tests found a
// duplicate.
func (p *parser) dedupe(out []pony.TestResult) {
	set := newHashSet(len(out))
	for i := range out {
		r := &out[i]
		if set.add(p.nameHash(r.Suite, r.Name)) {
			continue
		}
		base := r.Name
		for n := 2; ; n++ {
			r.Name = base + " #" + strconv.Itoa(n)
			if set.add(p.nameHash(r.Suite, r.Name)) {
				break
			}
		}
	}
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
		if e.key != "stack" {
			continue
		}
		if v := e.value(); v != "" {
			first, _, _ := strings.Cut(v, "\n")
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
		if c := p.stack[len(p.stack)-1]; c.count == 0 && c.plan == nil && len(c.results) == 0 {
			// A `# Subtest:` comment that nothing followed.
			p.release(p.pop())
			continue
		}
		p.closeUnfinished(fmt.Sprintf("line %d is its parent's plan", p.line))
	}
	p.commit(f)
	pl, _ := parsePlan(s)
	pl.Line = p.line
	if f.plan != nil {
		p.problem(p.line, fmt.Sprintf("a second plan, ignored (the first was on line %d)", f.plan.Line), false)
		p.strictFail(f, s)
		return
	}
	if f.count > 0 || pl.SkipAll {
		// A trailing plan (or a skip-all one): no test point may follow,
		// and the numbers seen must be in it.
		f.trailing = true
		p.outsidePlan(f, &pl)
	}
	if f != p.stack[0] {
		// A subtest's plan lives in its frame, reused.
		f.planBuf = pl
		f.plan = &f.planBuf
		return
	}
	top := new(Plan) // the summary's: not reused
	*top = pl
	f.plan, p.sum.Plan = top, top
	if pl.SkipAll {
		msg := "all tests skipped"
		if pl.Reason != "" {
			msg += ": " + pl.Reason
		}
		p.note(p.line, msg)
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
	p.await = nil
	for len(p.stack) > 1 {
		p.closeUnfinished(why)
	}
	p.commit(p.stack[0])
}

// checkPlan compares a frame's test count with its plan, and adds the
// entries that report its protocol failures.
func (p *parser) checkPlan(f *frame, top bool) {
	if p.bailed {
		return
	}
	where := func() string {
		if top {
			return "the input"
		}
		return fmt.Sprintf("subtest %q", f.title())
	}
	switch {
	case f.plan == nil && f.count == 0 && !top:
	case f.cut && (f.plan == nil || f.count < f.plan.want()):
	case f.plan == nil:
		msg := fmt.Sprintf("%s ended after %s without a plan (1..N line)", where(), tests(f.count))
		if top {
			// Tests may have been lost: the step is incomplete.
			p.problem(p.line, msg, true)
			p.topFailure(Failure{Line: p.line, Kind: NoPlan, Msg: msg})
		} else {
			// A subtest is a TAP document of its own, with its plan.
			p.violation(f, NoPlan, p.line, msg)
		}
	case f.count < f.plan.want():
		msg := fmt.Sprintf("%s ended after %d of the %d planned tests", where(), f.count, f.plan.want())
		if top {
			// Tests were lost: the step is incomplete.
			p.problem(p.line, msg, true)
			p.topFailure(Failure{Line: p.line, Kind: TooFew, Msg: msg})
		} else {
			// The subtest was closed, short of its plan.
			p.violation(f, TooFew, p.line, msg)
		}
	case f.count > f.plan.want():
		p.violation(f, TooMany, f.plan.Line, fmt.Sprintf("%s planned %s on line %d, and ran %s", where(), f.plan, f.plan.Line, tests(f.count)))
	}
	p.failureEntries(f)
}

// tests says "1 test", "2 tests".
func tests(n int) string {
	if n == 1 {
		return "1 test"
	}
	return strconv.Itoa(n) + " tests"
}

// String writes the plan as its line does: "1..3", "1..0 (skip all)".
func (pl *Plan) String() string {
	if pl.SkipAll {
		return "1..0 (skip all)"
	}
	return strconv.Itoa(pl.Start) + ".." + strconv.Itoa(pl.End)
}

// violation records a protocol failure of frame f (not TooFew or NoPlan
// at the top level, where they mean tests were lost), a note in the
// step's errout, and, at the top level, in the summary.
func (p *parser) violation(f *frame, kind FailureKind, line int, msg string) {
	p.problem(line, msg, false)
	n := &f.nPlan
	if kind == Strict {
		n = &f.nStrict
	}
	if *n < maxFails {
		f.fails = append(f.fails, Failure{Line: line, Kind: kind, Msg: msg})
	}
	*n++
	if f == p.stack[0] {
		p.topFailure(Failure{Line: line, Kind: kind, Msg: msg})
	}
}

// topFailure adds a top-level protocol failure to the summary.
func (p *parser) topFailure(fl Failure) {
	if len(p.sum.Failures) < maxProblems {
		p.sum.Failures = append(p.sum.Failures, fl)
	}
}

// failureEntries adds to frame f, after its tests, an entry with status
// error for its plan's failures (PlanEntry) and one for its strict ones
// (StrictEntry), each saying what they were and where.
func (p *parser) failureEntries(f *frame) {
	for _, e := range [...]struct {
		name   string
		strict bool
		n      int
	}{{PlanEntry, false, f.nPlan}, {StrictEntry, true, f.nStrict}} {
		if e.n == 0 {
			continue
		}
		r := pony.TestResult{Suite: p.suite, Name: e.name, Status: pony.StatusError, File: p.opts.File}
		var b strings.Builder
		shown := 0
		for _, fl := range f.fails {
			if (fl.Kind == Strict) != e.strict {
				continue
			}
			if shown == 0 {
				r.Line = fl.Line
			} else {
				b.WriteByte('\n')
			}
			b.WriteString(fl.Msg)
			shown++
		}
		if e.n > shown {
			fmt.Fprintf(&b, "\n(and %d more)", e.n-shown)
		}
		r.Message = pony.CapTail(b.String(), p.opts.OutputCap)
		p.emit(f, r)
	}
}

// outsidePlan records the test numbers of frame f outside the plan pl,
// read after them, one failure for each number.
func (p *parser) outsidePlan(f *frame, pl *Plan) {
	outside := func(n int) {
		p.violation(f, OutsidePlan, pl.Line, fmt.Sprintf("test number %d is outside the plan %s on line %d", n, pl, pl.Line))
	}
	for w, word := range f.seen {
		for word != 0 {
			n := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if n < pl.Start || n > pl.End || pl.SkipAll {
				outside(n)
			}
		}
	}
	for _, n := range f.big {
		if n < pl.Start || n > pl.End || pl.SkipAll {
			outside(n)
		}
	}
}

// seenBefore reports whether frame f has seen test number n, and marks it
// seen.
func (f *frame) seenBefore(n int) bool {
	if n >= maxTracked {
		if slices.Contains(f.big, n) {
			return true
		}
		if len(f.big) < maxBig {
			f.big = append(f.big, n)
		}
		return false
	}
	w := n / 64
	for len(f.seen) <= w {
		f.seen = append(f.seen, 0)
	}
	seen := f.seen[w]&(1<<(n%64)) != 0
	f.seen[w] |= 1 << (n % 64)
	return seen
}

// nonTAP writes a line that is not TAP to the step's output; under
// `pragma +strict` it is a failure of the level it is at.
func (p *parser) nonTAP(ind int, line []byte) {
	p.output(line)
	f := p.stack[0]
	for _, g := range p.stack {
		if g.indent <= ind {
			f = g
		}
	}
	p.strictFail(f, line)
}

// strictFail records the line s, which is not TAP, as a failure of frame
// f when f is under `pragma +strict`.
func (p *parser) strictFail(f *frame, s []byte) {
	if !f.strict {
		return
	}
	s = bytes.TrimSpace(s)
	if len(s) > 60 {
		s = append(s[:60:60], "…"...)
	}
	p.violation(f, Strict, p.line, fmt.Sprintf("line %d is not TAP, under pragma +strict: %q", p.line, s))
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

// proveVerdict reports whether s, a test point at the top level of a
// prove -v section, is rather prove's own verdict on the file: `ok` alone,
// or with --timer `ok       44 ms ( 0.00 usr …`, once the file's plan is
// met.
func proveVerdict(top *frame, s []byte) bool {
	if top.plan == nil || top.count < top.plan.End-top.plan.Start+1 {
		return false
	}
	rest := bytes.TrimRight(s[2:], " \t\r")
	if len(rest) == 0 {
		return true
	}
	rest = bytes.TrimLeft(rest, " ")
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	return i > 0 && bytes.HasPrefix(rest[i:], []byte(" ms"))
}

// proveHeader starts a new section at prove -v's "t/foo.t .. " line, when
// the current section has finished or not started.
func (p *parser) proveHeader(s []byte) bool {
	t := bytes.TrimRight(s, " ")
	// prove --timer starts the line with the time: `[21:18:25] t/a.t .. `.
	if len(t) > 11 && t[0] == '[' && t[9] == ']' && t[10] == ' ' && t[3] == ':' && t[6] == ':' {
		t = t[11:]
	}
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
	p.suite, p.prove = string(t[:sp]), true
	return true
}

// point is a parsed test point line.
type point struct {
	ok  bool
	num int
	// hasNum is set when the line has a number, 0 included (num is then
	// that number when it is not 0).
	hasNum bool
	// desc is the description, in the line's own buffer.
	desc      []byte
	directive byte
	reason    []byte // in the line
	seconds   float64
	// brace is set when the line ends in ` {` (or is `ok {`): it may
	// open a buffered subtest. The ` {` ends either the description,
	// which is then braceCut bytes long without it, or the directive
	// (braceReason: its reason ends with it; braceCut is len(desc)).
	brace       bool
	braceReason bool
	braceCut    int
}

// parsePoint reads `ok|not ok [N] [-] [description] [# directive]`.
func parsePoint(s []byte) point {
	var pt point
	if s[0] == 'o' {
		pt.ok, s = true, s[2:]
	} else {
		s = s[6:]
	}
	s = trimBlanks(s)
	i, n := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i > 0 && (i == len(s) || s[i] == ' ' || s[i] == '\t') {
		if i > 18 { // may overflow: let Atoi say
			v, err := strconv.Atoi(string(s[:i]))
			if err != nil {
				v = math.MaxInt // out of any plan
			}
			n = v
		}
		pt.num, pt.hasNum = n, true
		s = trimBlanks(s[i:])
	}
	if len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ' || s[1] == '\t') {
		s = trimBlanks(s[1:])
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
		d := trimBlanks(s[j+1:])
		switch {
		case hasWordFold(d, "skip"):
			pt.directive, pt.reason = 's', reasonOf(d)
		case hasWordFold(d, "todo"):
			pt.directive, pt.reason = 't', reasonOf(d)
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
	for len(desc) > 0 && (desc[len(desc)-1] == ' ' || desc[len(desc)-1] == '\t') {
		desc = desc[:len(desc)-1]
	}
	if bytes.IndexByte(desc, '\\') >= 0 {
		desc = unescape(desc)
	}
	pt.desc = desc
	if n, ok := braceEnd(desc); ok {
		pt.brace, pt.braceCut = true, n
	} else if pt.directive != 0 || pt.seconds != 0 || len(desc) < len(s) {
		if _, ok := braceEnd(s); ok {
			pt.brace, pt.braceCut = true, len(desc)
			pt.braceReason = pt.directive != 0
		}
	}
	return pt
}

// braceEnd reports whether b ends with a buffered subtest's ` {` (or is
// `{`), trailing blanks aside, and how long b is without it.
func braceEnd(b []byte) (int, bool) {
	b = bytes.TrimRight(b, " \t")
	if len(b) == 0 || b[len(b)-1] != '{' {
		return 0, false
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] != ' ' && b[len(b)-1] != '\t' {
		return 0, false
	}
	return len(bytes.TrimRight(b, " \t")), true
}

// trimBlanks drops leading spaces and tabs.
func trimBlanks(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
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
	return string(reasonOf(d))
}

// reasonOf is directiveReason, in d.
func reasonOf(d []byte) []byte {
	i := 4
	for i < len(d) && (d[i] >= 'a' && d[i] <= 'z' || d[i] >= 'A' && d[i] <= 'Z') {
		i++
	}
	r := bytes.TrimLeft(d[i:], ": \t")
	return bytes.TrimSpace(r)
}

// reasonString makes a SKIP or TODO reason a string, the same string as
// the last reasons read when it is one of them: a stream repeats a few.
func (p *parser) reasonString(b []byte) string {
	for _, r := range p.reasons {
		if string(b) == r {
			return r
		}
	}
	r := p.keep(b)
	p.reasons[0], p.reasons[1] = r, p.reasons[0]
	return r
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
