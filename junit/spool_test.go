package junit

import (
	"fmt"
	"math/rand"
	"testing"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

// SetLongText sets the length past which the lexer streams a text token,
// for the tests that run the streamed path on small inputs; it returns a
// function putting the old length back. Tests calling it must not run in
// parallel with other decoding tests.
func SetLongText(n int) (restore func()) {
	old := longText
	longText = n
	return func() { longText = old }
}

// TestSpoolWriteTo checks that spools written into a TailBuffer, between
// other writes, give what writing their bytes directly gives: the same
// String and Len, for every cap, whatever the pieces.
func TestSpoolWriteTo(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	piece := func() []byte {
		b := make([]byte, rng.Intn(3)*rng.Intn(40))
		for i := range b {
			b[i] = "ab\n é"[rng.Intn(6)]
		}
		return b
	}
	for i := 0; i < 5000; i++ {
		max := []int{0, 1, 2, 5, 16, 33}[rng.Intn(6)]
		direct := pony.TailBuffer{Max: max}
		via := pony.TailBuffer{Max: max}
		var s, o spool
		s.reset(max)
		o.reset(max)
		for n := rng.Intn(4); n > 0; n-- {
			b := piece()
			direct.Write(b)
			via.Write(b)
		}
		// s is written, then o; o is added to s, and s goes into via.
		var last byte
		for n := rng.Intn(6); n > 0; n-- {
			b := piece()
			direct.Write(b)
			s.write(b)
			if len(b) > 0 {
				last = b[len(b)-1]
			}
		}
		for n := rng.Intn(6); n > 0; n-- {
			b := piece()
			direct.Write(b)
			o.write(b)
			if len(b) > 0 {
				last = b[len(b)-1]
			}
		}
		s.add(&o)
		if got := s.last(); got != last {
			t.Fatalf("max %d: got last byte %q, want %q", max, got, last)
		}
		if max > 0 && len(s.buf) > 2*max {
			t.Fatalf("max %d: the spool holds %d bytes, want at most %d", max, len(s.buf), 2*max)
		}
		s.writeTo(&via)
		if got, want := via.String(), direct.String(); got != want || via.Len() != direct.Len() {
			t.Fatalf("max %d: got %q (len %d), want %q (len %d)", max, got, via.Len(), want, direct.Len())
		}
		for n := rng.Intn(3); n > 0; n-- {
			b := piece()
			direct.Write(b)
			via.Write(b)
		}
		if got, want := via.String(), direct.String(); got != want || via.Len() != direct.Len() {
			t.Fatalf("max %d, after more writes: got %q, want %q", max, got, want)
		}
	}
}

// TestBadChar checks badChar against the rune-by-rune check it replaced.
func TestBadChar(t *testing.T) {
	for _, in := range []string{"", "abc", "a\tb\nc\r", "\x00", "a\x01", "\x7f", "é", "\xc3", "\xc3(", "\xed\xa0\x80", "\ufffe", "\ufffd", "😀", "\xf4\x90\x80\x80", "ok\x0bno", "é\x00"} {
		want := ""
		for buf := []byte(in); len(buf) > 0; {
			r, size := utf8.DecodeRune(buf)
			if r == utf8.RuneError && size == 1 {
				want = "invalid UTF-8"
				break
			}
			buf = buf[size:]
			if !isInCharacterRange(r) {
				want = fmt.Sprintf("illegal character code %U", r)
				break
			}
		}
		if got := badChar([]byte(in)); got != want {
			t.Errorf("badChar(%q): got %q, want %q", in, got, want)
		}
	}
}
