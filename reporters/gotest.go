package reporters

import (
	"context"
	"io"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters/gotest"
)

func init() {
	Register(Format{Name: gotest.Format, Detect: gotest.Detect, Parse: parseGoTest})
}

// parseGoTest adapts Options to gotest.Config.
func parseGoTest(ctx context.Context, r io.Reader, opts Options) (*pony.Step, error) {
	opts = opts.WithDefaults()
	return gotest.Parse(ctx, r, gotest.Config{
		File:              opts.File,
		OutputCap:         opts.OutputCap,
		StepOutputCap:     opts.StepOutputCap,
		KeepPassingOutput: opts.KeepPassingOutput,
	})
}
