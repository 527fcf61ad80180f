package junit

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

// WriteBag writes b as one JUnit XML document: a <testsuites> root named
// after the bag's package, one <testsuite> per step and suite (in order of
// first appearance), one <testcase> per test holding all its attempts. See
// the package documentation for how statuses and attempts are written;
// Decoder reads the result back to the same totals.
func WriteBag(w io.Writer, b *pony.Bag) error {
	bw := bufio.NewWriter(w)
	x := &xmlWriter{w: bw}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	t := b.Totals()
	x.raw(`<testsuites`)
	x.attr("name", b.ClientInfo.Package)
	x.attr("tests", strconv.Itoa(t.Tests))
	x.attr("failures", strconv.Itoa(t.Fail))
	x.attr("errors", strconv.Itoa(t.Error))
	x.attr("skipped", strconv.Itoa(t.Skip+t.XFail))
	x.raw(">\n")
	for i := range b.Steps {
		writeStep(x, &b.Steps[i])
	}
	x.raw("</testsuites>\n")
	if x.err != nil {
		return fmt.Errorf("write junit: %w", x.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// group is one test's attempts, in attempt order.
type group struct {
	key      pony.TestKey
	attempts []*pony.TestResult
}

func writeStep(x *xmlWriter, s *pony.Step) {
	// Group entries by suite, then by test, in order of first appearance.
	var suites []string
	bySuite := map[string][]*group{}
	byKey := map[pony.TestKey]*group{}
	for i := range s.Tests {
		t := &s.Tests[i]
		k := t.Key()
		g, ok := byKey[k]
		if !ok {
			g = &group{key: k}
			byKey[k] = g
			if _, ok := bySuite[k.Suite]; !ok {
				suites = append(suites, k.Suite)
			}
			bySuite[k.Suite] = append(bySuite[k.Suite], g)
		}
		g.attempts = append(g.attempts, t)
	}
	if len(suites) == 0 {
		suites = append(suites, "")
	}
	for si, suite := range suites {
		groups := bySuite[suite]
		var tests, failures, errs, skipped int
		var secs float64
		for _, g := range groups {
			sort.SliceStable(g.attempts, func(i, j int) bool {
				return g.attempts[i].AttemptNumber() < g.attempts[j].AttemptNumber()
			})
			tests++
			switch g.attempts[len(g.attempts)-1].Status {
			case pony.StatusFail:
				failures++
			case pony.StatusError:
				errs++
			case pony.StatusSkip, pony.StatusXFail:
				skipped++
			}
			for _, a := range g.attempts {
				secs += a.Duration
			}
		}
		name := suite
		if name == "" {
			name = s.Name
		}
		x.raw("  <testsuite")
		x.attr("name", name)
		x.attr("tests", strconv.Itoa(tests))
		x.attr("failures", strconv.Itoa(failures))
		x.attr("errors", strconv.Itoa(errs))
		x.attr("skipped", strconv.Itoa(skipped))
		x.attr("time", seconds3(secs))
		x.raw(">\n")
		for _, g := range groups {
			if len(g.attempts) > 1 {
				// A test may take several testcases (see writeTestcases):
				// say they are its attempts, not tests of the same name.
				x.raw("    <properties>\n      <property name=\"pony.repeats\" value=\"attempts\"></property>\n    </properties>\n")
				break
			}
		}
		for _, g := range groups {
			writeTestcases(x, g)
		}
		if si == len(suites)-1 {
			if s.Output != "" {
				x.raw("    <system-out>")
				x.text(s.Output)
				x.raw("</system-out>\n")
			}
			if s.Errout != "" {
				x.raw("    <system-err>")
				x.text(s.Errout)
				x.raw("</system-err>\n")
			}
		}
		x.raw("  </testsuite>\n")
	}
}

// writeTestcases writes one test's attempts as as few <testcase> elements
// as keep them all, in order: failed attempts followed by a verdict that is
// not a failure are one testcase (Surefire's flaky elements, then the
// verdict); failed attempts at the end are one testcase (the first as
// <failure>/<error>, the others as Surefire's rerun elements). So a pass
// repeated by `go test -count=3` is three testcases of the same name, which
// the Decoder reads back as attempts 1, 2, 3.
func writeTestcases(x *xmlWriter, g *group) {
	var failed []*pony.TestResult
	for _, a := range g.attempts {
		if a.Status.Failed() {
			failed = append(failed, a)
			continue
		}
		writeTestcase(x, g.key, a, func() {
			for _, f := range failed {
				writeRerun(x, "flaky", f)
			}
			writeVerdict(x, a)
		})
		failed = failed[:0]
	}
	if len(failed) > 0 {
		last := failed[len(failed)-1]
		writeTestcase(x, g.key, last, func() {
			writeVerdict(x, failed[0])
			for _, f := range failed[1:] {
				writeRerun(x, "rerun", f)
			}
		})
	}
}

// writeTestcase writes a <testcase> whose attributes and properties come
// from final, and whose children body writes.
func writeTestcase(x *xmlWriter, key pony.TestKey, final *pony.TestResult, body func()) {
	x.raw("    <testcase")
	x.attr("name", key.Name)
	if key.Suite != "" {
		x.attr("classname", key.Suite)
	}
	x.attr("time", seconds3(final.Duration))
	if final.File != "" {
		x.attr("file", final.File)
	}
	if final.Line > 0 {
		x.attr("line", strconv.Itoa(final.Line))
	}
	x.raw(">\n")

	props := final.Properties
	if final.Status == pony.StatusXPass {
		props = make(map[string]string, len(final.Properties)+1)
		for k, v := range final.Properties {
			props[k] = v
		}
		props["pony.status"] = "xpass"
	}
	if len(props) > 0 {
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		x.raw("      <properties>\n")
		for _, k := range keys {
			x.raw("        <property")
			x.attr("name", k)
			x.attr("value", props[k])
			x.raw("/>\n")
		}
		x.raw("      </properties>\n")
	}
	body()
	x.raw("    </testcase>\n")
}

func writeVerdict(x *xmlWriter, t *pony.TestResult) {
	switch t.Status {
	case pony.StatusFail, pony.StatusError:
		el := "failure"
		if t.Status == pony.StatusError {
			el = "error"
		}
		x.raw("      <" + el)
		x.attr("message", t.Message)
		x.raw(">")
		x.text(t.Output)
		x.raw("</" + el + ">\n")
		return
	case pony.StatusSkip:
		x.raw("      <skipped")
		x.attr("message", t.Message)
		x.raw("/>\n")
	case pony.StatusXFail:
		x.raw("      <skipped")
		x.attr("type", "pytest.xfail")
		x.attr("message", t.Message)
		x.raw("/>\n")
	}
	if t.Output != "" {
		x.raw("      <system-out>")
		x.text(t.Output)
		x.raw("</system-out>\n")
	}
}

func writeRerun(x *xmlWriter, kind string, t *pony.TestResult) {
	el := kind + "Failure"
	if t.Status == pony.StatusError {
		el = kind + "Error"
	}
	x.raw("      <" + el)
	x.attr("message", t.Message)
	if t.Duration > 0 {
		x.attr("time", seconds3(t.Duration))
	}
	x.raw(">")
	if t.Output != "" {
		x.raw("<system-out>")
		x.text(t.Output)
		x.raw("</system-out>")
	}
	x.raw("</" + el + ">\n")
}

func seconds3(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// xmlWriter writes escaped XML, remembering the first error.
type xmlWriter struct {
	w   *bufio.Writer
	err error
}

func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xmlWriter) attr(name, value string) {
	x.raw(" " + name + `="`)
	x.escape(value, true)
	x.raw(`"`)
}

func (x *xmlWriter) text(s string) { x.escape(s, false) }

// escape writes s escaped for XML text or an attribute value. Characters
// XML 1.0 cannot hold (most control characters, such as a terminal's ESC,
// and invalid UTF-8) become U+FFFD.
func (x *xmlWriter) escape(s string, attr bool) {
	if x.err != nil {
		return
	}
	last := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '"' && attr:
			esc = "&quot;"
		case r == '\n' && attr:
			esc = "&#10;"
		case r == '\r':
			esc = "&#13;"
		case r == '\t' && attr:
			esc = "&#9;"
		case r == '\n' || r == '\t':
		case r == utf8.RuneError && size == 1, !xmlChar(r):
			esc = "\uFFFD"
		}
		if esc != "" {
			x.w.WriteString(s[last:i])
			x.w.WriteString(esc)
			last = i + size
		}
		i += size
	}
	_, x.err = x.w.WriteString(s[last:])
}

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
