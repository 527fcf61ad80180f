package ponydemo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b, want int
	}{
		{"zero", 0, 0, 0},
		{"small", 1, 2, 3},
		{"negative", -4, 1, -3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Add(tc.a, tc.b); got != tc.want {
				t.Errorf("Add(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestDiv(t *testing.T) {
	if got, ok := Div(7, 2); !ok || got != 3 {
		t.Errorf("Div(7, 2) = %d, %v, want 3, true", got, ok)
	}
	if _, ok := Div(1, 0); ok {
		t.Error("Div(1, 0) succeeded, want false")
	}
}

// TestMeanNegative fails: Mean has a bug for negative sums. Set
// PONYDEMO_FIXED=1 to skip it, as if the bug had been fixed.
func TestMeanNegative(t *testing.T) {
	if os.Getenv("PONYDEMO_FIXED") != "" {
		t.Skip("PONYDEMO_FIXED is set")
	}
	if got := Mean([]int{-2, -4}); got != -3 {
		t.Errorf("Mean(-2, -4) = %d, want -3", got)
	}
}

func TestWindowsOnly(t *testing.T) {
	t.Skip("needs a Windows host")
}

// TestFlaky fails on its first run and passes when run again, like a test
// that races with something outside it: the first run leaves a marker in
// PONYDEMO_STATE (default: the system's temporary directory) that the next
// run takes away. With `gotestsum --rerun-fails` it is a retry flake.
func TestFlaky(t *testing.T) {
	dir := os.Getenv("PONYDEMO_STATE")
	if dir == "" {
		dir = os.TempDir()
	}
	marker := filepath.Join(dir, "ponydemo-flaky-marker")
	if _, err := os.Stat(marker); err == nil {
		os.Remove(marker)
		return
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Error("the first run of TestFlaky fails; run it again")
}
