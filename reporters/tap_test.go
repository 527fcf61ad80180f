package reporters_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony/reporters"
)

// TestTAPFileIsSuite checks that a TAP file's tests take the file as their
// suite (two files with the same test names give distinct tests), and that
// a stream's (standard input, a command's output, an upload) take none.
func TestTAPFileIsSuite(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	const fails, passes = "1..1\nnot ok 1 - works\n", "1..1\nok 1 - works\n"
	tests := []struct {
		name string
		in   string
		opts reporters.Options
		want string // suite|name|status
	}{
		{"a file", fails, reporters.Options{File: "t/alpha.t.tap", FromFile: true}, "t/alpha.t.tap|works|fail"},
		{"another file, same names", passes, reporters.Options{File: "t/beta.t.tap", FromFile: true}, "t/beta.t.tap|works|pass"},
		{"cleaned", passes, reporters.Options{File: "./t//x/../beta.t.tap", FromFile: true}, "t/beta.t.tap|works|pass"},
		{"absolute under the working directory", passes, reporters.Options{File: filepath.Join(wd, "t", "a.tap"), FromFile: true}, "t/a.tap|works|pass"},
		{"absolute outside the working directory: its name", passes, reporters.Options{File: filepath.Join(filepath.Dir(filepath.Dir(wd)), "elsewhere", "run-7.tap"), FromFile: true}, "run-7.tap|works|pass"},
		{"up and out: its name", passes, reporters.Options{File: "../../x/t/a.tap", FromFile: true}, "a.tap|works|pass"},
		{"standard input", passes, reporters.Options{File: "-", FromFile: true}, "|works|pass"},
		{"a command's output", passes, reporters.Options{File: "npm test"}, "|works|pass"},
		{"an upload", passes, reporters.Options{File: "upload"}, "|works|pass"},
		{"prove -v sections keep theirs", "t/a.t .. \n1..1\nok 1 - works\nok\n", reporters.Options{File: "prove.txt", FromFile: true}, "t/a.t|works|pass"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := reporters.Parse(context.Background(), "tap", strings.NewReader(tc.in), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range step.Tests {
				got = append(got, r.Suite+"|"+r.Name+"|"+string(r.Status))
			}
			if want := []string{tc.want}; !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
