package main

import (
	"context"

	"github.com/pony-build/pony/client"
)

// runParse is `pony-report parse`: build the bag and print it as JSON on
// standard output; nothing is sent. The exit status is the tests' verdict,
// as for send.
func runParse(ctx context.Context, e *cmdEnv, args []string) int {
	var c common
	fs := newFlagSet(e, "parse", "[FILE|GLOB|-]...", "Print the bag that send would send, as JSON; send nothing")
	c.addBagFlags(fs, e.getenv)
	fs.StringVar(&c.format, "format", "", "the reports' `format` ("+formatNames()+"); default: detected")
	addJUnitOut(fs, &c)
	args, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	bag, _, verdict, ok := buildBag(ctx, e, &c, c.format, args)
	if !ok {
		return verdict
	}
	if !writeJUnitOut(e, &c, bag) {
		return exitUsage
	}
	if err := printBag(e.stdout, bag); err != nil {
		e.say("write bag: %v", err)
		return exitUsage
	}
	e.say("%s", client.Summary(bag))
	return verdict
}
