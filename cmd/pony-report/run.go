package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pony-build/pony/client"
	"github.com/pony-build/pony/reporters"
)

// Exit statuses.
const (
	exitOK    = 0 // every test passed; flush: nothing left
	exitFail  = 1 // some test failed or an input was incomplete; flush: bags remain
	exitUsage = 2 // bad usage, or an input that cannot be read or recognised
)

const defaultServer = "http://localhost:8080"

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// cmdEnv is what a command runs with: its streams and its environment.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// say prints one "pony-report: …" line on stderr.
func (e *cmdEnv) say(format string, args ...any) {
	fmt.Fprintf(e.stderr, "pony-report: "+format+"\n", args...)
}

type command struct {
	name, args, short string
	run               func(ctx context.Context, e *cmdEnv, args []string) int
}

func commands() []command {
	return []command{
		{"send", "[FILE|-]...", "read reports (format detected; standard input when none) and send one bag", runSend("")},
		{"gotest", "[FILE|-]...", "like send, for `go test -json` output", runSend("gotest")},
		{"junit", "[FILE|-]...", "like send, for JUnit XML", runSend("junit")},
		{"tap", "[FILE|-]...", "like send, for TAP", runSend("tap")},
		{"parse", "[FILE|-]...", "print the bag as JSON and send nothing", runParse},
		{"run", "-- CMD ARGS", "run a test command (or pony.yaml's steps), pass its output through, and send its results", runRun},
		{"flush", "", "send the bags spooled while the server could not be reached", runFlush},
		{"status", "[PACKAGE]", "a package's latest result per environment; exit 0 when all pass", runStatus},
	}
}

// run is the whole program: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdin, stdout, stderr, getenv)
		}
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "pony-report %s %s/%s\n", version, runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	e.say("unknown command %q", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `pony-report turns test runner output into a result bag and sends it to pony-server.

Usage:
  go test -json ./... | pony-report send
  pony-report COMMAND [FLAGS] [FILE|GLOB|-]...

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %-12s %s\n", c.name, c.args, c.short)
	}
	fmt.Fprint(w, `
Run 'pony-report COMMAND --help' for a command's flags. Every file is one step
of the bag; a glob (*, ?, [) is expanded. Flags may follow the files.

Exit status of send, gotest, junit, tap and parse: 0 every test passed, 1 some
test failed or an input was cut short, 2 bad usage or an input that cannot be
read or recognised. A server that cannot be reached does not change it: the bag
is spooled and 'pony-report flush' sends it later. Exit status of status: 0 the
selected environments all pass, 1 one fails or an expected one is missing, 2
nothing to judge (no result, no server).
`)
}

// common holds the flags that every bag-building command shares.
type common struct {
	server, token, pkg, host, arch, runtime, spoolDir string
	tags, sets                                        listFlag
	dryRun, keepOutput                                bool
	retries                                           int
	timeout                                           time.Duration
	junitOut, format                                  string
}

// formatNames lists the registered report formats.
func formatNames() string { return strings.Join(reporters.Names(), ", ") }

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// envOr returns the environment variable key, or def when it is unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// addSendFlags adds the flags that talk to the server.
func (c *common) addSendFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.server, "server", envOr(getenv, "PONY_SERVER", defaultServer), "pony-server's `URL` (env PONY_SERVER)")
	// The token's default is read after parsing, so that --help never prints it.
	fs.StringVar(&c.token, "token", "", "API `token`, sent as Authorization: Bearer (env PONY_TOKEN)")
	fs.StringVar(&c.spoolDir, "spool-dir", envOr(getenv, "PONY_SPOOL_DIR", client.DefaultSpoolDir()), "`directory` of bags waiting to be sent (env PONY_SPOOL_DIR)")
	retries, _ := strconv.Atoi(getenv("PONY_RETRIES"))
	if getenv("PONY_RETRIES") == "" {
		retries = client.DefaultRetry.Attempts
	}
	fs.IntVar(&c.retries, "retries", retries, "tries in all when the server cannot be reached or answers 408, 429 or 5xx (env PONY_RETRIES)")
	timeout, err := time.ParseDuration(getenv("PONY_TIMEOUT"))
	if err != nil {
		timeout = 30 * time.Second
	}
	fs.DurationVar(&c.timeout, "timeout", timeout, "time limit of one HTTP request (env PONY_TIMEOUT)")
}

// addBagFlags adds the flags that shape the bag.
func (c *common) addBagFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.pkg, "package", getenv("PONY_PACKAGE"), "the project's `name` (env PONY_PACKAGE; default: CI repository, go.mod module, git toplevel or directory name)")
	fs.StringVar(&c.host, "host", getenv("PONY_HOST"), "this machine's `name` (env PONY_HOST; default: the host name)")
	fs.StringVar(&c.arch, "arch", getenv("PONY_ARCH"), "the `arch`itecture (env PONY_ARCH; default: "+runtime.GOOS+"-"+runtime.GOARCH+")")
	fs.StringVar(&c.runtime, "runtime", getenv("PONY_RUNTIME"), "the language runtime under test, e.g. python3.12 (env PONY_RUNTIME; default: 'go env GOVERSION' for go test output)")
	for _, t := range strings.Split(getenv("PONY_TAGS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.tags = append(c.tags, t)
		}
	}
	fs.Var(&c.tags, "tag", "a free-form `tag`, repeatable; added to env PONY_TAGS (comma-separated)")
	c.sets = append(c.sets, splitSets(getenv("PONY_SET"))...)
	fs.Var(&c.sets, "set", "set any client_info `key=value`, repeatable; a value that is JSON is used as JSON; added to env PONY_SET (key=value pairs, one a line, or separated by ';' when on one line)")
	keep, _ := strconv.ParseBool(getenv("PONY_KEEP_OUTPUT"))
	fs.BoolVar(&c.keepOutput, "keep-output", keep, "keep the output of passing tests too (env PONY_KEEP_OUTPUT)")
}

// splitSets splits PONY_SET into key=value pairs: one a line when it holds a
// newline (so that a value may hold ';'), else separated by ';'. Blank
// pairs are dropped.
func splitSets(v string) []string {
	sep := ";"
	if strings.Contains(v, "\n") {
		sep = "\n"
	}
	var out []string
	for _, p := range strings.Split(v, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newFlagSet makes a command's flag set, with usage on stderr.
func newFlagSet(e *cmdEnv, name, args, short string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pony-report %s [FLAGS] %s\n\n%s.\n\nFlags:\n", name, args, short)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags anywhere among the arguments (`send a.xml --tag x`);
// everything after "--" is an argument.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagExit turns a flag parsing error into an exit status.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// checkServer rejects a server address that is not an http(s) URL.
func checkServer(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want an http:// or https:// URL", s)
	}
	return nil
}

// sender builds the HTTP sender from the flags.
func (c *common) sender(getenv func(string) string) *client.Sender {
	if c.token == "" {
		c.token = getenv("PONY_TOKEN")
	}
	r := client.DefaultRetry
	r.Attempts = c.retries
	return &client.Sender{
		Token:     c.token,
		HTTP:      &http.Client{Timeout: c.timeout},
		Retry:     r,
		UserAgent: fmt.Sprintf("pony-report/%s (%s-%s)", version, runtime.GOOS, runtime.GOARCH),
	}
}

// isTerminal reports whether r is an interactive terminal, where waiting
// for a piped report would hang.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
