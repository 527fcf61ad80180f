package pony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Properties Fit sets on a test whose name or suite it cut: the length of
// the whole, in bytes, and the whole itself when it fits a property value.
const (
	PropNameBytes  = "pony.name_bytes"
	PropFullName   = "pony.full_name"
	PropSuiteBytes = "pony.suite_bytes"
	PropFullSuite  = "pony.full_suite"
)

// Cut is one field Fit shortened to fit its limit.
type Cut struct {
	// Field names it as Validate does, e.g. `results_list[0].tests[3].name`.
	Field string
	// What says what it is, for people: "test name", "suite", "tag"…
	What string
	// Size is its size before the cut, in bytes (entries for a list),
	// and Limit the limit it was cut to.
	Size, Limit int
	// Kept says what of it the cut kept.
	Kept Kept
}

// Kept is what a cut keeps of a field.
type Kept int

const (
	// KeptStart is the start and a hash of the whole (FitName).
	KeptStart Kept = iota
	// KeptTail is the tail, after a marker (CapTail).
	KeptTail
	// KeptFirst is the first entries of a list.
	KeptFirst
)

// FitName returns s when it is at most max bytes long; else the start of s,
// cut on a rune boundary, then "…#" and 16 hex digits of the SHA-256 of the
// whole of s, max bytes in all. The same s always gives the same name, and
// two names that differ anywhere, even past the cut, stay different (but
// for a 64-bit hash collision). max ≤ 0 means no limit.
func FitName(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "…#" + hex.EncodeToString(sum[:8])
	if max <= len(suffix) {
		return hex.EncodeToString(sum[:])[:min(max, 2*len(sum))]
	}
	n := max - len(suffix)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + suffix
}

// Fit cuts what is over its limit in the bag and can be cut without losing
// a result, and returns what it cut (nil when nothing), so that a run over
// a limit is reported rather than refused:
//   - names and other identifying fields (the client_info's, the tags, a
//     step's type, name and format, a test's suite and name, property
//     keys), the command, a test's file, the build URL and property values
//     keep their start and a hash of the whole (FitName): the same long
//     name is always cut the same way, and different ones stay apart, so a
//     test keeps its identity from run to run;
//   - a test whose name or suite was cut gets its length in property
//     PropNameBytes or PropSuiteBytes, and the whole in PropFullName or
//     PropFullSuite when it fits a property value;
//   - a step whose type, name or command was cut says so in a line at the
//     end of its output;
//   - outputs and messages keep their tail (CapTail), as the server does;
//   - tags over the count keep the first ones.
//
// Too many steps, too many tests in a step, and what is wrong rather than
// too long (a missing name, a control character in a name, an unknown
// status) are left for Validate to refuse: no cut fixes them. Fit is meant
// to run after ToValidUTF8. It writes into no slice of tests nor map of
// properties it did not make, so a copy of a step handed elsewhere before
// (a live report in flight) is left as it was.
func (b *Bag) Fit(lim Limits) []Cut {
	f := fitter{lim: lim}
	ci := &b.ClientInfo
	f.name(&ci.Package, "client_info.package", "package", lim.Name)
	f.name(&ci.Host, "client_info.host", "host", lim.Name)
	f.name(&ci.Arch, "client_info.arch", "arch", lim.Name)
	f.name(&ci.Runtime, "client_info.runtime", "runtime", lim.Name)
	f.name(&ci.Commit, "client_info.commit", "commit", lim.Name)
	f.name(&ci.Branch, "client_info.branch", "branch", lim.Name)
	f.name(&ci.BuildURL, "client_info.build_url", "build URL", lim.Text)
	if lim.Tags > 0 && len(ci.Tags) > lim.Tags {
		f.add("client_info.tags", "tag list", len(ci.Tags), lim.Tags, KeptFirst)
		ci.Tags = ci.Tags[:lim.Tags:lim.Tags]
	}
	for i := range ci.Tags {
		if lim.Name > 0 && len(ci.Tags[i]) > lim.Name {
			ci.Tags = slices.Clone(ci.Tags) // as for tests, below
			break
		}
	}
	for i := range ci.Tags {
		f.name(&ci.Tags[i], fmt.Sprintf("client_info.tags[%d]", i), "tag", lim.Name)
	}
	for i := range b.Steps {
		f.step(fmt.Sprintf("results_list[%d]", i), &b.Steps[i])
	}
	return f.cuts
}

