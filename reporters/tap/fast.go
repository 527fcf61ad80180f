package tap

import (
	"bytes"

	"github.com/pony-build/pony"
)

// The fast path reads, straight from the reader's buffer, the blocks that
// make up most of node's `--test` output, a passing test (here at the top
// level; in a subtest, every line is indented as the subtest is):
//
//	# Subtest: NAME
//	ok N - NAME
//	  ---
//	  duration_ms: 0.1234
//	  ...
//
// It takes a block only when the general path (handle) would read it in
// one way: a `# Subtest:` comment, at the innermost open level, that opens
// a subtest the test point then closes without a test of its own; an `ok`
// test point with the next number, a description without escapes or '#',
// and no directive or a SKIP or TODO one; a YAML block of nothing but a
// plain decimal duration_ms. It then does what those five lines would do
// through handle, point, endYAML and commit, and commits the test at once:
// an `ok` test whose YAML block is closed takes no comment or output
// (unless KeepPassingOutput, when the fast path is off), so nothing could
// change it before its commit (a failing TODO would take the comments that
// follow it, and is left to the general path). Anything else, and a block
// cut by the end of the buffer, is left to the general path, line by line.
// The other lines of the buffer are read in place too (fastLines): those
// of an open YAML block in bulk (fastYAML), the rest through handle, as
// the read loop would hand them over. The tests compare all this with the
// read loop alone (ParseGeneral) on every input.

// fastBlocks reads such blocks from buf, which starts at a line, into the
// innermost open level, while no YAML block is open, and returns how many
// bytes it read. At the top level it reads node's suites too (fastSuite).
func (p *parser) fastBlocks(buf []byte) int {
	f := p.stack[len(p.stack)-1]
	root := f == p.stack[0]
	k := f.indent
	start := 1
	if f.plan != nil {
		start = f.plan.Start
	}
	pos, blocks := 0, 0
	var blk block
	for {
		b := buf[pos:]
		j, kids := matchBlock(b, k, &blk, true), 0
		if j >= 0 && blk.ok {
			j = closed(b, j, k, "  ...\n")
		} else if j < 0 && root {
			j, kids = p.matchSuite(b, &blk)
		}
		if j < 0 {
			break
		}
		// The number must be the next one, and new.
		num := blk.num
		if num != start+f.count {
			break
		}
		w, bit := num/64, uint64(1)<<(num%64)
		if num < maxTracked && w < len(f.seen) && f.seen[w]&bit != 0 {
			break
		}
		// A point after a trailing plan, or outside the plan, is a
		// protocol failure: the general path's to report.
		if f.trailing || f.plan != nil && num > f.plan.End || num >= maxTracked {
			break
		}
		// A `{` line after the block would open a buffered subtest with
		// its point; a block cut from its next line by the buffer's end
		// cannot tell.
		if next := b[j:]; len(next) <= k || next[k] == '{' && blanks(next[:k]) {
			break
		}

		if !blk.ok {
			// A failing test point, or a failing TODO: read as the
			// general path reads the `# Subtest:` comment (which commits
			// f's pending point), the point (which closes the subtest it
			// opened, without a test) and the `---` (which opens the YAML
			// block), and left open, with the YAML block, for fastYAML
			// and commit.
			p.sawTAP, p.await = true, nil
			p.line++
			p.commit(f)
			p.line++
			pt := point{num: num, hasNum: true, desc: blk.desc, directive: blk.dir, reason: blk.reason}
			p.pendPoint(f, &pt, 0, false)
			p.line++
			pd := f.pend
			p.inYAML, p.yamlLine, p.yamlInd, p.yamlPend = true, p.line, k+2, pd
			p.yamlBuf, p.yamlEnd = p.yamlBuf[:0], p.yamlEnd[:0]
			pd.hadYAML = true
			p.lastNL = true
			return pos + j
		}
		// The block is read: do what it does.
		if blocks == 0 {
			p.sawTAP, p.await = true, nil
			p.commit(f)
			if root {
				p.suiteOf(p.suite)
			}
		}
		blocks++
		pos += j
		p.line += 5
		f.count++
		if root {
			p.sum.Count++
			p.sum.Pass++
			switch blk.dir {
			case 's':
				p.sum.Skip++
			case 't':
				p.sum.Todo++
			}
		}
		if num < maxTracked {
			for len(f.seen) <= w {
				f.seen = append(f.seen, 0)
			}
			f.seen[w] |= bit
		}
		if kids > 0 {
			p.fastSuite(blk.desc)
			continue
		}
		// decimalMS, inlined; a top-level plain pass's division by 1e9
		// is left to fill, which runs on two cores.
		mant, frac := blk.mant, blk.frac
		ns := frac <= 6 && mant < nsLimit[6-frac]
		var dur float64
		switch {
		case !ns:
			dur = roundMS(float64(mant) / pow10[frac])
		case blk.dir == 0 && root:
			dur = float64(mant * pow10u[6-frac])
		default:
			dur = float64(mant*pow10u[6-frac]) / 1e9
		}
		desc := blk.desc
		if blk.dir != 0 {
			// As commit does for a skip, or a TODO that passed.
			r := pony.TestResult{Suite: p.suite, Status: pony.StatusSkip, Duration: dur, Message: p.reasonString(blk.reason)}
			if blk.dir == 't' {
				r.Status = pony.StatusXPass
			}
			if root {
				p.emitTop(r, desc, true)
			} else {
				r.Name = string(desc)
				p.emit(f, r)
			}
			continue
		}
		if !root {
			p.emit(f, pony.TestResult{Suite: p.suite, Name: string(desc), Status: pony.StatusPass, Duration: dur})
			continue
		}
		// As emitTop does for a plain pass, with addName inlined.
		if p.arena.Len()+len(desc) > p.arena.Cap() {
			p.reserve(len(desc))
		}
		p.arena.Write(desc)
		// Hashed from the input: the arena's copy may not be readable
		// yet at full speed.
		e := entry{n: uint32(len(desc)), dur: dur, hash: strHash(p.seed, desc) ^ p.suitePart(p.suites[len(p.suites)-1])}
		if ns {
			e.full = -1 // fill divides dur by 1e9
		}
		p.addEntry(e)
	}
	if blocks > 0 {
		p.lastNL = true
	}
	return pos
}

