package junit_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pony-build/pony/junit"
)

// TestLexerDifferentialStreamed runs TestLexerDifferential's inputs, their
// cuts and some mutations with the lexer streaming every text token past a
// few bytes (it streams only those over 64 KiB otherwise): the streamed
// path gives what the reference gives on every real input, error lines and
// offsets included.
func TestLexerDifferentialStreamed(t *testing.T) {
	inputs := map[string][]byte{}
	for _, p := range append(ownInputs(t), fixtureInputs(t)...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[rel(t, p)] = data
	}
	for name, data := range fuzzCorpus(t) {
		inputs[name] = data
	}
	inputs["bench"] = benchInput()[:50_000]
	mutations := 10
	if testing.Short() {
		mutations = 2
	}
	for _, long := range []int{1, 300} {
		restore := junit.SetLongText(long)
		rng := rand.New(rand.NewSource(int64(long)))
		failures := 0
		for name, data := range inputs {
			name = fmt.Sprintf("%s (streamed past %d bytes)", name, long)
			if !compareWithReference(t, name, data) {
				failures++
			}
			step := max(1, len(data)/15)
			for cut := 0; cut < len(data) && failures < 10; cut += step {
				if !compareWithReference(t, name+" cut at "+strconv.Itoa(cut), data[:cut]) {
					failures++
				}
			}
			for i := 0; i < mutations && failures < 10; i++ {
				if !compareWithReference(t, name+" mutated", mutate(rng, data)) {
					failures++
				}
			}
			if failures >= 10 {
				restore()
				t.Fatal("too many differences, stopping")
			}
		}
		restore()
	}
}

// longText repeats unit up to n bytes, cut on a unit boundary.
func longText(unit string, n int) string {
	return strings.Repeat(unit, max(1, n/len(unit)))
}

// TestLongTextDifferential checks text nodes longer than the lexer streams
// whole (64 KiB) against the reference decoder, which holds them whole:
// output, messages, suite output, and every error with its line and offset
// (an error met in a long text keeps none of it, as the reference keeps
// none, in the suite's output too), read whole and a byte at a time.
func TestLongTextDifferential(t *testing.T) {
	const n = 150 << 10
	lines := longText("log line: all is well, nothing to see here\n", n)
	crlf := longText("windows line\r\nmac line\rtail ", n)
	utf := longText("é😀 naïve – ünïcödé ", n)
	blanks := longText(" \n\t", n)
	nbsp := longText("\u00a0\u3000\n", n)
	ents := longText("a &amp; b &lt; c &#x1F600; &nbsp; &quot;q&quot;\n", n)
	cdata := longText("x]]y]", n)
	bad := func(s, what string) string { return s[:len(s)/2] + what + s[len(s)/2:] }

	tc := func(name, body string) string {
		return `<testcase classname="c" name="` + name + `">` + body + `</testcase>`
	}
	doc := func(body string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n<testsuite name=\"s\" tests=\"9\" failures=\"1\">\n" + body + "\n</testsuite>\n</testsuites>\n"
	}
	before := tc("first", `<failure message="m">short</failure>`) + `<system-out>suite says hello</system-out>`
	cases := map[string]string{
		"passing system-out":             tc("p", `<system-out>`+lines+`</system-out>`),
		"failure text":                   tc("f", `<failure>`+lines+`</failure>`),
		"failure, message from text":     tc("f", `<failure type="x">`+"\n\n"+lines+`</failure>`),
		"error and system-err":           tc("e", `<error message="boom">`+utf+`</error><system-err>`+crlf+`</system-err>`),
		"skipped":                        tc("s", `<skipped>`+ents+`</skipped>`),
		"CRLF":                           tc("f", `<failure>`+crlf+`</failure>`),
		"UTF-8":                          tc("f", `<failure>`+utf+`</failure>`),
		"entities":                       tc("f", `<failure>`+ents+`</failure>`),
		"CDATA":                          tc("f", `<failure><![CDATA[`+cdata+`]]]]></failure>`),
		"CDATA then text":                tc("f", `<failure><![CDATA[`+cdata+`]]>`+lines+`</failure>`),
		"blank":                          tc("f", `<failure>`+blanks+`</failure>`),
		"blank then text":                tc("f", `<failure>`+blanks+`x`+blanks+`</failure>`),
		"blank, comment, text":           tc("f", `<failure>`+blanks+`<!-- c -->`+blanks+`<!-- c -->done</failure>`),
		"short blank, long blank, text":  tc("f", `<failure>  <!-- c -->`+blanks+`<!-- c -->done</failure>`),
		"unicode blanks, then text":      tc("f", `<failure>`+nbsp+`<![CDATA[`+nbsp+`]]>after</failure>`),
		"blank CDATA":                    tc("f", `<failure><![CDATA[`+blanks+`]]><![CDATA[x]]></failure>`),
		"passing, kept":                  tc("p", `<system-out>`+blanks+`<!---->`+utf+`</system-out>`),
		"suite system-out":               `<system-out>` + lines + `</system-out>`,
		"suite system-err, blank first":  `<system-err>` + blanks + `<!---->` + lines + `</system-err>`,
		"suite failure":                  `<failure>` + lines + `</failure>`,
		"text in a testcase":             tc("t", lines+`<failure>x</failure>`+lines),
		"text between testcases":         lines + tc("t", ``) + blanks,
		"unknown element":                tc("t", `<foo>`+lines+`</foo><failure>y</failure>`),
		"property text":                  tc("t", `<properties><property name="k">`+lines+`</property></properties>`),
		"flaky failure":                  tc("t", `<flakyFailure message="m">`+lines+`<stackTrace>`+utf+`</stackTrace>`+crlf+`<system-out>`+blanks+`</system-out></flakyFailure>`),
		"rerun error, text only":         tc("t", `<failure/><rerunError>`+blanks+`<!---->`+ents+`</rerunError>`),
		"bad entity":                     tc("f", `<failure>`+bad(lines, "&bogus;")+`</failure>`),
		"bad entity in suite output":     `<system-out>` + bad(lines, "&bogus;") + `</system-out>`,
		"invalid UTF-8":                  tc("f", `<failure>`+bad(lines, "\xff")+`</failure>`),
		"invalid UTF-8 in suite output":  `<system-out>` + bad(lines, "\xc3(") + `</system-out>`,
		"illegal character":              tc("f", `<system-out>`+bad(utf, "\x01")+`</system-out>`),
		"illegal character, then entity": tc("f", `<system-out>`+bad(lines, "\x01")+lines+"&bad;"+`</system-out>`),
		"unescaped ]]>":                  tc("f", `<system-out>`+bad(lines, "]]>")+`</system-out>`),
		"< in text":                      tc("f", `<system-out>`+bad(lines, "<")+`</system-out>`),
		"cut in a long text":             tc("f", `<failure>`+lines),
		"cut in a long CDATA":            tc("f", `<failure><![CDATA[`+cdata),
		"cut after ]] in CDATA":          tc("f", `<failure><![CDATA[`+cdata+`]]`),
		"illegal character at the end":   tc("f", `<failure>`+lines+"\x02</failure>"),
		"split rune at the end":          tc("f", `<failure>`+lines+"\xe2\x82</failure>"),
	}
	for name, body := range cases {
		data := []byte(doc(before + body + tc("last", `<failure>bye</failure>`)))
		compareLong(t, name, data)
		compareLong(t, name+", cut in the middle", data[:len(data)/2+7])
	}
}

