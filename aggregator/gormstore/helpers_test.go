package gormstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/internal/testenv"
)

// The store tests run on every dialect available: SQLite always, and
// PostgreSQL when PONY_TEST_POSTGRES_DSN names a server (scripts/pg.sh start
// prints one). In CI (env CI set) PostgreSQL is required.
const pgEnv = "PONY_TEST_POSTGRES_DSN"

var warnOnce sync.Once

// testDialects lists the dialects to test on.
func testDialects(tb testing.TB) []string {
	tb.Helper()
	if os.Getenv(pgEnv) != "" {
		return []string{dialectSQLite, dialectPostgres}
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("PostgreSQL is required in CI: set %s (eval \"$(bash scripts/pg.sh start)\")", pgEnv)
	}
	warnOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "\n*** gormstore: %s is not set: PostgreSQL is SKIPPED, testing SQLite only.\n*** Run: eval \"$(bash scripts/pg.sh start)\"\n\n", pgEnv)
	})
	tb.Logf("PostgreSQL SKIPPED (%s unset): SQLite only", pgEnv)
	return []string{dialectSQLite}
}

// forEachDialect runs f as a subtest per dialect.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range testDialects(t) {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

// newTestDSN returns the DSN of a fresh, empty database: a SQLite file in a
// temporary directory, or a new PostgreSQL database (CREATE DATABASE
// pony_test_<random>) dropped when the test ends.
func newTestDSN(tb testing.TB, dialect string) string {
	tb.Helper()
	if dialect == dialectSQLite {
		return filepath.Join(tb.TempDir(), "pony.db")
	}
	return testenv.FreshPostgres(tb)
}

// newTestStore opens a migrated store on a fresh database of the dialect,
// closed when the test ends.
func newTestStore(tb testing.TB, dialect string) *Store {
	tb.Helper()
	return openTestStore(tb, newTestDSN(tb, dialect), Options{Migrate: true})
}

func openTestStore(tb testing.TB, dsn string, opts Options) *Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// testWriter sends the store's log to the test's log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

// newBag returns a bag of the environment with a receipt, as the Service
// hands it to the store.
func newBag(env aggregator.Env, branch string, steps ...pony.Step) *pony.Bag {
	return &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: env.Package, Host: env.Host, Arch: env.Arch, Runtime: env.Runtime, Tags: env.Tags, Branch: branch},
		Steps:      steps,
		Receipt:    &pony.Receipt{ResultKey: aggregator.NewResultKey(), Time: time.Now().UTC(), ClientIP: "127.0.0.1"},
	}
}

// mustCreate stores a bag, failing the test on an error.
func mustCreate(tb testing.TB, s *Store, bag *pony.Bag, opts aggregator.CreateOptions) pony.Receipt {
	tb.Helper()
	rec, _, err := s.CreateResult(context.Background(), bag, opts)
	if err != nil {
		tb.Fatalf("CreateResult: %v", err)
	}
	return rec
}

// count counts a table's rows.
func count(tb testing.TB, s *Store, table string) int64 {
	tb.Helper()
	var n int64
	if err := s.r.Table(table).Count(&n).Error; err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// bigStep is a step of n distinct tests, a few failing with messages and
// output, a few retried (fail then pass), with properties on some.
func bigStep(n int) pony.Step {
	st := pony.Step{Type: "test", Name: "go test ./...", Command: "go test -json ./...", Format: "gotest", Status: 1, Duration: 42.5}
	st.Tests = make([]pony.TestResult, 0, n+n/100)
	for i := 0; i < n; i++ {
		t := pony.TestResult{Suite: fmt.Sprintf("example.com/pkg%03d", i/250), Name: fmt.Sprintf("TestCase%05d/sub_%d", i, i%7), Status: pony.StatusPass, Duration: float64(i%97) / 1000, Attempt: 1}
		switch {
		case i%50 == 7:
			t.Status, t.Message, t.Output = pony.StatusFail, "expected 1, got 2", fmt.Sprintf("    case_test.go:%d: expected 1, got 2\n--- FAIL: %s\n", i%400, t.Name)
			t.File, t.Line = "case_test.go", i%400
		case i%100 == 13:
			t.Status, t.Message = pony.StatusSkip, "needs a database"
		case i%200 == 31:
			t.Properties = map[string]string{"owner": "web", "seed": fmt.Sprint(i)}
		}
		st.Tests = append(st.Tests, t)
		if i%100 == 3 { // a retry flake: attempt 1 failed, attempt 2 passes
			st.Tests[len(st.Tests)-1].Status = pony.StatusFail
			st.Tests[len(st.Tests)-1].Message = "flaky timeout"
			r := t
			r.Attempt = 2
			st.Tests = append(st.Tests, r)
		}
	}
	return st
}
