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
// Go package or a JUnit classname is): its path relative to the working
// directory, cleaned ("./t/a.tap" is "t/a.tap"), with "/" separators; for a
// file outside the working directory, its name alone. Standard
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
			if rel, err := filepath.Rel(wd, p); err == nil {
				p = rel
			}
		}
	}
	// A file outside the working directory (an absolute path elsewhere, a
	// ../ path) is known by its name: where it sits changes from machine to
	// machine and run to run, and the suite is part of each test's identity.
	if filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
		p = filepath.Base(p)
	}
	return filepath.ToSlash(p)
}
