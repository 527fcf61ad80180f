package main

import (
	"context"
	"errors"
	"flag"

	"github.com/pony-build/pony/client"
)

// runFlush is `pony-report flush`: send every spooled bag, now (the backoff
// of bags that failed lately is for the automatic flush). It exits 0 when
// nothing is left in the spool, 1 when some bags remain (listed with the
// reason) or a file that is not a bag was moved aside into SPOOL/corrupt/,
// 2 on bad usage or a spool that cannot be read.
func runFlush(ctx context.Context, e *cmdEnv, args []string) int {
	var c common
	fs := newFlagSet(e, "flush", "", "Send the bags spooled while the server could not take them, each to the server it was meant for")
	c.addSendFlags(fs, e.getenv)
	args, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(args) > 0 {
		e.say("flush takes no arguments, got %q", args)
		return exitUsage
	}
	// Limit the flush to one server only when one was named.
	var only string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "server" {
			only = c.server
		}
	})
	if only == "" {
		only = e.getenv("PONY_SERVER")
	}
	if only != "" {
		if err := checkServer(only); err != nil {
			e.say("%v", err)
			return exitUsage
		}
	}
	spool := &client.Spool{Dir: c.spoolDir}
	rep, err := spool.Flush(ctx, c.sender(e.getenv), client.FlushOptions{Server: only, Wait: true})
	if err != nil {
		e.say("flush %s: %v", c.spoolDir, err)
		if errors.Is(err, client.ErrBusy) {
			return exitFail
		}
		return exitUsage
	}
	for _, c := range rep.Corrupt {
		if c.MovedTo != "" {
			e.say("%v; moved aside to %s", c.Err, c.MovedTo)
		} else {
			e.say("%v", c.Err)
		}
	}
	if len(rep.Sent) == 0 && len(rep.Remaining) == 0 && len(rep.Corrupt) == 0 {
		e.say("nothing spooled in %s", c.spoolDir)
		return exitOK
	}
	if n := len(rep.Sent); n > 0 {
		e.say("sent %s from %s", plural(n, "spooled bag"), c.spoolDir)
	}
	if len(rep.Remaining) == 0 {
		if len(rep.Corrupt) > 0 {
			return exitFail // a bag may be lost: say so once, loudly
		}
		return exitOK
	}
	e.say("%s still spooled (delete a file to drop its bag):", plural(len(rep.Remaining), "bag"))
	for _, r := range rep.Remaining {
		e.say("  %s: %v", r.Path, r.Err)
	}
	return exitFail
}
