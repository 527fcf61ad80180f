// Package runmod is a small module that `pony-report run -- go test` runs
// in cmd/pony-report's tests: one passing test with subtests, one failing,
// one skipped.
package runmod

import (
	"strings"
	"testing"
)

func TestPass(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"a", "A"}, {"pony", "PONY"}} {
		t.Run(tc.in, func(t *testing.T) {
			if got := strings.ToUpper(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFail(t *testing.T) {
	t.Log("comparing")
	if got := strings.Repeat("ab", 2); got != "abab " {
		t.Errorf("got %q, want %q", got, "abab ")
	}
}

func TestSkip(t *testing.T) {
	t.Skip("not on this machine")
}