// block is what matchBlock read: a test point, `ok` (or not) with the
// number num, the description desc (in the buffer), the directive dir
// ('s' skip, 't' todo, 0 none) and its reason (in the buffer too), and a
// duration_ms of mant / 10^frac (for an `ok` only).
type block struct {
	ok     bool
	num    int
	desc   []byte
	dir    byte
	reason []byte
	mant   uint64
	frac   int
}

// matchBlock reads the start of a block at indentation k from b: the
// `# Subtest:` comment (when subtest is true), the `ok` test point, the
// YAML block's `---` and its duration_ms line; for a `not ok` test point,
// only through the `---`. It returns how many bytes it read, or -1 when b
// does not start so.
func matchBlock(b []byte, k int, blk *block, subtest bool) int {
	i := 0
	if subtest {
		// # Subtest: NAME (the name is not needed: the subtest closes
		// without a test, and its test point names it).
		if len(b) < k+10 || string(b[k:k+9]) != "# Subtest" || b[k+9] != ':' && b[k+9] != '\n' || !blanks(b[:k]) {
			return -1
		}
		// The name's end: a loop over the bytes costs less than a call
		// to bytes.IndexByte on a short line.
		i = k + 9
		for end := min(len(b), i+32); i < end && b[i] != '\n'; {
			i++
		}
		if i == len(b) {
			return -1
		}
		if b[i] != '\n' {
			n := bytes.IndexByte(b[i:], '\n')
			if n < 0 {
				return -1
			}
			i += n
		}
		i++
	}
	// ok N - DESCRIPTION, or not ok
	ok, j := true, i+k+3
	if len(b) < j || string(b[i+k:j]) != "ok " || !blanks(b[i:i+k]) {
		if len(b) < i+k+7 || string(b[i+k:i+k+7]) != "not ok " || !blanks(b[i:i+k]) {
			return -1
		}
		ok, j = false, i+k+7
	}
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	d, num := j, 0
	for j < len(b) && b[j]-'0' <= 9 {
		num = num*10 + int(b[j]-'0')
		j++
	}
	if j == d || j-d > 18 || num == 0 || j == len(b) || b[j] != ' ' && b[j] != '\t' {
		return -1
	}
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j+1 < len(b) && b[j] == '-' && b[j+1] <= ' ' {
		// A dash alone is no description either.
		if b[j+1] != ' ' && b[j+1] != '\t' {
			return -1
		}
		j++
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
	}
	d = j
	for j < len(b) && !descStop[b[j]] {
		j++
	}
	if j == d || j == len(b) || b[j-1] == ' ' && b[j] != '#' || b[j-1] == '\t' && b[j] != '#' {
		return -1
	}
	blk.ok, blk.num, blk.desc, blk.dir, blk.reason = ok, num, b[d:j], 0, nil
	if b[j] == '#' {
		// # SKIP or # TODO, after a blank: what follows is the reason.
		if b[j-1] != ' ' && b[j-1] != '\t' {
			return -1
		}
		desc := blk.desc
		for len(desc) > 0 && (desc[len(desc)-1] == ' ' || desc[len(desc)-1] == '\t') {
			desc = desc[:len(desc)-1]
		}
		blk.desc = desc
		j++
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		d = j
		for j < len(b) && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if len(desc) == 0 || j == len(b) || b[j] != '\n' {
			return -1
		}
		switch {
		case hasWordFold(b[d:j], "skip"):
			blk.dir = 's'
		case hasWordFold(b[d:j], "todo"):
			blk.dir = 't'
		default:
			return -1
		}
		blk.reason = reasonOf(b[d:j])
	} else if b[j] != '\n' {
		return -1
	}
	j++
	//   ---
	//   duration_ms: D
	const open = "  ---\n"
	if len(b) < j+k+len(open) || string(b[j+k:j+k+len(open)]) != open || !blanks(b[j:j+k]) {
		return -1
	}
	j += k + len(open)
	if !ok {
		return j // the rest is the general path's to read
	}
	const key = "  duration_ms: "
	if len(b) < j+k+len(key) || string(b[j+k:j+k+len(key)]) != key || !blanks(b[j:j+k]) {
		return -1
	}
	j += k + len(key)
	// A plain decimal: digits, and a point and digits after them, then
	// the line's end; anything else is the general path's to read.
	var mant uint64
	d = j
	for j < len(b) && b[j]-'0' <= 9 {
		mant = mant*10 + uint64(b[j]-'0')
		j++
	}
	digits, frac := j-d, 0
	if digits > 0 && j < len(b) && b[j] == '.' {
		j++
		d = j
		for j < len(b) && b[j]-'0' <= 9 {
			mant = mant*10 + uint64(b[j]-'0')
			j++
		}
		frac = j - d
		if frac == 0 {
			return -1
		}
		digits += frac
	}
	if digits == 0 || digits > 15 || j == len(b) || b[j] != '\n' {
		return -1
	}
	blk.mant, blk.frac = mant, frac
	return j + 1
}

