package benchgen

import (
	"bufio"
	"fmt"
	"io"
)

func init() { Register("tap", tapReport) }

// tapReport writes a TAP 13 stream of n tests in node --test's shape: a
// YAML block with duration_ms after every test point, one test in 50
// failing with a full diagnostic (error, expected/actual, stack), one in 40
// skipped, one in 60 a TODO (failing or passing), and some comment and
// non-TAP output lines. One in 25 top-level points is a suite (node's
// describe) of three tests; the suite's own point is not one of the n
// tests, as node does not count it.
func tapReport(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintln(bw, "TAP version 13")
	num := 0
	for i := 1; num < n; i++ {
		num++
		switch {
		case i%25 == 0 && n-num >= 2:
			num-- // counted again below, three times
			fmt.Fprintf(bw, "# Subtest: suite %d\n", i)
			for j := 1; j <= 3; j++ {
				num++
				fmt.Fprintf(bw, "    # Subtest: case %d.%d\n    ok %d - case %d.%d\n      ---\n      duration_ms: 0.%03d\n      ...\n", i, j, j, i, j, j*37%1000)
			}
			fmt.Fprintf(bw, "    1..3\nok %d - suite %d\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n", i, i)
			continue
		}
		fmt.Fprintf(bw, "# Subtest: test %d\n", i)
		switch {
		case i%50 == 7:
			fmt.Fprintf(bw, "not ok %d - test %d\n  ---\n  duration_ms: 2.%03d\n  location: 'test/file%d.test.js:%d:3'\n  failureType: 'testCodeFailure'\n  error: |-\n    Expected values to be strictly equal:\n\n    %d !== %d\n\n  code: 'ERR_ASSERTION'\n  name: 'AssertionError'\n  expected: %d\n  actual: %d\n  operator: 'strictEqual'\n  stack: |-\n    TestContext.<anonymous> (test/file%d.test.js:%d:10)\n    Test.runInAsyncScope (node:async_hooks:206:9)\n    Test.run (node:internal/test_runner/test:796:25)\n  ...\n", i, i, i%1000, i%17, i%400+1, i, i+1, i+1, i, i%17, i%400+2)
		case i%40 == 3:
			fmt.Fprintf(bw, "ok %d - test %d # SKIP not on this platform\n  ---\n  duration_ms: 0.01\n  ...\n", i, i)
		case i%60 == 11:
			fmt.Fprintf(bw, "not ok %d - test %d # TODO not written yet\n  ---\n  duration_ms: 0.2\n  ...\n", i, i)
		case i%60 == 41:
			fmt.Fprintf(bw, "ok %d - test %d # TODO passes already\n  ---\n  duration_ms: 0.2\n  ...\n", i, i)
		default:
			fmt.Fprintf(bw, "ok %d - test %d\n  ---\n  duration_ms: 0.%04d\n  ...\n", i, i, i%10000)
			for x := 0; x < ExtraPassingOutput; x++ {
				fmt.Fprintf(bw, "# cache lookup %d for item %d: hit\n", x, i)
			}
		}
		if i%100 == 0 {
			fmt.Fprintf(bw, "# progress: %d tests\nsome output from the code under test, line %d\n", num, i)
		}
	}
	fmt.Fprintf(bw, "1..%d\n# tests %d\n", topLevel(n), n)
	return bw.Flush()
}

// topLevel is how many top-level test points tapReport writes for n tests.
func topLevel(n int) int {
	num, top := 0, 0
	for i := 1; num < n; i++ {
		num++
		top++
		if i%25 == 0 && n-num >= 2 {
			num += 2
		}
	}
	return top
}
