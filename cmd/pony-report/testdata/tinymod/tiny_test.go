package tinymod

import (
	"strings"
	"testing"
)

func TestUpper(t *testing.T) {
	if got := strings.ToUpper("pony"); got != "PONY" {
		t.Errorf("got %q, want %q", got, "PONY")
	}
}

func TestTable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"a", "A"}, {"é", "É"}} {
		t.Run(tc.in, func(t *testing.T) {
			if got := strings.ToUpper(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	t.Skip("not on this machine")
}

func TestBroken(t *testing.T) {
	t.Log("about to compare")
	if got := strings.Repeat("ab", 2); got != "abab " {
		t.Errorf("got %q, want %q", got, "abab ")
	}
}