// closed returns the end of the line of k spaces and end that starts at
// b[j:], or -1 when there is none.
func closed(b []byte, j, k int, end string) int {
	if len(b) < j+k+len(end) || string(b[j+k:j+k+len(end)]) != end || !blanks(b[j:j+k]) {
		return -1
	}
	return j + k + len(end)
}

// A suite, node's describe() at the top level, is a block of blocks:
//
//	# Subtest: SUITE
//	    # Subtest: NAME
//	    ok 1 - NAME
//	      ---
//	      duration_ms: 0.1234
//	      ...
//	    (more such blocks, numbered 2, 3…)
//	    1..K
//	ok N - SUITE
//	  ---
//	  duration_ms: 1.5
//	  type: 'suite'
//	  ...
//
// matchSuite takes one whose K subtests are all plain passes, numbered 1
// to K in order, with different names, under a plan of 1..K, closed by an
// `ok` without a directive: the general path reads it without a problem,
// writes the K entries named SUITE/NAME, and drops the suite's own point,
// whose verdict they explain (suiteExplained). fastSuite does the same.

// maxKids caps the subtests of a suite the fast path reads.
const maxKids = 32

// kid is a suite's subtest as matchSuite read it.
type kid struct {
	desc []byte
	mant uint64
	frac int
}

