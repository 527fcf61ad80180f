package tap

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// diagEntry is one top-level key of a YAML diagnostic block.
type diagEntry struct {
	key string
	// val is the value: a scalar unquoted, a block scalar joined with
	// newlines, or the raw (dedented) text of a nested map or list.
	val string
	// nested is true when val is the raw text of a map or list.
	nested bool
	// multiline is true when val came from a block scalar or spans lines.
	multiline bool
	// lazy is true when val is left to value, from body (a stack, which
	// only a failure without a message reads).
	lazy bool
	fold bool
	body []string
}

// value is the entry's value, made from its lines if need be.
func (e *diagEntry) value() string {
	if e.lazy {
		return dedent(e.body, nil, e.fold)
	}
	return e.val
}

// parseDiag appends to out the entries of a YAML diagnostic block the way
// TAP producers write it (node's test runner, node-tap, tape, Test2), read
// as a map of keys to scalars, block scalars (`|`, `|-`, `>`) and nested
// maps or lists. It is not a YAML parser: anything it does not understand
// is kept as raw text under its key, and it never fails. lines holds the
// block's lines without the test point's indentation and without the
// `---`/`...` markers.
func parseDiag(out []diagEntry, lines []string) []diagEntry {
	// Each line's indentation, or -1 for a blank line, read once.
	var buf [64]int
	ind := buf[:0]
	if len(lines) > len(buf) {
		ind = make([]int, 0, len(lines))
	}
	base := -1
	for _, l := range lines {
		n := indentOf(l)
		if blankLine(l[n:]) {
			n = -1
		} else if base < 0 {
			base = n
		}
		ind = append(ind, n)
	}
	if base < 0 {
		return out
	}
	for i := 0; i < len(lines); i++ {
		if ind[i] != base {
			continue // a stray line (or a blank one): kept in the raw output only
		}
		l := lines[i][base:]
		key, rest, ok := splitKey(l)
		if !ok {
			continue
		}
		// The lines that belong to this key: more indented, or blank.
		j := i + 1
		for j < len(lines) && (ind[j] < 0 || ind[j] > base) {
			j++
		}
		// Blank lines at the end belong to no one.
		for j > i+1 && ind[j-1] < 0 {
			j--
		}
		body := lines[i+1 : j]
		e := diagEntry{key: key}
		switch {
		case rest == "" && len(body) > 0:
			e.nested, e.multiline = true, true
			if key == "stack" {
				e.lazy, e.body = true, body
			} else {
				e.val = dedent(body, ind[i+1:j], false)
			}
		case rest != "" && (rest[0] == '|' || rest[0] == '>'):
			e.multiline = true
			if key == "stack" {
				e.lazy, e.body, e.fold = true, body, rest[0] == '>'
			} else {
				e.val = dedent(body, ind[i+1:j], rest[0] == '>')
			}
		default:
			e.val = scalar(rest)
			if len(body) > 0 { // a plain or quoted scalar folded over lines
				e.val = strings.TrimSpace(e.val + " " + strings.Join(trimAll(body), " "))
				e.multiline = true
			}
		}
		out = append(out, e)
		i = j - 1
	}
	return out
}

// blankLine reports whether l is all white space, as
// strings.TrimSpace(l) == "" does, without trimming.
func blankLine(l string) bool {
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
		case c >= utf8.RuneSelf:
			return strings.TrimSpace(l[i:]) == ""
		default:
			return false
		}
	}
	return true
}

// splitKey splits `key: value` (or `key:`) into its parts.
func splitKey(l string) (key, rest string, ok bool) {
	if l == "" || l[0] == '-' || l[0] == '#' {
		return "", "", false
	}
	i := strings.Index(l, ":")
	for i >= 0 && i+1 < len(l) && l[i+1] != ' ' && l[i+1] != '\t' {
		// a colon inside the key (`a:b: c`) or a value glued to it
		n := strings.Index(l[i+1:], ":")
		if n < 0 {
			return "", "", false
		}
		i += 1 + n
	}
	if i <= 0 {
		return "", "", false
	}
	key = strings.TrimSpace(l[:i])
	if len(key) >= 2 && (key[0] == '"' || key[0] == '\'') && key[len(key)-1] == key[0] {
		key = key[1 : len(key)-1]
	}
	return key, strings.TrimSpace(l[i+1:]), key != ""
}

