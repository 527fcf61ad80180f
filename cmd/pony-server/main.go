// Command pony-server is the record keeper of pony-report: it stores every
// result bag (SQLite by default, PostgreSQL for several replicas) and serves
// the JSON API and pony-build's XML-RPC API. Run `pony-server --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
