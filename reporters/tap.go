package reporters

import (
	"context"
	"io"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters/tap"
)

func init() {
	Register(Format{Name: "tap", Detect: tap.Detect, Parse: parseTAP})
}

func parseTAP(ctx context.Context, r io.Reader, opts Options) (*pony.Step, error) {
	opts = opts.WithDefaults()
	step, _, err := tap.Parse(ctx, r, tap.Options{
		File:              opts.File,
		OutputCap:         opts.OutputCap,
		StepOutputCap:     opts.StepOutputCap,
		KeepPassingOutput: opts.KeepPassingOutput,
	})
	return step, err
}