// scalar reads a one-line YAML scalar: quoted, null, or plain.
func scalar(s string) string {
	switch {
	case s == "~" || s == "null":
		return ""
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	return s
}

// dedent joins lines after removing their common indentation; fold joins
// them with spaces instead of newlines (a `>` block scalar). ind, when
// not nil, holds each line's indentation, -1 for a blank line.
func dedent(lines []string, ind []int, fold bool) string {
	min, size := -1, 0
	for i, l := range lines {
		size += len(l) + 1
		n := 0
		if ind != nil {
			n = ind[i]
		} else if n = indentOf(l); blankLine(l[n:]) {
			n = -1
		}
		if n < 0 {
			continue
		}
		if min < 0 || n < min {
			min = n
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i, l := range lines {
		if i > 0 {
			if fold {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
			}
		}
		if len(l) >= min && min > 0 {
			l = l[min:]
		} else if blankLine(l) {
			l = ""
		}
		b.WriteString(l)
	}
	return strings.TrimRight(b.String(), "\n ")
}

func trimAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSpace(l)
	}
	return out
}

func indentOf(l string) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// location reads a source position from the forms TAP producers use:
// node's `location: 'path:line:col'`, node-tap's nested
// `at: {file, line, column}`, tape's `at: Test.<anonymous> (path:line:col)`
// and a plain `path:line`.
func location(e diagEntry) (file string, line int) {
	if e.nested || strings.HasPrefix(e.val, "{") {
		// node-tap: at:\n  file: x\n  line: 4  (or the flow form)
		v := strings.Trim(e.val, "{}")
		var f string
		var ln int
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == ',' }) {
			k, val, ok := splitKey(strings.TrimSpace(part))
			if !ok {
				continue
			}
			switch k {
			case "file":
				f = scalar(val)
			case "line":
				ln, _ = strconv.Atoi(scalar(val))
			}
		}
		return f, ln
	}
	v := e.val
	if i := strings.LastIndexByte(v, '('); i >= 0 && strings.HasSuffix(v, ")") {
		v = v[i+1 : len(v)-1]
	}
	// path:line:col or path:line; the path may hold colons itself.
	last := strings.LastIndexByte(v, ':')
	if last < 0 {
		return "", 0
	}
	n, err := strconv.Atoi(v[last+1:])
	if err != nil {
		return "", 0
	}
	head := v[:last]
	if prev := strings.LastIndexByte(head, ':'); prev >= 0 {
		if m, err := strconv.Atoi(head[prev+1:]); err == nil {
			return head[:prev], m
		}
	}
	return head, n
}

// splitKeyBytes is splitKey for a line's bytes.
func splitKeyBytes(l []byte) (key, rest []byte, ok bool) {
	if len(l) == 0 || l[0] == '-' || l[0] == '#' {
		return nil, nil, false
	}
	i := bytes.IndexByte(l, ':')
	for i >= 0 && i+1 < len(l) && l[i+1] != ' ' && l[i+1] != '\t' {
		n := bytes.IndexByte(l[i+1:], ':')
		if n < 0 {
			return nil, nil, false
		}
		i += 1 + n
	}
	if i <= 0 {
		return nil, nil, false
	}
	key = bytes.TrimSpace(l[:i])
	if len(key) >= 2 && (key[0] == '"' || key[0] == '\'') && key[len(key)-1] == key[0] {
		key = key[1 : len(key)-1]
	}
	return key, bytes.TrimSpace(l[i+1:]), len(key) != 0
}
