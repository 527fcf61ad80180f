package tap_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pony-build/pony/reporters/tap"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		head string
		want int // 0: not TAP; otherwise the least score wanted
	}{
		{"version line", "TAP version 13\n", 100},
		{"leading plan", "1..3\nok 1\n", 80},
		{"test points only", "ok 1 - a\nnot ok 2 - b\n", 80},
		{"prove -v", "# stderr noise\nt/a.t .. \n1..2\nok 1\nok 2\nDubious, test returned 1\nFailed 1/2 subtests\n", 50},
		{"plain prove", "t/a.t .. ok\nt/b.t .. ok\nAll tests successful.\nFiles=2, Tests=4\nResult: PASS\n", 0},
		{"go test output", "ok  \tgithub.com/x/y\t0.01s\nok  \tgithub.com/x/z\t0.02s\n", 0},
		{"go test -json", "{\"Action\":\"output\",\"Output\":\"ok 1 - a\\n\"}\n", 0},
		{"junit", "<?xml version=\"1.0\"?>\n<testsuites>\n</testsuites>\n", 0},
		{"empty", "", 0},
		// A setup command saying it is done is not TAP; with a plan, a
		// version line or a second point, a lone point is.
		{"a lone ok", "ok\n", 0},
		{"a lone ok 1", "Installing…\nok 1 - deps\n", 0},
		{"a lone point with a plan", "1..1\nok 1 - a\n", 80},
		{"a lone point under a version", "TAP version 14\nok 1\n", 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tap.Detect([]byte(tc.head))
			if tc.want == 0 && got != 0 || tc.want > 0 && got < tc.want {
				t.Errorf("got %d, want %s", got, map[bool]string{true: "0", false: "at least " + itoa(tc.want)}[tc.want == 0])
			}
		})
	}
}

// TestDetectOtherFormats checks that no JUnit or go test -json fixture from
// the shared corpus reads as TAP.
func TestDetectOtherFormats(t *testing.T) {
	if _, ok := fixtureDir(t); !ok {
		return
	}
	root := filepath.Join(repoRoot(t), "..", "shared", "fixtures")
	n := 0
	for _, sub := range []string{"junit", "gotest"} {
		filepath.WalkDir(filepath.Join(root, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n++
			if got := tap.Detect(data[:min(len(data), 64<<10)]); got != 0 {
				t.Errorf("%s: got %d, want 0", path, got)
			}
			return nil
		})
	}
	if n < 10 {
		t.Errorf("got %d JUnit and go test fixtures, want at least 10", n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
