// Package reporters turns test runners' machine-readable output into
// pony.Steps: `go test -json`, JUnit XML and TAP, each a plug-in registered
// by name with its detector.
//
// A format is one file in this package (gotest.go, junit.go, tap.go) that
// registers a Format, plus its parser package and its testdata. The parser
// packages (reporters/gotest, reporters/tap, and the top-level junit package)
// import only pony, so they can be used and tested on their own.
package reporters

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/pony-build/pony"
)

// Options configure a parse.
type Options struct {
	// File names the input in error messages and in the step's name ("-"
	// for standard input).
	File string
	// FromFile says that File is a file the user named (not standard
	// input, a command's output or an upload): a format whose tests name
	// no suite (TAP) takes the file as their suite.
	FromFile bool
	// OutputCap caps each test's output and message; the tail is kept.
	// Zero means pony.DefaultLimits.Output.
	OutputCap int
	// StepOutputCap caps the step's output and errout; the tail is kept.
	// Zero means pony.DefaultLimits.StepOutput.
	StepOutputCap int
	// KeepPassingOutput keeps the output of passing tests too. By default
	// only tests that did not pass keep their output, so that memory does
	// not grow with a passing suite's chatter.
	KeepPassingOutput bool
}

// WithDefaults returns o with zero caps replaced by the defaults.
func (o Options) WithDefaults() Options {
	if o.OutputCap == 0 {
		o.OutputCap = pony.DefaultLimits.Output
	}
	if o.StepOutputCap == 0 {
		o.StepOutputCap = pony.DefaultLimits.StepOutput
	}
	return o
}

// ParseFunc parses one report into one step. When the input ends early or
// holds a bad part, it returns the step with every good test it read,
// Incomplete set, and a *pony.InputError saying where; it returns a nil step
// only when nothing of the input is usable (not this format at all).
type ParseFunc func(ctx context.Context, r io.Reader, opts Options) (*pony.Step, error)

// Format is one report format.
type Format struct {
	// Name is the format's name on the command line and in Step.Format.
	Name string
	// Detect says how sure it is, from 0 (not this format) to 100
	// (certain), that an input starting with head is in this format. head
	// holds up to DetectSize bytes.
	Detect func(head []byte) int
	// Parse reads a whole report.
	Parse ParseFunc
}

// DetectSize is how many leading bytes detection looks at.
const DetectSize = 64 << 10

var (
	mu      sync.RWMutex
	formats = map[string]Format{}
)

// Register adds a format. It panics on a duplicate or incomplete Format:
// registration happens in init functions, and a mistake there is a bug.
func Register(f Format) {
	mu.Lock()
	defer mu.Unlock()
	if f.Name == "" || f.Detect == nil || f.Parse == nil {
		panic("reporters: Register of an incomplete Format")
	}
	if _, dup := formats[f.Name]; dup {
		panic("reporters: Register called twice for " + f.Name)
	}
	formats[f.Name] = f
}

// Lookup returns the format registered under name.
func Lookup(name string) (Format, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := formats[name]
	return f, ok
}

// Names lists the registered formats, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownFormat is returned (wrapped) when no format recognises an input.
var ErrUnknownFormat = errors.New("unrecognised report format")

// Detect picks the format most sure of head. Ties go to the name first in
// alphabetical order, so the choice is stable.
func Detect(head []byte) (Format, error) {
	best, bestScore := Format{}, 0
	for _, n := range Names() {
		f, _ := Lookup(n)
		if s := f.Detect(head); s > bestScore {
			best, bestScore = f, s
		}
	}
	if bestScore == 0 {
		return Format{}, fmt.Errorf("%w: %s (want %s; name the format with `pony-report gotest|junit|tap`)",
			ErrUnknownFormat, describe(head), strings.Join(Names(), ", "))
	}
	return best, nil
}

// describe says briefly what an unrecognised input starts with: for XML,
// its root element (a TRX, NUnit or other report is not JUnit).
func describe(head []byte) string {
	s := strings.TrimSpace(string(head))
	if s == "" {
		return "the input is empty"
	}
	if root := xmlRoot(s); root != "" {
		return fmt.Sprintf("an XML document whose root element is <%s>, not JUnit's <testsuites> or <testsuite>", root)
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("it starts with %q", s)
}

// Parse reads one report in the named format, or detects the format from
// the content when name is "" or "auto". It sets the step's Format, Type and
// Name when the parser left them empty, and its Status to 1 when a test
// failed (a parsed file has no exit code of its own). Text that is not
// valid UTF-8 has its bad bytes replaced with U+FFFD.
func Parse(ctx context.Context, name string, r io.Reader, opts Options) (*pony.Step, error) {
	opts = opts.WithDefaults()
	var f Format
	if name == "" || name == "auto" {
		br := bufio.NewReaderSize(r, DetectSize)
		head, err := br.Peek(DetectSize)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, &pony.InputError{File: opts.File, Err: err}
		}
		f, err = Detect(head)
		if err != nil {
			return nil, &pony.InputError{File: opts.File, Err: err}
		}
		r = br
	} else {
		var ok bool
		if f, ok = Lookup(name); !ok {
			return nil, fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names(), ", "))
		}
	}
	step, err := f.Parse(ctx, r, opts)
	if step != nil {
		// Runners print what tests print, which is not always UTF-8; one
		// bad byte must not make the whole bag invalid.
		step.ToValidUTF8()
		if step.Format == "" {
			step.Format = f.Name
		}
		if step.Type == "" {
			step.Type = "test"
		}
		if step.Name == "" {
			step.Name = opts.File
		}
		if !step.Succeeded() && step.Status == 0 {
			step.Status = 1
		}
	}
	return step, err
}

// xmlRoot returns the name of the first element of an XML document, past
// its declaration, comments, processing instructions and doctype; "" when
// s does not look like XML or the element is beyond the head.
func xmlRoot(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	if !strings.HasPrefix(s, "<") {
		return ""
	}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "<?"):
			i := strings.Index(s, "?>")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		case strings.HasPrefix(s, "<!--"):
			i := strings.Index(s, "-->")
			if i < 0 {
				return ""
			}
			s = s[i+3:]
		case strings.HasPrefix(s, "<!"):
			i := strings.IndexByte(s, '>')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "<"):
			end := strings.IndexAny(s[1:], " \t\r\n/>")
			if end <= 0 {
				return ""
			}
			return s[1 : 1+end]
		default:
			return ""
		}
	}
	return ""
}
