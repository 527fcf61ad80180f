package tap

import "github.com/pony-build/pony"

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
// cut by the end of the buffer, is left to the general path, line by line;
// the tests compare the two on every input.

// fastBlocks reads such blocks from buf, which starts at a line, into the
// innermost open level, while no YAML block is open, and returns how many
// bytes it read.
func (p *parser) fastBlocks(buf []byte) int {
	f := p.stack[len(p.stack)-1]
	root := f == p.stack[0]
	k := f.indent
	start := 1
	if f.plan != nil {
		start = f.plan.Start
	}
	pos, blocks := 0, 0
block:
	for {
		b := buf[pos:]
		// # Subtest: NAME (the name is not needed: the subtest closes
		// without a test, and its test point names it).
		if len(b) < k+10 || string(b[k:k+9]) != "# Subtest" || b[k+9] != ':' && b[k+9] != '\n' || !blanks(b[:k]) {
			break
		}
		i := k + 9
		for i < len(b) && b[i] != '\n' {
			i++
		}
		i++
		// ok N - DESCRIPTION
		if len(b) < i+k+3 || string(b[i+k:i+k+3]) != "ok " || !blanks(b[i:i+k]) {
			break
		}
		j := i + k + 3
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		d, num := j, 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			num = num*10 + int(b[j]-'0')
			j++
		}
		if j == d || j-d > 18 || num == 0 || j == len(b) || b[j] != ' ' && b[j] != '\t' {
			break
		}
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j+1 < len(b) && b[j] == '-' && b[j+1] <= ' ' {
			// A dash alone is no description either.
			if b[j+1] != ' ' && b[j+1] != '\t' {
				break
			}
			j++
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
		}
		d = j
		for j < len(b) && b[j] != '\n' && b[j] != '#' && b[j] != '\\' && b[j] != '\r' {
			j++
		}
		if j == d || j == len(b) || b[j-1] == ' ' && b[j] != '#' || b[j-1] == '\t' && b[j] != '#' {
			break
		}
		desc, dir := b[d:j], byte(0)
		var reason string
		if b[j] == '#' {
			// # SKIP or # TODO, after a blank: what follows is the reason.
			if b[j-1] != ' ' && b[j-1] != '\t' {
				break
			}
			for len(desc) > 0 && (desc[len(desc)-1] == ' ' || desc[len(desc)-1] == '\t') {
				desc = desc[:len(desc)-1]
			}
			j++
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			d = j
			for j < len(b) && b[j] != '\n' && b[j] != '\r' {
				j++
			}
			if len(desc) == 0 || j == len(b) || b[j] != '\n' {
				break
			}
			switch {
			case hasWordFold(b[d:j], "skip"):
				dir = 's'
			case hasWordFold(b[d:j], "todo"):
				dir = 't'
			default:
				break block
			}
			reason = directiveReason(b[d:j])
		} else if b[j] != '\n' {
			break
		}
		j++
		//   ---
		//   duration_ms: D
		//   ...
		const open = "  ---\n"
		if len(b) < j+k+len(open) || string(b[j+k:j+k+len(open)]) != open || !blanks(b[j:j+k]) {
			break
		}
		j += k + len(open)
		const key = "  duration_ms: "
		if len(b) < j+k+len(key) || string(b[j+k:j+k+len(key)]) != key || !blanks(b[j:j+k]) {
			break
		}
		j += k + len(key)
		var mant uint64
		digits, frac, dot := 0, 0, false
		for ; j < len(b) && b[j] != '\n'; j++ {
			c := b[j]
			if c >= '0' && c <= '9' {
				mant = mant*10 + uint64(c-'0')
				digits++
				if dot {
					frac++
				}
			} else if c == '.' && !dot && digits > 0 {
				dot = true
			} else {
				digits = 16 // not a plain decimal: the general path reads it
				break
			}
		}
		if digits == 0 || digits > 15 || dot && frac == 0 || j == len(b) || b[j] != '\n' {
			break
		}
		j++
		const end = "  ...\n"
		if len(b) < j+k+len(end) || string(b[j+k:j+k+len(end)]) != end || !blanks(b[j:j+k]) {
			break
		}
		j += k + len(end)
		// The number must be the next one, and new.
		if num != start+f.count {
			break
		}
		w, bit := num/64, uint64(1)<<(num%64)
		if num < maxTracked && w < len(f.seen) && f.seen[w]&bit != 0 {
			break
		}

		// The block is read: do what it does.
		if blocks == 0 {
			p.sawTAP = true
			p.commit(f)
			if root && (len(p.suites) == 0 || p.suites[len(p.suites)-1] != p.suite) {
				p.suites = append(p.suites, p.suite)
			}
		}
		blocks++
		pos += j
		p.line += 5
		f.count++
		if root {
			p.sum.Count++
			p.sum.Pass++
			switch dir {
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
		dur := roundMS(float64(mant) / pow10[frac])
		if dir != 0 {
			// As commit does for a skip, or a TODO that passed.
			r := pony.TestResult{Suite: p.suite, Status: pony.StatusSkip, Duration: dur, Message: reason}
			if dir == 't' {
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
		// As emitTop does for a plain pass.
		e := entry{off: p.reserve(len(desc)), n: len(desc), suite: int32(len(p.suites) - 1), dur: dur}
		p.arena = append(p.arena, desc...)
		p.addEntry(e)
	}
	if blocks > 0 {
		p.lastNL = true
	}
	return pos
}

// blanks reports whether b is all spaces.
func blanks(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}
