// Package ponydemo is a small module for pony-report's examples: a few
// functions and tests that pass, one that fails, one that is skipped, and one
// that is flaky.
package ponydemo

// Add returns a + b.
func Add(a, b int) int { return a + b }

// Div returns a / b, and false when b is 0.
func Div(a, b int) (int, bool) {
	if b == 0 {
		return 0, false
	}
	return a / b, true
}

// Mean returns the mean of xs; it is wrong on purpose for negative sums,
// which is what TestMeanNegative finds.
func Mean(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	if len(xs) == 0 {
		return 0
	}
	if s < 0 {
		return -s / len(xs)
	}
	return s / len(xs)
}