type fitter struct {
	lim  Limits
	cuts []Cut
}

func (f *fitter) add(field, what string, size, limit int, kept Kept) {
	f.cuts = append(f.cuts, Cut{Field: field, What: what, Size: size, Limit: limit, Kept: kept})
}

// name cuts *s with FitName and reports whether it did.
func (f *fitter) name(s *string, field, what string, max int) bool {
	if max <= 0 || len(*s) <= max {
		return false
	}
	f.add(field, what, len(*s), max, KeptStart)
	*s = FitName(*s, max)
	return true
}

// tail cuts *s with CapTail.
func (f *fitter) tail(s *string, field, what string, max int) {
	if max <= 0 || len(*s) <= max {
		return
	}
	f.add(field, what, len(*s), max, KeptTail)
	*s = CapTail(*s, max)
}

func (f *fitter) step(p string, s *Step) {
	var notes []string
	for _, c := range []struct {
		s          *string
		field, was string
		max        int
	}{
		{&s.Type, "type", "step type", f.lim.Name},
		{&s.Name, "name", "step name", f.lim.Name},
		{&s.Format, "format", "step format", f.lim.Name},
		{&s.Command, "command", "step command", f.lim.Text},
	} {
		n := len(*c.s)
		if f.name(c.s, p+"."+c.field, c.was, c.max) {
			notes = append(notes, fmt.Sprintf("[pony: this step's %s was %d bytes, cut to the limit of %d: its start and a hash of the whole are kept]\n", c.field, n, c.max))
		}
	}
	for _, n := range notes {
		if s.Output != "" && s.Output[len(s.Output)-1] != '\n' {
			s.Output += "\n"
		}
		s.Output += n // at the end: the tail is what a cut keeps
	}
	f.tail(&s.Output, p+".output", "step output", f.lim.StepOutput)
	f.tail(&s.Errout, p+".errout", "step errout", f.lim.StepOutput)
	copied := false
	for i := range s.Tests {
		// Fit a copy, and write it into a copy of the slice: the step's
		// tests may be in use elsewhere (a live report being sent).
		t, before := s.Tests[i], len(f.cuts)
		f.test(fmt.Sprintf("%s.tests[%d]", p, i), &t)
		if len(f.cuts) == before {
			continue
		}
		if !copied {
			s.Tests, copied = slices.Clone(s.Tests), true
		}
		s.Tests[i] = t
	}
}

func (f *fitter) test(p string, t *TestResult) {
	lim := f.lim
	set := func(k, v string) {
		// A copy: a parser may share one map between entries.
		t.Properties = maps.Clone(t.Properties)
		if t.Properties == nil {
			t.Properties = map[string]string{}
		}
		t.Properties[k] = v
	}
	for _, c := range []struct {
		s                *string
		field, what      string
		bytesKey, keyAll string
	}{
		{&t.Name, "name", "test name", PropNameBytes, PropFullName},
		{&t.Suite, "suite", "suite", PropSuiteBytes, PropFullSuite},
	} {
		whole := *c.s
		if f.name(c.s, p+"."+c.field, c.what, lim.Name) {
			set(c.bytesKey, strconv.Itoa(len(whole)))
			if lim.Text <= 0 || len(whole) <= lim.Text {
				set(c.keyAll, whole)
			}
		}
	}
	f.tail(&t.Message, p+".message", "test message", lim.Text)
	f.tail(&t.Output, p+".output", "test output", lim.Output)
	f.name(&t.File, p+".file", "test file", lim.Text)
	over := false
	for k, v := range t.Properties {
		over = over || lim.Name > 0 && len(k) > lim.Name || lim.Text > 0 && len(v) > lim.Text
	}
	if !over {
		return
	}
	props := make(map[string]string, len(t.Properties))
	for k, v := range t.Properties {
		nk := k
		f.name(&nk, p+".properties key", "test property key", lim.Name)
		f.name(&v, p+".properties["+nk+"]", "test property", lim.Text)
		props[nk] = v
	}
	t.Properties = props
}
