package web

import "testing"

func TestTestURL(t *testing.T) {
	for _, c := range []struct{ pkg, suite, name, want string }{
		{"p", "example.com/x", "TestA/1+2", "/p/p/t/example.com%2Fx/TestA%2F1%2B2"},
		{"a+b", "s", "t", "/p/a%2Bb/t/s/t"},
		{"p", "", "ok 1", "/p/p/t?name=ok+1&suite="},
		{"p", "s", "..", "/p/p/t?name=..&suite=s"},
		{"p", ".", "x", "/p/p/t?name=x&suite=."},
	} {
		if got := testURL(c.pkg, c.suite, c.name); got != c.want {
			t.Errorf("testURL(%q, %q, %q) = %q, want %q", c.pkg, c.suite, c.name, got, c.want)
		}
	}
}
