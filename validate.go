package pony

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits caps the sizes of a bag's fields. The zero value means no caps;
// DefaultLimits is what pony-report and pony-server use unless told otherwise.
type Limits struct {
	Name       int // package, host, arch, runtime, tag, step and test names, suite
	Text       int // message, command, file
	Output     int // a test's output
	StepOutput int // a step's output and errout
	Tests      int // entries in one step
	Steps      int // steps in one bag
	Tags       int // tags in one client_info
}

// DefaultLimits are the caps applied by default.
var DefaultLimits = Limits{
	Name:       1024,
	Text:       64 << 10,
	Output:     64 << 10,
	StepOutput: 1 << 20,
	Tests:      1_000_000,
	Steps:      10_000,
	Tags:       256,
}

// ValidationError lists every problem found in a bag, each naming the field
// it is about, e.g. `results_list[2].tests[15].status: …`.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	const show = 10
	msg := "invalid bag: " + strings.Join(e.Problems[:min(len(e.Problems), show)], "; ")
	if n := len(e.Problems) - show; n > 0 {
		msg += fmt.Sprintf("; and %d more", n)
	}
	return msg
}

// Validate checks the bag against the wire contract and the limits; it
// returns a *ValidationError listing every problem, or nil.
func (b *Bag) Validate(lim Limits) error {
	v := validator{lim: lim}
	ci := &b.ClientInfo
	if strings.TrimSpace(ci.Package) == "" {
		v.add("client_info.package", "is required (the name of the project being tested)")
	}
	v.name("client_info.package", ci.Package)
	v.name("client_info.host", ci.Host)
	v.name("client_info.arch", ci.Arch)
	v.name("client_info.runtime", ci.Runtime)
	v.name("client_info.commit", ci.Commit)
	v.name("client_info.branch", ci.Branch)
	v.text("client_info.build_url", ci.BuildURL)
	if lim.Tags > 0 && len(ci.Tags) > lim.Tags {
		v.add("client_info.tags", fmt.Sprintf("has %d tags, over the limit of %d", len(ci.Tags), lim.Tags))
	}
	for i, t := range ci.Tags {
		f := fmt.Sprintf("client_info.tags[%d]", i)
		if strings.TrimSpace(t) == "" {
			v.add(f, "is empty")
		}
		v.name(f, t)
	}
	v.number("client_info.duration", ci.Duration)
	if lim.Steps > 0 && len(b.Steps) > lim.Steps {
		v.add("results_list", fmt.Sprintf("has %d steps, over the limit of %d", len(b.Steps), lim.Steps))
	}
	for i := range b.Steps {
		v.step(fmt.Sprintf("results_list[%d]", i), &b.Steps[i])
	}
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	lim      Limits
	problems []string
}

func (v *validator) add(field, msg string) {
	v.problems = append(v.problems, field+": "+msg)
}

func (v *validator) size(field, s string, max int) {
	if !utf8.ValidString(s) {
		v.add(field, "is not valid UTF-8")
	}
	if max > 0 && len(s) > max {
		v.add(field, fmt.Sprintf("is %d bytes, over the limit of %d", len(s), max))
	}
}

func (v *validator) name(field, s string) {
	v.size(field, s, v.lim.Name)
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		v.add(field, "holds a control character")
	}
}

func (v *validator) text(field, s string) { v.size(field, s, v.lim.Text) }

func (v *validator) number(field string, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		v.add(field, fmt.Sprintf("must be a finite number of seconds ≥ 0, got %v", f))
	}
}

func (v *validator) step(p string, s *Step) {
	v.name(p+".type", s.Type)
	v.name(p+".name", s.Name)
	v.text(p+".command", s.Command)
	v.size(p+".output", s.Output, v.lim.StepOutput)
	v.size(p+".errout", s.Errout, v.lim.StepOutput)
	v.name(p+".format", s.Format)
	v.number(p+".duration", s.Duration)
	if v.lim.Tests > 0 && len(s.Tests) > v.lim.Tests {
		v.add(p+".tests", fmt.Sprintf("has %d entries, over the limit of %d", len(s.Tests), v.lim.Tests))
	}
	for i := range s.Tests {
		t := &s.Tests[i]
		f := fmt.Sprintf("%s.tests[%d]", p, i)
		if t.Name == "" {
			v.add(f+".name", "is required")
		}
		v.size(f+".name", t.Name, v.lim.Name)
		v.size(f+".suite", t.Suite, v.lim.Name)
		if !t.Status.Valid() {
			v.add(f+".status", fmt.Sprintf("unknown status %q (want one of pass, fail, error, skip, xfail, xpass)", t.Status))
		}
		if t.Attempt < 0 {
			v.add(f+".attempt", fmt.Sprintf("must be ≥ 1, got %d", t.Attempt))
		}
		if t.Line < 0 {
			v.add(f+".line", fmt.Sprintf("must be ≥ 0, got %d", t.Line))
		}
		v.number(f+".duration", t.Duration)
		v.text(f+".message", t.Message)
		v.size(f+".output", t.Output, v.lim.Output)
		v.text(f+".file", t.File)
		for k, val := range t.Properties {
			v.size(f+".properties key", k, v.lim.Name)
			v.text(f+".properties["+k+"]", val)
		}
		if len(v.problems) > 100 {
			v.add(p, "too many problems; stopped checking")
			return
		}
	}
}
