package reporters

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

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
		Suite:             tapSuite(opts),
		OutputCap:         opts.OutputCap,
		StepOutputCap:     opts.StepOutputCap,
		KeepPassingOutput: opts.KeepPassingOutput,
	})
	return step, err
}

// tapSuite is the suite of a TAP file's tests (a TAP file is a suite, as a
// Go package or a JUnit classname is): its path as the user named it,
// cleaned ("./t/a.tap" is "t/a.tap"), relative to the working directory
// when it was given absolute and lies under it, with "/" separators. Standard
// input ("-") and the other streams (a command's output, an upload) give
// none: their tests keep no suite.
func tapSuite(opts Options) string {
	file := opts.File
	if !opts.FromFile || file == "" || file == "-" {
		return ""
	}
	p := filepath.Clean(file)
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}