// compareLong is compareWithReference for long inputs: it reports where
// the results differ rather than printing them, with one more option set,
// no caps.
func compareLong(t *testing.T, name string, data []byte) {
	t.Helper()
	for _, opts := range append(diffOptions, junit.Options{File: "in.xml", OutputCap: -1, StepOutputCap: -1}) {
		want := decodeAll(junit.NewRefDecoder(bytes.NewReader(data), opts))
		got := decodeAll(junit.NewDecoder(bytes.NewReader(data), opts))
		if d := resultDiff(got, want); d != "" {
			t.Errorf("%s (options %+v): %s", name, opts, d)
			continue
		}
		got = decodeAll(junit.NewDecoder(&oneByteReader{data: data}, opts))
		if d := resultDiff(got, want); d != "" {
			t.Errorf("%s (options %+v, read a byte at a time): %s", name, opts, d)
		}
	}
}

// resultDiff names the first difference between two decodes, "" if none.
func resultDiff(got, want decodeResult) string {
	str := func(what, g, w string) string {
		if g == w {
			return ""
		}
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		return fmt.Sprintf("%s: got %d bytes, want %d, first difference at %d: got %q, want %q", what, len(g), len(w), i, g[i:min(len(g), i+40)], w[i:min(len(w), i+40)])
	}
	if len(got.Entries) != len(want.Entries) {
		return fmt.Sprintf("got %d entries, want %d (error %q, want %q)", len(got.Entries), len(want.Entries), got.Err, want.Err)
	}
	for i := range got.Entries {
		g, w := got.Entries[i], want.Entries[i]
		if d := str(fmt.Sprintf("entry %d output", i), g.Output, w.Output); d != "" {
			return d
		}
		if d := str(fmt.Sprintf("entry %d message", i), g.Message, w.Message); d != "" {
			return d
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
	if d := str("suite output", got.SuiteOut, want.SuiteOut); d != "" {
		return d
	}
	if d := str("suite errout", got.SuiteErrout, want.SuiteErrout); d != "" {
		return d
	}
	got.Entries, want.Entries = nil, nil
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("got %+v, want %+v", got, want)
	}
	return ""
}

// FuzzStreamedText compares the decoder, streaming every text token past
// three bytes, with the reference decoder on arbitrary input: the streamed
// path is otherwise only met in inputs over 64 KiB, which the fuzzer does
// not make.
func FuzzStreamedText(f *testing.F) {
	for _, p := range ownInputs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("<testsuite name=\"s\"><testcase name=\"t\"><failure>  \n <!-- c --> \u00a0x&amp;y\r\n<![CDATA[a]]]]></failure><system-out>\xc3\xa9</system-out></testcase><system-out> </system-out></testsuite>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		restore := junit.SetLongText(3)
		defer restore()
		for _, opts := range diffOptions {
			got := decodeAll(junit.NewDecoder(bytes.NewReader(data), opts))
			want := decodeAll(junit.NewRefDecoder(bytes.NewReader(data), opts))
			if d := resultDiff(got, want); d != "" {
				t.Fatalf("options %+v: %s", opts, d)
			}
		}
	})
}
