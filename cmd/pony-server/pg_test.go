package main

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

// postgresDSN returns PONY_TEST_POSTGRES_DSN. Without it the test is
// skipped, except in CI (CI set), where it fails: nothing is skipped there.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("PONY_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PONY_TEST_POSTGRES_DSN is not set and CI is: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL")
		}
		t.Skip("PONY_TEST_POSTGRES_DSN is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)")
	}
	return dsn
}

// freshPostgres creates a new, empty database on the PostgreSQL of
// PONY_TEST_POSTGRES_DSN, dropped at the end of the test, and returns its
// DSN.
func freshPostgres(t testing.TB) string {
	t.Helper()
	dsn := postgresDSN(t)
	var b [6]byte
	rand.Read(b[:])
	name := "pony_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PONY_TEST_POSTGRES_DSN: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, dsn, name)
}

// withDatabase returns dsn naming database name instead of its own, in a
// postgres:// URL or a key=value DSN.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("PONY_TEST_POSTGRES_DSN: %v", err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name // a later key wins
}
