package pony

import (
	"strings"
	"unicode/utf8"
)

// ToValidUTF8 replaces every invalid UTF-8 sequence in the step's text
// (names, command, output, the tests' suites, names, messages, output, files
// and properties) with U+FFFD. Runners print what their tests print, and
// that is not always UTF-8 (a Perl test printing Latin-1, a binary blob in a
// log line); the bag must be, and one bad byte must not cost the whole
// result. It reports whether anything was replaced.
func (s *Step) ToValidUTF8() bool {
	changed := false
	fix := func(p *string) {
		if !utf8.ValidString(*p) {
			*p = strings.ToValidUTF8(*p, "\uFFFD")
			changed = true
		}
	}
	fix(&s.Type)
	fix(&s.Name)
	fix(&s.Command)
	fix(&s.Output)
	fix(&s.Errout)
	fix(&s.Format)
	for i := range s.Tests {
		t := &s.Tests[i]
		fix(&t.Suite)
		fix(&t.Name)
		fix(&t.Message)
		fix(&t.Output)
		fix(&t.File)
		for k, v := range t.Properties {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				delete(t.Properties, k)
				t.Properties[strings.ToValidUTF8(k, "\uFFFD")] = strings.ToValidUTF8(v, "\uFFFD")
				changed = true
			}
		}
	}
	return changed
}

// ToValidUTF8 does Step.ToValidUTF8 on every step of the bag.
func (b *Bag) ToValidUTF8() bool {
	changed := false
	for i := range b.Steps {
		if b.Steps[i].ToValidUTF8() {
			changed = true
		}
	}
	return changed
}
