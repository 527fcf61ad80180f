package tap

import (
	"context"
	"io"

	"github.com/pony-build/pony"
)

// ParseGeneral is Parse without the fast path, for the tests that compare
// the two.
func ParseGeneral(ctx context.Context, r io.Reader, opts Options) (*pony.Step, *Summary, error) {
	return parse(ctx, r, opts, false)
}

// DecimalMS and RoundMS are decimalMS and roundMS, for the test that
// compares them.
var DecimalMS, RoundMS = decimalMS, roundMS

// DurationString and Duration are durationBytes on a string and duration,
// for the test that compares them.
var DurationString, Duration = durationBytes[string], duration

// LocationOf is location for a one-line value.
func LocationOf(val string) (string, int) { return location(diagEntry{key: "location", val: val}) }

// StrHash and StrHashBytes are strHash on a string and on bytes;
// BlankLine is blankLine.
var StrHash, StrHashBytes, BlankLine = strHash[string], strHash[[]byte], blankLine
