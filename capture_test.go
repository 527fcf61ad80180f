package pony_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

func TestCapTail(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"no cap", 0, "no cap"},
		{strings.Repeat("x", 100) + "VERDICT", 40, "[… 91 bytes cut …]\n" + strings.Repeat("x", 9) + "VERDICT"},
	}
	for _, tc := range tests {
		if got := pony.CapTail(tc.in, tc.max); got != tc.want {
			t.Errorf("CapTail(%q, %d): got %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	// The cut never splits a rune and never exceeds the cap.
	s := strings.Repeat("é日本", 200)
	for max := 25; max < 200; max++ {
		got := pony.CapTail(s, max)
		if !utf8.ValidString(got) || len(got) > max {
			t.Fatalf("CapTail(…, %d): %d bytes, valid UTF-8 %v", max, len(got), utf8.ValidString(got))
		}
	}
}

func TestTailBuffer(t *testing.T) {
	var tb pony.TailBuffer
	tb.Max = 50
	var all strings.Builder
	for i := 0; i < 1000; i++ {
		line := strings.Repeat(string(rune('a'+i%26)), i%7) + "\n"
		all.WriteString(line)
		if i%2 == 0 {
			tb.WriteString(line)
		} else {
			tb.Write([]byte(line))
		}
	}
	got := tb.String()
	if len(got) > 50 {
		t.Errorf("kept %d bytes, want ≤ 50", len(got))
	}
	if tb.Len() != int64(all.Len()) {
		t.Errorf("Len: got %d, want %d", tb.Len(), all.Len())
	}
	i := strings.Index(got, "\n")
	kept := got[i+1:]
	if !strings.HasSuffix(all.String(), kept) {
		t.Errorf("kept %q is not the tail of the input", kept)
	}
	wantMarker := "[… " + itoa(all.Len()-len(kept)) + " bytes cut …]"
	if got[:i] != wantMarker {
		t.Errorf("marker: got %q, want %q", got[:i], wantMarker)
	}
	tb.Reset()
	io.WriteString(&tb, "fresh")
	if tb.String() != "fresh" {
		t.Errorf("after Reset: got %q, want %q", tb.String(), "fresh")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestInputError(t *testing.T) {
	base := errors.New("unexpected end")
	tests := []struct {
		err  *pony.InputError
		want string
	}{
		{&pony.InputError{File: "r.xml", Line: 12, Err: base}, "r.xml:12: unexpected end"},
		{&pony.InputError{File: "-", Offset: 4096, Err: base}, "-: byte 4096: unexpected end"},
		{&pony.InputError{Err: base}, "<input>: unexpected end"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, base) {
			t.Errorf("errors.Is: got false, want true")
		}
	}
}

func TestCapsSmallerThanTheMarker(t *testing.T) {
	s := strings.Repeat("x", 100) + "VERDICT"
	for max := 1; max < 30; max++ {
		got := pony.CapTail(s, max)
		if len(got) > max || !strings.HasSuffix(s, stripMarker(got)) {
			t.Errorf("CapTail(…, %d): got %q, want at most %d bytes of the tail", max, got, max)
		}
		tb := pony.TailBuffer{Max: max}
		tb.WriteString(s)
		if got := tb.String(); len(got) > max || !strings.HasSuffix(s, stripMarker(got)) {
			t.Errorf("TailBuffer{Max: %d}: got %q, want at most %d bytes of the tail", max, got, max)
		}
	}
}

// stripMarker drops a leading "[… N bytes cut …]" line.
func stripMarker(s string) string {
	if strings.HasPrefix(s, "[… ") {
		if i := strings.Index(s, "…]\n"); i >= 0 {
			return s[i+len("…]\n"):]
		}
	}
	return s
}
