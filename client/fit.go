package client

import (
	"fmt"
	"strings"

	"github.com/pony-build/pony"
)

// Fit cuts what in b is over lim and can be cut (pony.Bag.Fit: a test name
// over the limit keeps its start and a hash of the whole) and, when it cut
// anything, says on warn how many fields of each kind, so that one long
// name costs a warning rather than the whole result. What cannot be fitted
// is left for Validate to refuse. It returns the cuts.
func Fit(b *pony.Bag, lim pony.Limits, warn func(format string, args ...any)) []pony.Cut {
	cuts := b.Fit(lim)
	if len(cuts) > 0 && warn != nil {
		warn("%s", FitSummary(cuts))
	}
	return cuts
}

// FitSummary is a one-line account of cuts, e.g. "cut to fit the limits: 2
// test names over 1024 bytes (each keeps its start and a hash of the whole,
// so it stays apart from the others and is cut the same way every run; a
// cut test keeps its full name in property pony.full_name)".
func FitSummary(cuts []pony.Cut) string {
	type kind struct {
		what  string
		limit int
	}
	var order []kind
	count := map[kind]int{}
	var hashed, names, suites bool
	for _, c := range cuts {
		hashed = hashed || c.Kept == pony.KeptStart
		k := kind{c.What, c.Limit}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
		names = names || c.What == "test name"
		suites = suites || c.What == "suite"
	}
	parts := make([]string, len(order))
	for i, k := range order {
		unit := "bytes"
		if k.what == "tag list" {
			unit = "tags"
		}
		what := k.what
		if count[k] != 1 {
			what = plural(what)
		}
		parts[i] = fmt.Sprintf("%d %s over %d %s", count[k], what, k.limit, unit)
	}
	msg := "cut to fit the limits: " + strings.Join(parts, ", ")
	var props []string
	if names {
		props = append(props, fmt.Sprintf("its full name in property %s, its length in %s", pony.PropFullName, pony.PropNameBytes))
	}
	if suites {
		props = append(props, fmt.Sprintf("its full suite in property %s, its length in %s", pony.PropFullSuite, pony.PropSuiteBytes))
	}
	if !hashed {
		return msg
	}
	msg += " (a cut name keeps its start and a hash of the whole: different names stay apart, and a name is cut the same way every run"
	if len(props) > 0 {
		msg += "; a cut test keeps " + strings.Join(props, ", and ")
	}
	return msg + ")"
}

func plural(noun string) string {
	switch {
	case strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "s"):
		return noun + "es"
	case strings.HasSuffix(noun, "y"):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}
