package junit_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

// decodeResult is everything a decode gives a caller.
type decodeResult struct {
	Entries               []pony.TestResult
	Err                   string
	Line                  int
	Offset                int64
	NotJUnit, Truncated   bool
	Started               bool
	Counts                junit.Counts
	SuiteOut, SuiteErrout string
}

type resultDecoder interface {
	Next() (pony.TestResult, error)
	Counts() junit.Counts
	SuiteOutput() string
	SuiteErrout() string
	Started() bool
}

func decodeAll(d resultDecoder) decodeResult {
	var r decodeResult
	for {
		tr, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Err = err.Error()
			var ie *pony.InputError
			if errors.As(err, &ie) {
				r.Line, r.Offset = ie.Line, ie.Offset
			}
			r.NotJUnit = errors.Is(err, junit.ErrNotJUnit)
			r.Truncated = errors.Is(err, junit.ErrTruncated)
			break
		}
		r.Entries = append(r.Entries, tr)
	}
	r.Started, r.Counts = d.Started(), d.Counts()
	r.SuiteOut, r.SuiteErrout = d.SuiteOutput(), d.SuiteErrout()
	return r
}

// diffOptions are the option sets the differential test decodes with.
var diffOptions = []junit.Options{
	{File: "in.xml"},
	{File: "in.xml", OutputCap: 100, StepOutputCap: 150, KeepPassingOutput: true},
}

// compareWithReference decodes data with the production decoder and with
// the reference decoder on encoding/xml's RawToken and reports any
// difference.
func compareWithReference(t *testing.T, name string, data []byte) bool {
	t.Helper()
	for _, opts := range diffOptions {
		got := decodeAll(junit.NewDecoder(bytes.NewReader(data), opts))
		want := decodeAll(junit.NewRefDecoder(bytes.NewReader(data), opts))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s (options %+v): got\n%+v\nwant (encoding/xml reference)\n%+v\ninput %q", name, opts, got, want, headOf(data))
			return false
		}
		// One byte at a time, to cross every read boundary.
		got = decodeAll(junit.NewDecoder(&oneByteReader{data: data}, opts))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s (options %+v, read a byte at a time): got\n%+v\nwant (encoding/xml reference)\n%+v", name, opts, got, want)
			return false
		}
	}
	return true
}

func headOf(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

type oneByteReader struct{ data []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

// fuzzCorpus reads FuzzJUnit's committed corpus and, when present, the
// corpus the fuzzer keeps in the build cache.
func fuzzCorpus(t *testing.T) map[string][]byte {
	dirs := []string{filepath.Join("testdata", "fuzz", "FuzzJUnit")}
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		dirs = append(dirs, filepath.Join(string(bytes.TrimSpace(out)), "fuzz", "github.com", "pony-build", "pony", "junit", "FuzzJUnit"))
	}
	out := make(map[string][]byte)
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			data, ok := parseCorpusFile(raw)
			if !ok {
				t.Fatalf("%s: not a fuzz corpus file", f)
			}
			out[f] = data
		}
	}
	return out
}

// parseCorpusFile reads a "go test fuzz v1" file holding one []byte.
func parseCorpusFile(raw []byte) ([]byte, bool) {
	s := strings.TrimSpace(string(raw))
	s, ok := strings.CutPrefix(s, "go test fuzz v1\n")
	if !ok {
		return nil, false
	}
	s, ok = strings.CutPrefix(strings.TrimSpace(s), "[]byte(")
	if !ok {
		return nil, false
	}
	s, ok = strings.CutSuffix(s, ")")
	if !ok {
		return nil, false
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		return nil, false
	}
	return []byte(v), true
}

// interesting are the bytes the mutations insert: markup, entity and
// encoding edges.
var interesting = []string{"<", ">", "&", "\"", "'", "]", "]]>", "\r", "\r\n", "\n", "\x00", "\xff", "\xc3", "\xe9", ";", "&#", "&#x", "&amp;", "&nbsp;", "&bogus;", "&#0;", "&#xD800;", ":", "/", "/>", "</x>", "<!--", "-->", "<![CDATA[", "<?", "?>", "<!DOCTYPE", "=", " ", "a:b:c", "\xc3\xa9", "\ufeff"}

// mutate returns a copy of data changed at a few random places.
func mutate(rng *rand.Rand, data []byte) []byte {
	out := bytes.Clone(data)
	for n := 1 + rng.Intn(3); n > 0; n-- {
		p := 0
		if len(out) > 0 {
			p = rng.Intn(len(out) + 1)
		}
		switch rng.Intn(4) {
		case 0: // insert
			ins := interesting[rng.Intn(len(interesting))]
			out = append(out[:p:p], append([]byte(ins), out[p:]...)...)
		case 1: // delete a few bytes
			q := min(len(out), p+1+rng.Intn(8))
			out = append(out[:p:p], out[q:]...)
		case 2: // replace a byte
			if p < len(out) {
				out[p] = interesting[rng.Intn(len(interesting))][0]
			}
		case 3: // cut
			out = out[:p]
		}
	}
	return out
}

// TestLexerDifferential checks our XML lexer against encoding/xml: on every
// JUnit input the tests know (our real inputs, the shared fixtures, the
// fuzz corpus, the non-JUnit fixtures), on cuts of each and on random
// mutations of each, the production decoder gives what the reference
// decoder on encoding/xml's RawToken gives: the same entries, suite output,
// counts, error text, line and offset.
func TestLexerDifferential(t *testing.T) {
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
	inputs["bench"] = benchInput()[:200_000]
	t.Logf("%d inputs", len(inputs))
	rng := rand.New(rand.NewSource(1))
	failures := 0
	for name, data := range inputs {
		if !compareWithReference(t, name, data) {
			failures++
		}
		step := max(1, len(data)/40)
		for cut := 0; cut < len(data) && failures < 10; cut += step {
			if !compareWithReference(t, name+" cut at "+strconv.Itoa(cut), data[:cut]) {
				failures++
			}
		}
		for i := 0; i < 40 && failures < 10; i++ {
			if !compareWithReference(t, name+" mutated", mutate(rng, data)) {
				failures++
			}
		}
		if failures >= 10 {
			t.Fatal("too many differences, stopping")
		}
	}
}
