package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the PostgreSQL server the tests use: a postgres:// URL
// or a key=value DSN. scripts/test.sh (through scripts/pg.sh) starts a
// throwaway server and sets it.
const PostgresEnv = "PONY_TEST_POSTGRES_DSN"

// PostgresDSN returns $PONY_TEST_POSTGRES_DSN. Without it the test is
// skipped, except in CI (CI set), where it fails: nothing is skipped there.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(PostgresEnv + " is not set and CI is: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL")
		}
		t.Skip(PostgresEnv + " is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)")
	}
	return dsn
}

// FreshPostgres creates an empty database, pony_test_<random>, on the
// server of PostgresDSN and returns the DSN naming it, in the form of
// PostgresDSN's. The database is dropped (WITH FORCE) when the test ends;
// a server started by the test is stopped before that if its cleanup was
// registered after this call.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	dsn := PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "pony_test_" + hex.EncodeToString(b[:])
	if err := pgExec(dsn, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s on %s: %v", name, PostgresEnv, err)
	}
	t.Cleanup(func() {
		if err := pgExec(dsn, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return WithDatabase(t, dsn, name)
}

// pgExec runs one statement on its own connection.
func pgExec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithDatabase returns dsn naming database name instead of its own, in a
// postgres:// URL or a key=value DSN.
func WithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", PostgresEnv, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name // a later key wins
}
