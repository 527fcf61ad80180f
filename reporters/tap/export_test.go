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
