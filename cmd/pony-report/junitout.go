package main

import (
	"flag"
	"io"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

// addJUnitOut adds --junit-out, which exports the bag as JUnit XML.
func addJUnitOut(fs *flag.FlagSet, c *common) {
	fs.StringVar(&c.junitOut, "junit-out", "", "also write the bag as JUnit XML to `file` (any input format)")
}

// writeJUnitOut writes the bag as JUnit XML when --junit-out asked for it;
// it reports false after printing why it could not.
func writeJUnitOut(e *cmdEnv, c *common, b *pony.Bag) bool {
	if c.junitOut == "" {
		return true
	}
	err := writeFileAtomic(c.junitOut, func(w io.Writer) error { return junit.WriteBag(w, b) })
	if err != nil {
		e.say("--junit-out %s: %v", c.junitOut, err)
		return false
	}
	return true
}
