package client

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		tests, failed int
		elapsed       time.Duration
		step, want    string
	}{
		{120, 2, 91 * time.Second, "go test", "pony-report: 120 tests, 2 failed, 1:31 elapsed — go test"},
		{1, 0, 0, "", "pony-report: 1 test, 0 failed, 0:00 elapsed"},
		{0, 0, 3723 * time.Second, "x", "pony-report: 0 tests, 0 failed, 1:02:03 elapsed — x"},
	} {
		if got := ProgressText(tc.tests, tc.failed, tc.elapsed, tc.step); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestProgressLineRenders drives the line with a fake terminal and a
// clock: the line is cleared before output, redrawn after at most 4 times
// a second, and never drawn in the middle of an output line.
func TestProgressLineRenders(t *testing.T) {
	var term bytes.Buffer
	now := time.Unix(1000, 0)
	n := 0
	p := &ProgressLine{W: &term, Width: 40, Now: func() time.Time { return now },
		Status: func() string { n++; return "status " + strings.Repeat("x", n) }}
	out := p.Wrap(&term)
	step := func(d time.Duration, write string) {
		now = now.Add(d)
		out.Write([]byte(write))
	}
	step(time.Second, "line 1\n")          // drawn
	step(100*time.Millisecond, "line 2\n") // cleared, not redrawn: too soon
	step(300*time.Millisecond, "partial")  // mid-line: not drawn
	step(time.Second, " end\n")            // drawn again
	p.Stop()                               // cleared
	want := "line 1\nstatus x" + "\r\033[K" + "line 2\n" + "partial" + " end\n" + "status xx" + "\r\033[K"
	if got := term.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgressLineWidth(t *testing.T) {
	var term bytes.Buffer
	p := &ProgressLine{W: &term, Width: 10, Status: func() string { return "pony-report: 12 tests" }}
	p.Draw()
	if got, want := term.String(), "pony-rep…"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgressOn(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		mode    string
		want    bool
		wantErr bool
	}{{"auto", false, false}, {"", false, false}, {"always", true, false}, {"never", false, false}, {"sometimes", false, true}} {
		got, err := ProgressOn(tc.mode, w)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%q on a pipe: got %v %v, want %v (error %v)", tc.mode, got, err, tc.want, tc.wantErr)
		}
	}
	// auto on a pipe draws nothing at all.
	var buf bytes.Buffer
	if on, _ := ProgressOn("auto", &buf); on {
		t.Errorf("auto on a buffer: got on, want off")
	}
}
