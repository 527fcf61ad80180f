package junit_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

// TestDecoderMapping pins the mapping rules of the package documentation,
// one rule per row, on small inputs shaped like the real ones.
func TestDecoderMapping(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts junit.Options
		want []pony.TestResult
	}{
		{
			name: "suite is classname, else innermost testsuite",
			in: `<testsuites><testsuite name="outer"><testsuite name="inner">
				<testcase name="a" classname="pkg.A"/><testcase name="b"/></testsuite>
				<testcase name="c"/></testsuite></testsuites>`,
			want: []pony.TestResult{
				{Suite: "pkg.A", Name: "a", Status: pony.StatusPass, Attempt: 1},
				{Suite: "inner", Name: "b", Status: pony.StatusPass, Attempt: 1},
				{Suite: "outer", Name: "c", Status: pony.StatusPass, Attempt: 1},
			},
		},
		{
			name: "error beats failure beats skipped, whatever the order",
			in: `<testsuite name="s"><testcase name="t"><skipped/><failure message="f">F</failure><error message="e">E</error></testcase>
				<testcase name="u"><failure message="f"/><skipped message="s"/></testcase></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "t", Status: pony.StatusError, Attempt: 1, Message: "e", Output: "F\nE\n"},
				{Suite: "s", Name: "u", Status: pony.StatusFail, Attempt: 1, Message: "f"},
			},
		},
		{
			name: "message falls back to the first line of the text",
			in:   `<testsuite name="s"><testcase name="t"><failure>` + "\n  first line\nsecond" + `</failure></testcase></testsuite>`,
			want: []pony.TestResult{{Suite: "s", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "first line", Output: "\n  first line\nsecond\n"}},
		},
		{
			name: "time attribute",
			in: `<testsuite name="s"><testcase name="a" time="1,234.5"/><testcase name="b" time=""/><testcase name="c" time="abc"/>
				<testcase name="d" time="1.5s"/><testcase name="e" time="-3"/><testcase name="f" time="NaN"/></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "a", Status: pony.StatusPass, Attempt: 1, Duration: 1234.5},
				{Suite: "s", Name: "b", Status: pony.StatusPass, Attempt: 1},
				{Suite: "s", Name: "c", Status: pony.StatusPass, Attempt: 1},
				{Suite: "s", Name: "d", Status: pony.StatusPass, Attempt: 1, Duration: 1.5},
				{Suite: "s", Name: "e", Status: pony.StatusPass, Attempt: 1},
				{Suite: "s", Name: "f", Status: pony.StatusPass, Attempt: 1},
			},
		},
		{
			name: "file, line and properties",
			in: `<testsuite name="s"><testcase name="t" file="x_test.py" line="12"><properties>
				<property name="owner" value="web"/><property name="note">text value</property></properties></testcase>
				<testcase name="u" line="-1"/></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "t", Status: pony.StatusPass, Attempt: 1, File: "x_test.py", Line: 12, Properties: map[string]string{"owner": "web", "note": "text value"}},
				{Suite: "s", Name: "u", Status: pony.StatusPass, Attempt: 1},
			},
		},
		{
			name: "expected failures of pytest, unittest-xml-reporting, nose2 and node todo",
			in: `<testsuite name="s">
				<testcase name="py"><skipped type="pytest.xfail" message="bug"/></testcase>
				<testcase name="xmlrunner"><skipped type="XFAIL" message="expected failure"/></testcase>
				<testcase name="nose2"><skipped message="expected test failure">tb</skipped></testcase>
				<testcase name="old-strict-xpass"><skipped message="xfail-marked test passes unexpectedly"/></testcase>
				<testcase name="todo-fails"><skipped type="todo" message="later"/><failure message="no"/></testcase>
				<testcase name="todo-passes"><skipped type="todo" message="later"/></testcase>
				<testcase name="ours"><properties><property name="pony.status" value="xpass"/></properties></testcase>
				</testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "py", Status: pony.StatusXFail, Attempt: 1, Message: "bug"},
				{Suite: "s", Name: "xmlrunner", Status: pony.StatusXFail, Attempt: 1, Message: "expected failure"},
				{Suite: "s", Name: "nose2", Status: pony.StatusXFail, Attempt: 1, Message: "expected test failure", Output: "tb\n"},
				{Suite: "s", Name: "old-strict-xpass", Status: pony.StatusFail, Attempt: 1, Message: "xfail-marked test passes unexpectedly"},
				{Suite: "s", Name: "todo-fails", Status: pony.StatusXFail, Attempt: 1, Message: "no"},
				{Suite: "s", Name: "todo-passes", Status: pony.StatusXPass, Attempt: 1, Message: "later"},
				{Suite: "s", Name: "ours", Status: pony.StatusXPass, Attempt: 1},
			},
		},
		{
			name: "flaky runs come before the verdict, reruns after it",
			in: `<testsuite name="s"><testcase name="t" time="2"><flakyFailure message="f1" time="1"><stackTrace>st1</stackTrace></flakyFailure>
				<flakyError message="e2"><system-out>out2</system-out><system-err>err2</system-err></flakyError></testcase>
				<testcase name="u"><failure message="m1">tb1</failure><rerunFailure message="m2"/><rerunError message="m3"/></testcase></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "f1", Output: "st1\n", Duration: 1},
				{Suite: "s", Name: "t", Status: pony.StatusError, Attempt: 2, Message: "e2", Output: "out2\nerr2\n"},
				{Suite: "s", Name: "t", Status: pony.StatusPass, Attempt: 3, Duration: 2},
				{Suite: "s", Name: "u", Status: pony.StatusFail, Attempt: 1, Message: "m1", Output: "tb1\n"},
				{Suite: "s", Name: "u", Status: pony.StatusFail, Attempt: 2, Message: "m2"},
				{Suite: "s", Name: "u", Status: pony.StatusError, Attempt: 3, Message: "m3"},
			},
		},
		{
			// jest's same-named tests, xUnit's theory rows: taking the pass
			// for a rerun would hide the failure.
			name: "a repeated testcase is another test of that name",
			in:   `<testsuite name="s" failures="1"><testcase name="t" classname="C"><failure message="x"/></testcase><testcase name="t" classname="C"/><testcase name="t #2" classname="C"/><testcase name="t" classname="C"/></testsuite>`,
			want: []pony.TestResult{
				{Suite: "C", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "x"},
				{Suite: "C", Name: "t #2", Status: pony.StatusPass, Attempt: 1},
				{Suite: "C", Name: "t #2 #2", Status: pony.StatusPass, Attempt: 1},
				{Suite: "C", Name: "t #3", Status: pony.StatusPass, Attempt: 1},
			},
		},
		{
			name: "a repeated testcase is a rerun where the Go tools wrote it (gotestsum --rerun-fails, go test -count=N)",
			in:   `<testsuites><testsuite name="p"><properties><property name="go.version" value="go1.22.4 linux/amd64"></property></properties><testcase name="TestA" classname="p"><failure message="Failed"/></testcase><testcase name="TestA" classname="p"/></testsuite></testsuites>`,
			want: []pony.TestResult{
				{Suite: "p", Name: "TestA", Status: pony.StatusFail, Attempt: 1, Message: "Failed"},
				{Suite: "p", Name: "TestA", Status: pony.StatusPass, Attempt: 2},
			},
		},
		{
			name: "a repeated testcase is a rerun where WriteBag says so, in that suite only",
			in:   `<testsuites><testsuite name="p"><properties><property name="pony.repeats" value="attempts"></property></properties><testcase name="a" classname="p"/><testcase name="a" classname="p"><failure/></testcase></testsuite><testsuite name="q"><testcase name="b" classname="q"/><testcase name="b" classname="q"/></testsuite></testsuites>`,
			want: []pony.TestResult{
				{Suite: "p", Name: "a", Status: pony.StatusPass, Attempt: 1},
				{Suite: "p", Name: "a", Status: pony.StatusFail, Attempt: 2},
				{Suite: "q", Name: "b", Status: pony.StatusPass, Attempt: 1},
				{Suite: "q", Name: "b #2", Status: pony.StatusPass, Attempt: 1},
			},
		},
		{
			name: "unnamed testcases stay distinct",
			in:   `<testsuite name="s"><testcase/><testcase><skipped/></testcase></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "(unnamed testcase 1)", Status: pony.StatusPass, Attempt: 1},
				{Suite: "s", Name: "(unnamed testcase 2)", Status: pony.StatusSkip, Attempt: 1},
			},
		},
		{
			name: "passing output dropped by default",
			in:   `<testsuite name="s"><testcase name="p"><system-out>chatter</system-out></testcase><testcase name="f"><failure message="m"/><system-out>why</system-out><system-err>err</system-err></testcase></testsuite>`,
			want: []pony.TestResult{
				{Suite: "s", Name: "p", Status: pony.StatusPass, Attempt: 1},
				{Suite: "s", Name: "f", Status: pony.StatusFail, Attempt: 1, Message: "m", Output: "why\nerr\n"},
			},
		},
		{
			name: "passing output kept on request",
			in:   `<testsuite name="s"><testcase name="p"><system-out>chatter</system-out></testcase></testsuite>`,
			opts: junit.Options{KeepPassingOutput: true},
			want: []pony.TestResult{{Suite: "s", Name: "p", Status: pony.StatusPass, Attempt: 1, Output: "chatter\n"}},
		},
		{
			name: "output capped, tail kept",
			in:   `<testsuite name="s"><testcase name="f"><failure message="m">` + strings.Repeat("x", 500) + `THE END</failure></testcase></testsuite>`,
			opts: junit.Options{OutputCap: 64},
			want: []pony.TestResult{{Suite: "s", Name: "f", Status: pony.StatusFail, Attempt: 1, Message: "m", Output: pony.CapTail(strings.Repeat("x", 500)+"THE END\n", 64)}},
		},
		{
			name: "suite-level errors are kept",
			in: `<testsuites><testsuite name="setup" tests="0"><error message="BeforeAll failed">trace</error></testsuite>
				<testsuite name="declared" tests="6" failures="1" errors="0"></testsuite>
				<testsuite name="declared-errors" tests="1" errors="1"/>
				<testsuite name="fine" tests="0" failures="0"></testsuite></testsuites>`,
			want: []pony.TestResult{
				{Suite: "setup", Name: "(testsuite)", Status: pony.StatusError, Attempt: 1, Message: "BeforeAll failed", Output: "trace\n"},
				{Suite: "declared", Name: "(testsuite)", Status: pony.StatusFail, Attempt: 1, Message: "testsuite declares tests=6 failures=1 errors=0 but holds no testcase"},
				{Suite: "declared-errors", Name: "(testsuite)", Status: pony.StatusError, Attempt: 1, Message: "testsuite declares tests=1 failures=0 errors=1 but holds no testcase"},
			},
		},
		{
			name: "BOM, comments, doctype, namespaces, CDATA, ISO-8859-1",
			in: "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!-- generated -->\n<!DOCTYPE testsuites>\n" +
				`<ns:testsuites xmlns:ns="urn:x"><ns:testsuite name="caf` + "\xe9" + `"><ns:testcase name="t"><ns:failure><![CDATA[a < b]]></ns:failure></ns:testcase></ns:testsuite></ns:testsuites>`,
			want: []pony.TestResult{{Suite: "café", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "a < b", Output: "a < b\n"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := junit.NewDecoder(strings.NewReader(tc.in), tc.opts)
			var got []pony.TestResult
			for {
				tr, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				got = append(got, tr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestSuiteOutput checks that suite-level system-out and system-err reach
// the step, headed by the suite's name and capped with the tail kept.
func TestSuiteOutput(t *testing.T) {
	in := `<testsuites><testsuite name="a"><testcase name="t"/><system-out>hello</system-out><system-err>warn</system-err></testsuite>
		<testsuite name="b"><system-out>` + strings.Repeat("y", 300) + `bye</system-out></testsuite></testsuites>`
	tests := []struct {
		name             string
		cap              int
		wantOut, wantErr string
	}{
		{"uncapped", -1, "[a]\nhello\n[b]\n" + strings.Repeat("y", 300) + "bye\n", "[a]\nwarn\n"},
		{"capped", 100, pony.CapTail("[a]\nhello\n[b]\n"+strings.Repeat("y", 300)+"bye\n", 100), "[a]\nwarn\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := junit.NewDecoder(strings.NewReader(in), junit.Options{StepOutputCap: tc.cap})
			for {
				if _, err := d.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if got := d.SuiteOutput(); got != tc.wantOut {
				t.Errorf("got output %q, want %q", got, tc.wantOut)
			}
			if got := d.SuiteErrout(); got != tc.wantErr {
				t.Errorf("got errout %q, want %q", got, tc.wantErr)
			}
		})
	}
}

// TestNotJUnit checks that other formats get a clear error naming the file
// and what was found, and no entries.
func TestNotJUnit(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"NUnit 3", `<?xml version="1.0" encoding="utf-8"?><test-run id="2" testcasecount="1"><test-suite type="Assembly"/></test-run>`, "root element is <test-run>"},
		{"TRX", `<?xml version="1.0" encoding="UTF-8"?><TestRun id="1" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results/></TestRun>`, "root element is <TestRun>"},
		{"xUnit.net v2", `<assemblies timestamp="x"><assembly name="a.dll"><collection/></assembly></assemblies>`, "root element is <assemblies>"},
		{"HTML", "<!DOCTYPE html>\n<html><body><table></table></body></html>", "root element is <html>"},
		{"JSON", `{"Action":"run","Test":"TestX"}`, `text before any XML element: "{\"Action\"`},
		{"TAP", "TAP version 13\n1..1\nok 1 - x\n", `text before any XML element: "TAP version 13"`},
		{"empty", "", "no XML element found"},
		{"only a prolog", `<?xml version="1.0"?>`, "no XML element found"},
		{"garbage", "\x00\x01\x02", "not a JUnit XML report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := junit.NewDecoder(strings.NewReader(tc.in), junit.Options{File: "report.xml"})
			tr, err := d.Next()
			var ie *pony.InputError
			if !errors.As(err, &ie) || !errors.Is(err, junit.ErrNotJUnit) {
				t.Fatalf("got %+v, %v; want a *pony.InputError wrapping ErrNotJUnit", tr, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "report.xml") || !strings.Contains(msg, tc.want) {
				t.Errorf("got error %q, want it to start with the file name and hold %q", msg, tc.want)
			}
			if d.Started() {
				t.Error("got Started() true, want false")
			}
		})
	}
}

// TestNotJUnitRealFiles feeds the decoder every real report of another kind
// in the shared fixtures (TAP, go test -json, EnricoMi's JSON results, dorny's
// rendered Markdown): each must be rejected as not JUnit.
func TestNotJUnitRealFiles(t *testing.T) {
	fixtures := sharedFixtures(t)
	if fixtures == "" {
		t.Skip("no shared fixtures (PONY_NO_SHARED_FIXTURES=1)")
	}
	root := filepath.Dir(fixtures)
	n := 0
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".tap", ".json", ".md", ".txt":
		default:
			return nil
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, _, derr := ourCounts(data, p)
		if !errors.Is(derr, junit.ErrNotJUnit) {
			t.Errorf("%s: got %v, want ErrNotJUnit", rel(t, p), derr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("got %d non-JUnit fixtures, want at least 100", n)
	}
}

// TestMalformed checks errors in the middle of a report: line and offset
// given, good testcases kept.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantLine  int
		wantMsg   string
		wantTests int
	}{
		{"mismatched end tag", "<testsuite name=\"s\">\n<testcase name=\"a\"/>\n<testcase name=\"b\"></failure>\n</testsuite>", 3, "element <testcase> closed by </failure>", 1},
		{"bad entity", "<testsuite name=\"s\">\n<testcase name=\"a\"/>\n<testcase name=\"b &bogus;\"/>\n</testsuite>", 3, "malformed XML", 1},
		{"second root", "<testsuite name=\"s\"><testcase name=\"a\"/></testsuite>\n<html/>", 2, "unexpected element <html> after the root element", 1},
		{"truncated in a testcase", "<testsuite name=\"s\">\n<testcase name=\"a\"/>\n<testcase name=\"b\">\n<failure message=\"m\">trace", 4, "input ends early", 1},
		{"unsupported encoding", `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, 1, "unsupported encoding", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := junit.NewDecoder(strings.NewReader(tc.in), junit.Options{File: "r.xml"})
			n := 0
			var err error
			for {
				if _, err = d.Next(); err != nil {
					break
				}
				n++
			}
			var ie *pony.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want a *pony.InputError", err)
			}
			if ie.Line != tc.wantLine || ie.File != "r.xml" || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q (line %d), want line %d holding %q", err, ie.Line, tc.wantLine, tc.wantMsg)
			}
			if ie.Offset <= 0 && tc.wantTests > 0 {
				t.Errorf("got offset %d, want > 0", ie.Offset)
			}
			if n != tc.wantTests {
				t.Errorf("got %d entries, want %d", n, tc.wantTests)
			}
		})
	}
}

// TestTruncation cuts every real JUnit input at many offsets: the decoder
// must not panic, must return every testcase that ends before the cut
// (compared with the entries of the whole file), and must end with an error
// unless the cut only loses trailing whitespace or comments.
func TestTruncation(t *testing.T) {
	files := append(ownInputs(t), fixtureInputs(t)...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, fullErr := collect(data)
		if fullErr != nil {
			continue // the damaged inputs are covered elsewhere
		}
		ends := testcaseEnds(data)
		step := max(1, len(data)/97)
		for cut := 0; cut < len(data); cut += step {
			got, err := collect(data[:cut])
			if err == nil && len(bytes.TrimSpace(data[cut:])) > 0 && !strings.HasPrefix(string(bytes.TrimSpace(data[cut:])), "<!--") {
				t.Errorf("%s cut at %d: got no error, want one", rel(t, f), cut)
			}
			// Entries for every testcase closed before the cut.
			done := 0
			for _, e := range ends {
				if e <= cut {
					done++
				}
			}
			if c := countTestcases(data[:cut]); c < done {
				t.Errorf("%s cut at %d: got %d complete testcases, want the %d that end before the cut", rel(t, f), cut, c, done)
			}
			if len(got) > len(full) {
				t.Errorf("%s cut at %d: got %d entries, more than the whole file's %d", rel(t, f), cut, len(got), len(full))
			}
			for i := range got {
				if i < len(full) && (got[i].Name != full[i].Name || got[i].Status != full[i].Status || got[i].Attempt != full[i].Attempt) {
					t.Errorf("%s cut at %d: entry %d is %s/%s %s, want %s/%s %s", rel(t, f), cut, i, got[i].Suite, got[i].Name, got[i].Status, full[i].Suite, full[i].Name, full[i].Status)
					break
				}
			}
			if wantMin := entriesBefore(full, data, cut); len(got) < wantMin {
				t.Errorf("%s cut at %d: got %d entries, want at least %d", rel(t, f), cut, len(got), wantMin)
			}
		}
	}
}

// countTestcases decodes data to the end and returns how many testcases
// it completed.
func countTestcases(data []byte) int {
	d := junit.NewDecoder(bytes.NewReader(data), junit.Options{})
	for {
		if _, err := d.Next(); err != nil {
			return d.Counts().Testcases
		}
	}
}

// collect decodes data to the end.
func collect(data []byte) ([]pony.TestResult, error) {
	d := junit.NewDecoder(bytes.NewReader(data), junit.Options{})
	var out []pony.TestResult
	for {
		tr, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, tr)
	}
}

// testcaseEnds returns the offset just past the end of each testcase,
// found in the text (not by the decoder under test): "</testcase>" or a
// self-closing "<testcase …/>", outside comments and CDATA.
func testcaseEnds(data []byte) []int {
	data = blankOut(blankOut(data, "<!--", "-->"), "<![CDATA[", "]]>")
	var ends []int
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], []byte("<testcase"))
		if j < 0 {
			break
		}
		start := i + j
		gt := bytes.IndexByte(data[start:], '>')
		if gt < 0 {
			break
		}
		if data[start+gt-1] == '/' {
			ends = append(ends, start+gt+1)
			i = start + gt + 1
			continue
		}
		k := bytes.Index(data[start:], []byte("</testcase>"))
		if k < 0 {
			break
		}
		ends = append(ends, start+k+len("</testcase>"))
		i = start + k + len("</testcase>")
	}
	return ends
}

// blankOut returns a copy of data with every region from open to close
// replaced by spaces, offsets kept.
func blankOut(data []byte, open, close string) []byte {
	out := bytes.Clone(data)
	for i := 0; ; {
		j := bytes.Index(out[i:], []byte(open))
		if j < 0 {
			return out
		}
		start := i + j
		k := bytes.Index(out[start:], []byte(close))
		end := len(out)
		if k >= 0 {
			end = start + k + len(close)
		}
		for p := start; p < end; p++ {
			out[p] = ' '
		}
		i = end
	}
}

// entriesBefore is how many entries the decoder gives for the input cut
// just after the last testcase that ends before cut: a longer cut must give
// at least as many.
func entriesBefore(full []pony.TestResult, data []byte, cut int) int {
	ends := testcaseEnds(data)
	last := 0
	for _, e := range ends {
		if e <= cut {
			last = e
		}
	}
	if last == 0 {
		return 0
	}
	// Suite-level entries are queued at a suite's end, so only testcase
	// entries are counted: decode the prefix and count what it gives.
	got, _ := collect(data[:last])
	return len(got)
}

// TestJavaVersion reads the JVM's version from a suite's properties, as
// Surefire writes them, and from nowhere else.
func TestJavaVersion(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"surefire", `<testsuite name="a"><properties><property name="os.name" value="Linux"/><property name="java.version" value="17.0.9"/></properties><testcase name="t"/></testsuite>`, "17.0.9"},
		{"first suite wins", `<testsuites><testsuite name="a"><properties><property name="java.version" value="21.0.2"/></properties><testcase name="t"/></testsuite><testsuite name="b"><properties><property name="java.version" value="17.0.9"/></properties></testsuite></testsuites>`, "21.0.2"},
		{"empty value skipped", `<testsuites><testsuite name="a"><properties><property name="java.version" value=""/></properties></testsuite><testsuite name="b"><properties><property name="java.version" value=" 1.8.0_392 "/></properties></testsuite></testsuites>`, "1.8.0_392"},
		{"a testcase's is not the suite's", `<testsuite name="a"><testcase name="t"><properties><property name="java.version" value="11"/></properties></testcase></testsuite>`, ""},
		{"testsuites' own properties are not read", `<testsuites><properties><property name="java.version" value="11"/></properties><testsuite name="a"><testcase name="t"/></testsuite></testsuites>`, ""},
		{"none", `<testsuite name="a"><testcase name="t"/></testsuite>`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := junit.NewDecoder(strings.NewReader(c.in), junit.Options{})
			var n int
			for {
				if _, err := d.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if got := d.JavaVersion(); got != c.want {
				t.Errorf("JavaVersion: got %q, want %q", got, c.want)
			}
			// A testcase property is still the testcase's.
			if c.name == "a testcase's is not the suite's" && n != 1 {
				t.Errorf("got %d entries, want 1", n)
			}
		})
	}
}
