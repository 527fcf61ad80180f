package reporters

import (
	"bytes"
	"context"
	"io"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

func init() {
	Register(Format{Name: "junit", Detect: detectJUnit, Parse: parseJUnit})
}

// detectJUnit is sure when the first element, after an optional BOM, XML
// declaration, comments, processing instructions and doctype, is
// <testsuites or <testsuite.
func detectJUnit(head []byte) int {
	b := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return 0
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b, []byte("-->"))
			if i < 0 {
				return 0
			}
			b = b[i+3:]
		case bytes.HasPrefix(b, []byte("<!")):
			i := bytes.IndexByte(b, '>')
			if i < 0 {
				return 0
			}
			b = b[i+1:]
		case bytes.HasPrefix(b, []byte("<testsuite")):
			rest := b[len("<testsuite"):]
			if bytes.HasPrefix(rest, []byte("s")) {
				rest = rest[1:]
			}
			if len(rest) == 0 || bytes.IndexByte([]byte(" \t\r\n>/"), rest[0]) >= 0 {
				return 100
			}
			return 0
		default:
			return 0
		}
	}
}

// parseJUnit reads a JUnit report into one step, through junit.Decoder.
func parseJUnit(ctx context.Context, r io.Reader, opts Options) (*pony.Step, error) {
	dec := junit.NewDecoder(r, junit.Options{
		File:              opts.File,
		OutputCap:         opts.OutputCap,
		StepOutputCap:     opts.StepOutputCap,
		KeepPassingOutput: opts.KeepPassingOutput,
	})
	step := &pony.Step{Format: "junit"}
	var err error
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
				step.Incomplete = true
				break
			}
		}
		var t pony.TestResult
		t, err = dec.Next()
		if err != nil {
			break
		}
		step.Tests = append(step.Tests, t)
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil && !dec.Started() {
		return nil, err
	}
	if err != nil {
		step.Incomplete = true
	}
	step.Output = dec.SuiteOutput()
	step.Errout = dec.SuiteErrout()
	if v := dec.JavaVersion(); v != "" {
		setStepRuntime(step, "java", v)
	}
	return step, err
}
