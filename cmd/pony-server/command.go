package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the server or a command failed
	exitUsage = 2 // bad usage
)

// defaultDB is the SQLite file used when neither --db nor PONY_DB is given.
const defaultDB = "pony.db"

// env is what a subcommand talks to: its output streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// say prints a line on stderr, prefixed with the command's name.
func (e *env) say(format string, args ...any) {
	fmt.Fprintf(e.stderr, "pony-server: "+format+"\n", args...)
}

// subcommand is one of pony-server's commands.
type subcommand struct {
	name, usage string
	run         func(ctx context.Context, e *env, args []string) int
}

var subcommands = []subcommand{
	{"serve", "run the server (the default command)", runServe},
	{"migrate", "bring the database schema up to date, then exit", runMigrate},
	{"token", "create or list API tokens (token create, token list)", runToken},
}

// run dispatches to the subcommand named by args[0]; with no command (or
// flags first), it serves.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		return runServe(ctx, e, args)
	}
	if isHelp(args[0]) || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range subcommands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	e.say("unknown command %q", args[0])
	usage(stderr)
	return exitUsage
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func usage(w io.Writer) {
	fmt.Fprint(w, `pony-server stores pony-report's result bags and answers questions about them.

Usage:
  pony-server [serve] [--addr :8080] [--db pony.db | postgres://…] [flags]
  pony-server migrate [--db …]
  pony-server token create --package P --scope write|read [--name N] [--db …]
  pony-server token list [--db …]

Commands:
`)
	for _, c := range subcommands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprint(w, `
Run 'pony-server COMMAND --help' for a command's flags. The database is
PONY_DB when --db is not given, else ./pony.db (SQLite).
`)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pony-server %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; positional arguments are refused.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// flagExit maps a flag error to an exit status: 0 for --help.
func flagExit(e *env, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if !strings.HasPrefix(err.Error(), "flag ") { // the flag package printed its own
		e.say("%v", err)
	}
	return exitUsage
}

// dbFlag adds --db, defaulting to PONY_DB, else ./pony.db.
func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := getenv("PONY_DB")
	if def == "" {
		def = defaultDB
	}
	return fs.String("db", def, "the database: a SQLite `file`, or a postgres:// URL (env PONY_DB)")
}

// openStore opens the database, migrating it first when migrate is set.
func openStore(ctx context.Context, dsn string, migrate bool, logger *slog.Logger, fold ...aggregator.FoldOptions) (*gormstore.Store, error) {
	opts := gormstore.Options{Migrate: migrate, Logger: logger}
	if len(fold) > 0 {
		opts.Fold = fold[0]
	}
	st, err := gormstore.Open(ctx, dsn, opts)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(dsn), err)
	}
	return st, nil
}

// redactDSN hides a password in a postgres:// URL or key=value DSN.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return dsn[:i+3] + rest[:colon] + ":xxxxx" + rest[at:]
			}
		}
		return dsn
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// byteSize is a flag holding a size such as 64MiB, 512KiB, 10MB or 1000.
type byteSize int64

func (b *byteSize) String() string { return formatSize(int64(*b)) }

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
	{"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// parseSize reads a size in bytes with an optional unit (KiB, MiB, GiB,
// KB, MB, GB; K, M and G are binary).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q: want a positive number of bytes, e.g. 64MiB", s)
	}
	return n * mult, nil
}

// formatSize writes n with the largest binary unit dividing it.
func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n > 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// newLogger returns the slog logger writing to w in the format named
// ("text" or "json").
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// discardLogger drops everything (for one-shot commands).
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
