package benchgen

import (
	"bufio"
	"fmt"
	"io"
)

func init() { Register("junit", writeJUnit) }

// writeJUnit writes a Surefire-like JUnit report of n testcases in suites of
// 40 (nested under one <testsuites>): about 2% failures with a stack trace
// and captured output, 1% errors, 3% skips, 0.5% flaky tests holding a
// Surefire <flakyFailure>, properties on some testcases, and system-out
// on every suite. The content is deterministic.
func writeJUnit(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	const perSuite = 40
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bench\" tests=\"%d\">\n", n)
	for i := 0; i < n; {
		s := i / perSuite
		suite := fmt.Sprintf("org.example.module%d.service.Component%dTest", s%17, s)
		fmt.Fprintf(bw, "  <testsuite name=\"%s\" tests=\"%d\" time=\"%d.%03d\" timestamp=\"2026-11-22T10:00:00\" hostname=\"ci-linux-3\">\n",
			suite, min(perSuite, n-i), s%9, s%1000)
		fmt.Fprintf(bw, "    <properties>\n      <property name=\"java.version\" value=\"21.0.2\"/>\n      <property name=\"os.name\" value=\"Linux\"/>\n    </properties>\n")
		for j := 0; j < perSuite && i < n; j, i = j+1, i+1 {
			name := fmt.Sprintf("should_handle_case_%d_when_input_is_valid", i)
			fmt.Fprintf(bw, "    <testcase name=\"%s\" classname=\"%s\" time=\"0.%03d\"", name, suite, i%1000)
			switch {
			case i%50 == 7: // failure
				fmt.Fprintf(bw, ">\n      <failure message=\"expected: &lt;%d&gt; but was: &lt;%d&gt;\" type=\"org.opentest4j.AssertionFailedError\"><![CDATA[org.opentest4j.AssertionFailedError: expected: <%d> but was: <%d>\n", i, i+1, i, i+1)
				for k := 0; k < 8; k++ {
					fmt.Fprintf(bw, "\tat %s.%s(Component%dTest.java:%d)\n", suite, name, s, 40+k)
				}
				bw.WriteString("]]></failure>\n      <system-out><![CDATA[setting up fixture\nconnecting to localhost:5432\n]]></system-out>\n    </testcase>\n")
			case i%100 == 13: // error
				fmt.Fprintf(bw, ">\n      <error message=\"Connection refused\" type=\"java.net.ConnectException\">java.net.ConnectException: Connection refused\n\tat %s.%s(Component%dTest.java:77)\n</error>\n    </testcase>\n", suite, name, s)
			case i%100 == 21 || i%100 == 55 || i%100 == 89: // skip
				bw.WriteString(">\n      <skipped message=\"disabled on linux\"/>\n    </testcase>\n")
			case i%200 == 99: // flaky
				fmt.Fprintf(bw, ">\n      <flakyFailure message=\"timeout after 500 ms\" type=\"java.util.concurrent.TimeoutException\">\n        <stackTrace><![CDATA[java.util.concurrent.TimeoutException: timeout after 500 ms\n\tat %s.%s(Component%dTest.java:90)\n]]></stackTrace>\n        <system-out><![CDATA[retrying\n]]></system-out>\n      </flakyFailure>\n    </testcase>\n", suite, name, s)
			case i%10 == 3: // properties and output on a pass
				bw.WriteString(">\n      <properties>\n        <property name=\"owner\" value=\"payments\"/>\n      </properties>\n      <system-out>ok &amp; done</system-out>\n    </testcase>\n")
			case ExtraPassingOutput > 0:
				bw.WriteString(">\n      <system-out><![CDATA[")
				for x := 0; x < ExtraPassingOutput; x++ {
					fmt.Fprintf(bw, "cache lookup %d for item %d: hit\n", x, i)
				}
				bw.WriteString("]]></system-out>\n    </testcase>\n")
			default:
				bw.WriteString("/>\n")
			}
		}
		fmt.Fprintf(bw, "    <system-out><![CDATA[suite %s finished\n]]></system-out>\n  </testsuite>\n", suite)
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}
