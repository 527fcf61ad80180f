package main

import "context"

// runMigrate is `pony-server migrate`: bring the schema up to date and exit.
// Servers started with --no-migrate need it after an upgrade.
func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "migrate", "migrate [--db pony.db | postgres://…]")
	db := dbFlag(fs, e.getenv)
	if err := parseFlags(fs, args); err != nil {
		return flagExit(e, err)
	}
	st, err := openStore(ctx, *db, true, discardLogger)
	if err != nil {
		e.say("%v", err)
		return exitFail
	}
	if err := st.Close(); err != nil {
		e.say("close database: %v", err)
		return exitFail
	}
	e.say("%s: schema up to date", redactDSN(*db))
	return exitOK
}
