// Package benchgen writes large, realistic test reports for the parsers'
// benchmarks and for measuring pony-report's peak memory. Each format adds
// its generator in its own file with Register.
package benchgen

import (
	"fmt"
	"io"
	"sort"
)

// ExtraPassingOutput is how many more lines of log output each passing test
// prints. Zero gives each format's usual shape; a larger value grows the
// stream with passing tests' chatter only, to show that a parser's memory
// does not grow with it (scripts/peak-rss.sh).
var ExtraPassingOutput int

// Generator writes a report holding about n tests.
type Generator func(w io.Writer, n int) error

var generators = map[string]Generator{}

// Register adds a generator under a format name.
func Register(format string, g Generator) { generators[format] = g }

// Generate writes a report in the named format.
func Generate(format string, w io.Writer, n int) error {
	g, ok := generators[format]
	if !ok {
		return fmt.Errorf("no generator for format %q (have %v)", format, Formats())
	}
	return g(w, n)
}

// Formats lists the formats that have a generator.
func Formats() []string {
	var names []string
	for n := range generators {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
