package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/pony-build/pony/client"
)

// runFlush is `pony-report flush`: send every spooled bag, now (the backoff
// of bags that failed lately is for the automatic flush). With --server (or
// PONY_SERVER) it sends only the bags spooled for that server and says how
// many are spooled for others; with --all too, it sends every bag to that
// server. It exits 0 when nothing is left of what it was asked to send, 1
// when some bags remain (listed with the reason) or a file that is not a bag
// was moved aside into SPOOL/corrupt/, 2 on bad usage or a spool that cannot
// be read.
func runFlush(ctx context.Context, e *cmdEnv, args []string) int {
	var c common
	var all bool
	fs := newFlagSet(e, "flush", "", "Send the bags spooled while the server could not take them, each to the server it was meant for")
	c.addSendFlags(fs, e.getenv)
	fs.BoolVar(&all, "all", false, "send every spooled bag to --server (or PONY_SERVER), whatever server it was spooled for: for a server that moved")
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
	opts := client.FlushOptions{Server: only, Wait: true}
	if all {
		if only == "" {
			e.say("flush --all sends every spooled bag to one server: name it with --server URL (or PONY_SERVER)")
			return exitUsage
		}
		opts.Server, opts.To = "", only
	}
	spool := &client.Spool{Dir: c.spoolDir}
	rep, err := spool.Flush(ctx, c.sender(e.getenv), opts)
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
	// Bags for other servers are not this flush's to send, but must never
	// look lost: say where they are meant to go.
	defer sayElsewhere(e, rep.Elsewhere, only)
	if len(rep.Sent) == 0 && len(rep.Remaining) == 0 {
		switch {
		case len(rep.Elsewhere) > 0:
			e.say("nothing spooled for %s in %s", only, c.spoolDir)
		case len(rep.Corrupt) == 0:
			e.say("nothing spooled in %s", c.spoolDir)
			return exitOK
		}
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

// sayElsewhere lists the bags a flush limited to server left alone, by the
// server they were spooled for, and how to send them: they are not lost.
func sayElsewhere(e *cmdEnv, bags []client.Spooled, server string) {
	if len(bags) == 0 {
		return
	}
	var each []string
	for _, sc := range client.SpooledFor(bags) {
		each = append(each, fmt.Sprintf("%s (%d)", sc.Server, sc.Bags))
	}
	e.say("%s spooled for other servers than %s, left alone: %s", plural(len(bags), "bag"), server, strings.Join(each, ", "))
	e.say("send them with `pony-report flush --server URL` (URL one of those), or all to %s with `pony-report flush --all --server %s`", server, server)
}
