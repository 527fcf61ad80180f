package tap

import "bytes"

// Detect says how sure it is, from 0 to 100, that an input starting with
// head is TAP. It is sure of a TAP version line; otherwise it counts lines that
// read as TAP (test points, plans, bail outs) among the first ones. The
// output of `prove -v` holds raw TAP under each file's header, so it is
// claimed (with less certainty); plain `prove` output (`t/foo.t .. ok`) holds
// none and is not.
func Detect(head []byte) int {
	lines, tapLines, points := 0, 0, 0
	// strong: a version line, a plan, a subtest or a bail out: a lone
	// `ok` (a setup command saying it is done) is not TAP enough.
	strong := false
	for len(head) > 0 && lines < 200 {
		var line []byte
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			line, head = head, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		t := bytes.TrimLeft(line, " ")
		indented := len(t) != len(line)
		switch {
		case !indented && bytes.HasPrefix(t, []byte("TAP version 1")):
			if tapLines == 0 && points == 0 {
				return 100
			}
			tapLines++
			strong = true
		case tapPoint(t):
			tapLines++
			points++
		case tapPlan(t), bytes.HasPrefix(t, []byte("Bail out!")), bytes.HasPrefix(t, []byte("# Subtest: ")):
			tapLines++
			strong = true
		}
	}
	switch {
	case tapLines == 0, !strong && points < 2:
		return 0
	case tapLines == lines || tapLines*2 >= lines && points > 0:
		return 80
	case points > 0:
		return 50
	}
	return 10
}

// tapPoint reports whether t starts like a test point: `ok`/`not ok`
// followed by a number, a dash or the end of the line (not "ok  \tpkg", go
// test's package line).
func tapPoint(t []byte) bool {
	switch {
	case bytes.HasPrefix(t, []byte("ok")):
		t = t[2:]
	case bytes.HasPrefix(t, []byte("not ok")):
		t = t[6:]
	default:
		return false
	}
	if len(t) == 0 {
		return true
	}
	return t[0] == ' ' && len(t) > 1 && (t[1] >= '0' && t[1] <= '9' || t[1] == '-' || t[1] == '#')
}

func tapPlan(t []byte) bool {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 || !bytes.HasPrefix(t[i:], []byte("..")) {
		return false
	}
	j := i + 2
	k := j
	for k < len(t) && t[k] >= '0' && t[k] <= '9' {
		k++
	}
	return k > j && (k == len(t) || t[k] == ' ' || t[k] == '#')
}
