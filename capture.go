package pony

import (
	"fmt"
	"unicode/utf8"
)

// CapTail returns s cut to at most max bytes by keeping its tail (a runner's
// verdict is at the end), prefixed by a marker saying how much was cut.
// The cut falls on a UTF-8 boundary. max ≤ 0 means no cap.
func CapTail(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	marker := fmt.Sprintf("[… %d bytes cut …]\n", len(s)) // digits of the largest possible cut
	if len(marker) >= max {
		// No room for the marker: the bare tail.
		return tail(s, max)
	}
	kept := tail(s, max-len(marker))
	return fmt.Sprintf("[… %d bytes cut …]\n", len(s)-len(kept)) + kept
}

// tail returns at most n bytes from the end of s, starting on a rune.
func tail(s string, n int) string {
	start := len(s) - n
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return s[start:]
}

// TailBuffer is an io.Writer that keeps only the last Max bytes written to
// it, and counts what it dropped. Its memory never exceeds about 2×Max, so a
// parser can collect a test's or a step's output from a stream of any size.
// The zero value keeps everything; set Max to cap it.
type TailBuffer struct {
	Max     int
	buf     []byte
	dropped int64
}

// Write keeps the tail of p; it never fails.
func (t *TailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if t.Max > 0 && len(p) >= t.Max {
		t.dropped += int64(len(t.buf)) + int64(len(p)-t.Max)
		t.buf = append(t.buf[:0], p[len(p)-t.Max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if t.Max > 0 && len(t.buf) > 2*t.Max {
		cut := len(t.buf) - t.Max
		t.dropped += int64(cut)
		t.buf = append(t.buf[:0], t.buf[cut:]...)
	}
	return n, nil
}

// WriteString is Write for strings.
func (t *TailBuffer) WriteString(s string) (int, error) {
	// Avoid a copy for the common small case by appending directly.
	if t.Max <= 0 || len(s) < t.Max {
		t.buf = append(t.buf, s...)
		if t.Max > 0 && len(t.buf) > 2*t.Max {
			cut := len(t.buf) - t.Max
			t.dropped += int64(cut)
			t.buf = append(t.buf[:0], t.buf[cut:]...)
		}
		return len(s), nil
	}
	return t.Write([]byte(s))
}

// Len is the number of bytes written so far, dropped ones included.
func (t *TailBuffer) Len() int64 { return t.dropped + int64(len(t.buf)) }

// Reset empties the buffer and keeps its memory.
func (t *TailBuffer) Reset() { t.buf, t.dropped = t.buf[:0], 0 }

// String returns what is kept, at most Max bytes, with a marker when
// anything was dropped (see CapTail).
func (t *TailBuffer) String() string {
	if t.Max <= 0 || (t.dropped == 0 && len(t.buf) <= t.Max) {
		return string(t.buf)
	}
	total := t.Len()
	marker := fmt.Sprintf("[… %d bytes cut …]\n", total)
	if len(marker) >= t.Max {
		return tail(string(t.buf), t.Max)
	}
	kept := tail(string(t.buf), t.Max-len(marker))
	return fmt.Sprintf("[… %d bytes cut …]\n", total-int64(len(kept))) + kept
}

// InputError is a problem in a report being parsed, with where it is: the
// file (or "-" for standard input), the 1-based line when known, and the
// byte offset.
type InputError struct {
	File   string
	Line   int
	Offset int64
	Err    error
}

func (e *InputError) Error() string {
	where := e.File
	if where == "" {
		where = "<input>"
	}
	switch {
	case e.Line > 0:
		where = fmt.Sprintf("%s:%d", where, e.Line)
	case e.Offset > 0:
		where = fmt.Sprintf("%s: byte %d", where, e.Offset)
	}
	return where + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }
