package junit_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

// FuzzJUnit feeds the decoder arbitrary bytes, seeded with the real inputs.
// It must never panic; every entry must be valid; every error must be a
// *pony.InputError; and writing what was read with WriteBag and reading it
// back must give the same totals.
func FuzzJUnit(f *testing.F) {
	for _, p := range ownInputs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<testsuite name="s"><testcase name="t"><flakyFailure message="m"><stackTrace>x</stackTrace></flakyFailure></testcase></testsuite>`))
	f.Add([]byte(`<testsuites><testsuite name="a" failures="1"/></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := junit.NewDecoder(bytes.NewReader(data), junit.Options{File: "fuzz.xml", OutputCap: 256, StepOutputCap: 512})
		step := pony.Step{Name: "fuzz"}
		for {
			tr, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var ie *pony.InputError
				if !errors.As(err, &ie) || ie.File != "fuzz.xml" {
					t.Fatalf("got error %v (%T), want a *pony.InputError naming fuzz.xml", err, err)
				}
				step.Incomplete = true
				break
			}
			if !tr.Status.Valid() || tr.Name == "" || tr.Attempt < 1 || tr.Duration < 0 || tr.Line < 0 {
				t.Fatalf("got invalid entry %+v", tr)
			}
			if len(tr.Output) > 256+64 || len(tr.Message) > 256+64 {
				t.Fatalf("got output of %d bytes and message of %d, over the cap of 256", len(tr.Output), len(tr.Message))
			}
			step.Tests = append(step.Tests, tr)
		}
		if len(d.SuiteOutput()) > 512+64 || len(d.SuiteErrout()) > 512+64 {
			t.Fatalf("got suite output of %d bytes, over the cap of 512", len(d.SuiteOutput()))
		}
		var buf bytes.Buffer
		if err := junit.WriteBag(&buf, &pony.Bag{ClientInfo: pony.ClientInfo{Package: "fuzz"}, Steps: []pony.Step{step}}); err != nil {
			t.Fatal(err)
		}
		back := junit.NewDecoder(&buf, junit.Options{})
		var again pony.Step
		for {
			tr, err := back.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading our own output: %v\n%s", err, buf.String())
			}
			again.Tests = append(again.Tests, tr)
		}
		if got, want := again.Totals(), step.Totals(); got != want {
			t.Fatalf("round trip: got totals %+v, want %+v", got, want)
		}
	})
}
