package aggregator

import (
	"sort"
	"testing"
)

func TestNaturalLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"go1.9", "go1.10", true},
		{"go1.10", "go1.9", false},
		{"python3.9", "python3.12", true},
		{"1.2.10", "1.2.9", false},
		{"1.2.9", "1.2.10", true},
		{"a", "b", true},
		{"a", "a", false},
		{"", "a", true},
		{"a", "", false},
		{"x1", "x01", true},
		{"x01", "x1", false},
		{"x01a", "x1b", true},
		{"amd64", "arm64", true},
		{"go1", "go1.0", true},
		{"99999999999999999999999", "100000000000000000000000", true},
		{"a1b", "a1", false},
		{"linux/go1.21", "linux/go1.21.3", true},
	}
	for _, tt := range tests {
		if got := NaturalLess(tt.a, tt.b); got != tt.want {
			t.Errorf("NaturalLess(%q, %q): got %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	in := []string{"python3.12", "go1.10", "python3.9", "go1.9", "go1.21", "go1.2"}
	sort.Slice(in, func(i, j int) bool { return NaturalLess(in[i], in[j]) })
	want := []string{"go1.2", "go1.9", "go1.10", "go1.21", "python3.9", "python3.12"}
	for i := range want {
		if in[i] != want[i] {
			t.Fatalf("sorted: got %v, want %v", in, want)
		}
	}
}

// FuzzNaturalLess checks that NaturalLess is a strict total order: never
// both a<b and b<a, irreflexive, exactly one of a<b, b<a for a != b, and
// transitive over a third string.
func FuzzNaturalLess(f *testing.F) {
	f.Add("go1.9", "go1.10", "go1.010")
	f.Add("x01", "x1", "x001")
	f.Add("", "0", "00")
	f.Add("a1b2", "a01b1", "a1b02")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := NaturalLess(a, b), NaturalLess(b, a)
		if NaturalLess(a, a) {
			t.Fatalf("NaturalLess(%q, %q): got true, want false", a, a)
		}
		if ab && ba {
			t.Fatalf("NaturalLess both ways for %q and %q", a, b)
		}
		if a != b && !ab && !ba {
			t.Fatalf("NaturalLess neither way for distinct %q and %q", a, b)
		}
		if ab && NaturalLess(b, c) && !NaturalLess(a, c) {
			t.Fatalf("not transitive: %q < %q < %q but not %q < %q", a, b, c, a, c)
		}
	})
}
