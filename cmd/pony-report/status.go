package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pony-build/pony/client"
)

// runStatus is `pony-report status [FLAGS] [PACKAGE]`: the package's latest
// result per environment, one line each, answered with the exit status: 0
// when every selected environment's latest result passed and no expected
// environment is missing, 1 when one failed, is incomplete or is missing,
// 2 on bad usage, a server that cannot be asked, or no result at all.
func runStatus(ctx context.Context, e *cmdEnv, args []string) int {
	var c common
	fs := newFlagSet(e, "status", "[PACKAGE]", "Show a package's latest result per environment; exit 0 when all pass, 1 when one fails or an expected one is missing")
	c.addSendFlags(fs, e.getenv)
	fs.StringVar(&c.pkg, "package", e.getenv("PONY_PACKAGE"), "the project's `name`, if not given as the argument (env PONY_PACKAGE; default: as for send)")
	var f client.EnvFilter
	fs.StringVar(&f.Host, "host", "", "only the environments of this `host`")
	fs.StringVar(&f.Arch, "arch", "", "only the environments of this `arch`")
	fs.StringVar(&f.Runtime, "runtime", "", "only the environments of this `runtime`")
	var tags listFlag
	fs.Var(&tags, "tag", "only the environments with this `tag`, repeatable")
	quiet := fs.Bool("q", false, "print nothing but errors: the exit status answers")
	args, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	f.Tags = tags
	switch len(args) {
	case 0:
	case 1:
		c.pkg = args[0]
	default:
		e.say("status takes one package, got %q", args)
		return exitUsage
	}
	if err := checkServer(c.server); err != nil {
		e.say("%v", err)
		return exitUsage
	}
	if strings.TrimSpace(c.pkg) == "" {
		got := client.NewCollector(osEnv(e.getenv)).Collect(ctx, false)
		c.pkg = got.Info.Package
	}
	if strings.TrimSpace(c.pkg) == "" {
		e.say("no package name: give it as the argument, or set --package or PONY_PACKAGE")
		return exitUsage
	}
	st, err := c.sender(e.getenv).Status(ctx, c.server, c.pkg)
	if err != nil {
		var se *client.ServerError
		if errors.As(err, &se) && se.StatusCode == 401 {
			e.say("%v; set the token with --token or PONY_TOKEN", err)
		} else {
			e.say("%v", err)
		}
		return exitUsage
	}
	v := client.Judge(st, f, c.server, time.Now())
	if v.Envs == 0 && v.Missing == 0 {
		if len(st.Tagsets) == 0 {
			e.say("%s: no result on %s", c.pkg, c.server)
		} else {
			e.say("%s: none of its %s matches", c.pkg, plural(len(st.Tagsets), "environment"))
		}
		return exitUsage
	}
	if !*quiet {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, l := range v.Lines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
	switch {
	case v.OK():
		if !*quiet {
			e.say("%s: %s, all passing", c.pkg, plural(v.Envs, "environment"))
		}
		return exitOK
	default:
		var why []string
		if v.Failing > 0 {
			why = append(why, fmt.Sprintf("%d failing", v.Failing))
		}
		if v.Missing > 0 {
			why = append(why, fmt.Sprintf("%d expected and missing", v.Missing))
		}
		if v.Envs == 0 {
			why = append(why, "none reported")
		}
		if !*quiet {
			e.say("%s: %s, %s", c.pkg, plural(v.Envs, "environment"), strings.Join(why, ", "))
		}
		return exitFail
	}
}
