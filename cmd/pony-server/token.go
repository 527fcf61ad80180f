package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pony-build/pony/aggregator"
)

// runToken is `pony-server token create|list`.
func runToken(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(e.stderr, "Usage:\n  pony-server token create --package P --scope write|read [--name N] [--db …]\n  pony-server token list [--db …]\n")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "create":
		return runTokenCreate(ctx, e, args[1:])
	case "list":
		return runTokenList(ctx, e, args[1:])
	}
	e.say("unknown token command %q: want create or list", args[0])
	return exitUsage
}

// runTokenCreate makes a token and prints its secret, the only time it is
// shown: the database keeps its SHA-256 only.
func runTokenCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "token create", "token create --package P --scope write|read [--name N] [--db …]")
	db := dbFlag(fs, e.getenv)
	pkg := fs.String("package", "", "the `package` the token is for; * for every package")
	scope := fs.String("scope", "", "write (send results; also read) or read")
	name := fs.String("name", "", "a `name` to recognise the token by in 'token list'")
	if err := parseFlags(fs, args); err != nil {
		return flagExit(e, err)
	}
	if *pkg == "" || *scope == "" {
		e.say("token create needs --package and --scope")
		return exitUsage
	}
	st, err := openStore(ctx, *db, true, discardLogger)
	if err != nil {
		e.say("%v", err)
		return exitFail
	}
	defer st.Close()
	svc := aggregator.New(st, aggregator.Options{})
	secret, tok, err := svc.CreateToken(ctx, *pkg, aggregator.Scope(*scope), *name)
	if err != nil {
		e.say("%v", err)
		if aggregator.ErrorCode(err) == aggregator.EInvalid {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintln(e.stdout, secret)
	e.say("created %s token %s for package %q; it is shown only now (the database keeps its hash)", tok.Scope, tok.ID, tok.Package)
	e.say("use it with: pony-report --token … or PONY_TOKEN=… (sent as Authorization: Bearer …)")
	return exitOK
}

// runTokenList prints the stored tokens (never their secrets).
func runTokenList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "token list", "token list [--db …]")
	db := dbFlag(fs, e.getenv)
	if err := parseFlags(fs, args); err != nil {
		return flagExit(e, err)
	}
	// Listing reads: a SQLite file that is not there is a mistyped --db,
	// not a server without tokens (opening would create it).
	if sqlitePath(*db) {
		if _, err := os.Stat(*db); err != nil {
			e.say("no database at %s: %v (pony-server serve or migrate creates it)", *db, err)
			return exitFail
		}
	}
	st, err := openStore(ctx, *db, true, discardLogger)
	if err != nil {
		e.say("%v", err)
		return exitFail
	}
	defer st.Close()
	toks, err := st.Tokens(ctx)
	if err != nil {
		e.say("list tokens: %v", err)
		return exitFail
	}
	if len(toks) == 0 {
		e.say("no token: the server runs open (anyone may write)")
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPACKAGE\tSCOPE\tNAME\tCREATED")
	for _, t := range toks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Package, t.Scope, t.Name, t.Created.UTC().Format(time.RFC3339))
	}
	if err := w.Flush(); err != nil {
		e.say("%v", err)
		return exitFail
	}
	return exitOK
}

// sqlitePath reports whether a --db value is a plain SQLite file path (not
// a postgres URL or DSN, nor a file: URI).
func sqlitePath(dsn string) bool {
	return dsn != "" && !strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "file:") && !strings.Contains(dsn, "=")
}