// matchSuite reads a suite from b, which starts at a line, at the top
// level, into p.kids and blk (the suite's own point); it returns how many
// bytes it read and how many subtests the suite has, or -1 and 0 when b
// does not start with such a suite.
func (p *parser) matchSuite(b []byte, blk *block) (int, int) {
	if len(b) < 10 || string(b[:9]) != "# Subtest" || b[9] != ':' && b[9] != '\n' {
		return -1, 0
	}
	i := bytes.IndexByte(b[9:], '\n')
	if i < 0 {
		return -1, 0
	}
	i += 9 + 1
	kids := p.kids[:0]
	for len(kids) < maxKids {
		j := matchBlock(b[i:], 4, blk, true)
		if j < 0 {
			break
		}
		if !blk.ok {
			return -1, 0
		}
		j = closed(b[i:], j, 4, "  ...\n")
		if j < 0 || blk.dir != 0 || blk.num != len(kids)+1 {
			return -1, 0
		}
		for _, o := range kids {
			if string(o.desc) == string(blk.desc) {
				return -1, 0 // renamed by emit
			}
		}
		kids = append(kids, kid{blk.desc, blk.mant, blk.frac})
		i += j
	}
	p.kids = kids
	//     1..K
	const plan = "    1.."
	if len(kids) == 0 || len(b) < i+len(plan) || string(b[i:i+len(plan)]) != plan {
		return -1, 0
	}
	i += len(plan)
	end := 0
	for d := i; i < len(b) && b[i] >= '0' && b[i] <= '9' && i-d < 4; i++ {
		end = end*10 + int(b[i]-'0')
	}
	if end != len(kids) || i == len(b) || b[i] != '\n' {
		return -1, 0
	}
	i++
	// ok N - SUITE, its duration_ms and type.
	j := matchBlock(b[i:], 0, blk, false)
	if j < 0 || !blk.ok || blk.dir != 0 {
		return -1, 0
	}
	j = closed(b[i:], j, 0, "  type: 'suite'\n  ...\n")
	if j < 0 {
		return -1, 0
	}
	return i + j, len(kids)
}

// fastSuite writes the entries of the suite named name that matchSuite
// read, as point does through emitTopPrefixed, and counts its lines.
func (p *parser) fastSuite(name []byte) {
	// fastBlocks counted five of its lines (the header, the point and
	// three of its YAML block); the plan, the type and the subtests'
	// five each are left.
	p.line += 2 + 5*len(p.kids)
	for _, c := range p.kids {
		n := len(name) + 1 + len(c.desc)
		p.reserve(n)
		p.arena.Write(name)
		p.arena.WriteByte('/')
		p.arena.Write(c.desc)
		// As fastBlocks does for a subtest's plain pass; the division by
		// 1e9 is left to fill.
		e := entry{n: uint32(n)}
		if c.frac <= 6 && c.mant < nsLimit[6-c.frac] {
			e.dur, e.full = float64(c.mant*pow10u[6-c.frac]), -1
		} else {
			e.dur = roundMS(float64(c.mant) / pow10[c.frac])
		}
		p.addEntry(e)
	}
}

// descStop marks the bytes that end a description's plain run.
var descStop = [256]bool{'\n': true, '#': true, '\\': true, '\r': true}

// blanks reports whether b is all spaces.
func blanks(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

// fastLines reads the whole lines of buf, which starts at a line, as the
// read loop in parse would, and returns how many bytes it read: the lines
// of an open YAML block in bulk (fastYAML), whole blocks of node's shape
// (fastBlocks, when blocks is true), and any other line through handle.
// It stops at a line cut by the end of buf, and after a bail out.
func (p *parser) fastLines(buf []byte, blocks bool) int {
	pos := 0
	for !p.bailed && pos < len(buf) {
		if p.inYAML {
			pos += p.fastYAML(buf[pos:])
			if !p.inYAML {
				continue
			}
		} else if blocks {
			if n := p.fastBlocks(buf[pos:]); n > 0 {
				pos += n
				continue
			}
		}
		nl := bytes.IndexByte(buf[pos:], '\n')
		if nl < 0 {
			break
		}
		line := buf[pos : pos+nl]
		if nl > 0 && line[nl-1] == '\r' {
			line = line[:nl-1]
		}
		pos += nl + 1
		p.line++
		p.lastNL = true
		p.handle(line)
	}
	return pos
}

// fastYAML reads the lines of the open YAML block from buf, which starts
// at a line, as yamlLineOf would one by one, through the block's closing
// `...`, and returns how many bytes it read. It stops before a line the
// general path must see: one that ends the block without closing it (a
// problem to report, and a line to handle), and a line cut by the end of
// the buffer.
func (p *parser) fastYAML(buf []byte) int {
	pos := 0
	for p.inYAML {
		b := buf[pos:]
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			break
		}
		line := b[:nl]
		if nl > 0 && line[nl-1] == '\r' {
			line = line[:nl-1]
		}
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		closing := ind == p.yamlInd && isMarker(line[ind:], "...")
		if !closing && ind < p.yamlInd && len(bytes.TrimSpace(line)) != 0 {
			break
		}
		pos += nl + 1
		p.line++
		p.lastNL = true
		if closing {
			p.endYAML(true)
			break
		}
		p.yamlBuf = append(p.yamlBuf, line[min(p.yamlInd, len(line)):]...)
		p.yamlEnd = append(p.yamlEnd, len(p.yamlBuf))
		p.yamlBuf = append(p.yamlBuf, '\n')
	}
	return pos
}
