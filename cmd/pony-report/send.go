package main

import (
	"context"

	"github.com/pony-build/pony/client"
)

// runSend is `pony-report send` (format "": detected) and `pony-report
// gotest|junit|tap` (format named): build one bag from the inputs, send it,
// spool it when the server cannot take it, and exit with the tests' verdict.
func runSend(format string) func(ctx context.Context, e *cmdEnv, args []string) int {
	return func(ctx context.Context, e *cmdEnv, args []string) int {
		name, short := "send", "Read reports (format detected) and send them to pony-server as one bag"
		if format != "" {
			name, short = format, "Read "+format+" reports and send them to pony-server as one bag"
		}
		var c common
		fs := newFlagSet(e, name, "[FILE|GLOB|-]...", short)
		c.addSendFlags(fs, e.getenv)
		c.addBagFlags(fs, e.getenv)
		fs.BoolVar(&c.dryRun, "dry-run", false, "print the bag instead of sending it")
		addJUnitOut(fs, &c)
		args, err := parseArgs(fs, args)
		if err != nil {
			return flagExit(err)
		}
		if err := checkServer(c.server); err != nil {
			e.say("%v", err)
			return exitUsage
		}
		bag, from, verdict, ok := buildBag(ctx, e, &c, format, args)
		if !ok {
			return verdict
		}
		if !writeJUnitOut(e, &c, bag) {
			return exitUsage
		}
		summary := client.Summary(bag)
		if c.dryRun {
			if err := printBag(e.stdout, bag); err != nil {
				e.say("write bag: %v", err)
				return exitUsage
			}
			if from != "" {
				e.say("package %q (from %s; set --package or PONY_PACKAGE to change it)", bag.ClientInfo.Package, from)
			}
			e.say("%s → not sent (--dry-run; would POST to %s)", summary, c.server)
			return verdict
		}
		env, err := client.NewEnvelope(bag, c.server)
		if err != nil {
			e.say("%v", err)
			return exitUsage
		}
		spool := &client.Spool{Dir: c.spoolDir}
		d, err := client.Deliver(ctx, c.sender(e.getenv), spool, env)
		if err != nil {
			// The bag is lost (too large, or the spool cannot be written):
			// say so with a status CI cannot miss.
			e.say("%s → NOT sent: %v", summary, err)
			return exitUsage
		}
		if d.Spooled != "" {
			e.say("%s → spooled", summary)
			e.say("%v; the bag was spooled to %s; %s", d.Err, d.Spooled, explain(d.Err))
			return verdict
		}
		to := d.Receipt.ResultKey
		if to == "" {
			to = "a result at " + c.server
		}
		e.say("%s → sent as %s", summary, to)
		if n := len(d.Flushed.Sent); n > 0 {
			e.say("also sent %s spooled earlier", plural(n, "bag"))
		}
		if n := len(d.Flushed.Remaining); n > 0 {
			e.say("%s still spooled in %s; run `pony-report flush` to see why", plural(n, "bag"), c.spoolDir)
		}
		return verdict
	}
}
