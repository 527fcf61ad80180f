package reporters

import (
	"context"
	"errors"
	"io"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters/gotest"
)

func init() {
	Register(Format{Name: gotest.Format, Detect: gotest.Detect, Parse: parseGoTest})
}

// parseGoTest adapts Options to gotest.Config. An input holding not one
// go test -json event gives no step: it is not go test -json output (when
// the format was named, not detected), as the other formats refuse theirs.
func parseGoTest(ctx context.Context, r io.Reader, opts Options) (*pony.Step, error) {
	opts = opts.WithDefaults()
	st, err := gotest.Parse(ctx, r, gotest.Config{
		File:              opts.File,
		OutputCap:         opts.OutputCap,
		StepOutputCap:     opts.StepOutputCap,
		KeepPassingOutput: opts.KeepPassingOutput,
	})
	if errors.Is(err, gotest.ErrNoEvents) && st != nil && len(st.Tests) == 0 {
		return nil, err
	}
	return st, err
}
