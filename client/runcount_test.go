package client

import (
	"reflect"
	"testing"
)

func TestTestCountRuntimes(t *testing.T) {
	var c TestCount
	for _, l := range []string{
		"============================= test session starts ==============================",
		// Debian's pytest 7.2.1 under /usr/bin/python3, while the python3 on
		// PATH may be another one.
		"platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack",
		"platform linux -- Python 3.12.0, pytest-8.0.0, pluggy-1.4.0", // the first one stays
		"ok 1 - platform linux -- Python 9.9",
		`{"Action":"pass","Test":"TestX"}`,
	} {
		c.line([]byte(l))
	}
	if got, want := c.Runtimes(), map[string]string{RuntimePython: "python3.11.2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if tests, failed := c.Load(); tests != 2 || failed != 0 {
		t.Errorf("got %d tests, %d failed; want 2, 0", tests, failed)
	}
}
