package gormstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// benchStores lists the stores the benchmarks run on: SQLite with the
// server's pure-Go driver, SQLite with mattn's cgo driver when cgo is on,
// and PostgreSQL when PONY_TEST_POSTGRES_DSN is set.
func benchStores(b *testing.B) []struct{ name, dialect, driver string } {
	out := []struct{ name, dialect, driver string }{{"sqlite-glebarez", dialectSQLite, ""}}
	if _, ok := sqliteDialectors["mattn"]; ok {
		out = append(out, struct{ name, dialect, driver string }{"sqlite-mattn", dialectSQLite, "mattn"})
	}
	for _, d := range testDialects(b) {
		if d == dialectPostgres {
			out = append(out, struct{ name, dialect, driver string }{"postgres", dialectPostgres, ""})
		}
	}
	return out
}

const benchTests = 50_000

// BenchmarkCreateResult50k stores a bag of 50,000 tests (and 500 reruns)
// through Store.CreateResult, into a store that already holds one such bag
// (so the test identities exist, as on a server that has seen the suite).
func BenchmarkCreateResult50k(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			s := openTestStore(b, newTestDSN(b, st.dialect), Options{Migrate: true, sqliteDriver: st.driver, SlowQuery: -1})
			env := aggregator.Env{Package: "bench", Host: "h", Arch: "a", Tags: []string{"x"}}
			step := bigStep(benchTests)
			mustCreate(b, s, newBag(env, "main", step), aggregator.CreateOptions{})
			size, _ := json.Marshal(newBag(env, "main", step))
			b.SetBytes(int64(len(size)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				mustCreate(b, s, newBag(env, "main", step), aggregator.CreateOptions{IdempotencyKey: strconv.Itoa(i)})
			}
			b.ReportMetric(float64(len(step.Tests)*b.N)/b.Elapsed().Seconds(), "tests/s")
		})
	}
}

// BenchmarkRawInsert50k is CreateResult's baseline: the same rows (the
// result, its tag, its step, the test identities upserted then selected,
// the verdicts) in one transaction through the same driver and connection
// pool, with database/sql and hand-written multi-row INSERTs in batches of
// the same sizes, no GORM.
func BenchmarkRawInsert50k(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			s := openTestStore(b, newTestDSN(b, st.dialect), Options{Migrate: true, sqliteDriver: st.driver, SlowQuery: -1})
			db, err := s.w.DB()
			if err != nil {
				b.Fatal(err)
			}
			env := aggregator.Env{Package: "bench", Host: "h", Arch: "a", Tags: []string{"x"}}
			step := bigStep(benchTests)
			if err := rawInsert(context.Background(), s, db, newBag(env, "main", step), ""); err != nil {
				b.Fatal(err)
			}
			size, _ := json.Marshal(newBag(env, "main", step))
			b.SetBytes(int64(len(size)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := rawInsert(context.Background(), s, db, newBag(env, "main", step), strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(step.Tests)*b.N)/b.Elapsed().Seconds(), "tests/s")
		})
	}
}

// rawSQL numbers the placeholders for PostgreSQL ($1, $2…).
func rawSQL(dialect, q string) string {
	if dialect != dialectPostgres {
		return q
	}
	var out strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			out.WriteString("$" + strconv.Itoa(n))
			continue
		}
		out.WriteRune(c)
	}
	return out.String()
}

// multiInsert inserts rows of cols columns in batches that fit the bind
// parameter limit.
func multiInsert(ctx context.Context, s *Store, tx *sql.Tx, head, tail string, cols int, args []any) error {
	per := s.batchSize(cols)
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	for lo := 0; lo < len(args); lo += per * cols {
		part := args[lo:min(lo+per*cols, len(args))]
		q := head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", len(part)/cols), ",") + tail
		if _, err := tx.ExecContext(ctx, rawSQL(s.dialect, q), part...); err != nil {
			return err
		}
	}
	return nil
}

func rawInsert(ctx context.Context, s *Store, db *sql.DB, bag *pony.Bag, idem string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ci, _ := bag.ClientInfo.MarshalJSON()
	env := aggregator.NewEnv(bag.ClientInfo)
	t := bag.Totals()
	var idk any
	if idem != "" {
		idk = idem
	}
	var rid int64
	err = tx.QueryRowContext(ctx, rawSQL(s.dialect, `INSERT INTO results (result_key, idempotency_key, auth_key_hash, package, host, arch, runtime, env_key, tags, "commit", branch, build_url,
		success, incomplete, duration, received_at, client_ip, n_tests, n_pass, n_fail, n_error, n_skip, n_xfail, n_xpass, n_flaky, n_attempts, client_info)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`),
		bag.Receipt.ResultKey, idk, "", env.Package, env.Host, env.Arch, env.Runtime, envKey(env), tagsJSON(env.Tags), "", "main", "",
		bag.Success(), false, 0.0, msUTC(bag.Receipt.Time), bag.Receipt.ClientIP, t.Tests, t.Pass, t.Fail, t.Error, t.Skip, t.XFail, t.XPass, t.Flaky, t.Attempts, string(ci)).Scan(&rid)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	for _, tag := range env.Tags {
		if _, err := tx.ExecContext(ctx, rawSQL(s.dialect, "INSERT INTO result_tags (result_id, tag) VALUES (?,?)"), rid, tag); err != nil {
			return err
		}
	}
	ids := map[identity]int64{}
	for i := range bag.Steps {
		st := &bag.Steps[i]
		var sid int64
		err = tx.QueryRowContext(ctx, rawSQL(s.dialect, `INSERT INTO steps (result_id, idx, type, name, command, status, output, errout, duration, format, incomplete, extra)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`), rid, i, st.Type, st.Name, st.Command, st.Status, st.Output, st.Errout, st.Duration, st.Format, st.Incomplete, nil).Scan(&sid)
		if err != nil {
			return fmt.Errorf("steps: %w", err)
		}
		var keys []identity
		var targs []any
		for _, tr := range st.Tests {
			k := identity{tr.Suite, tr.Name}
			if _, ok := ids[k]; !ok {
				ids[k] = 0
				keys = append(keys, k)
				targs = append(targs, env.Package, k.suite, k.name)
			}
		}
		if err := multiInsert(ctx, s, tx, "INSERT INTO tests (package, suite, name)", " ON CONFLICT (package, suite, name) DO NOTHING", 3, targs); err != nil {
			return fmt.Errorf("tests: %w", err)
		}
		per := (s.maxParams() - 1) / 2
		for lo := 0; lo < len(keys); lo += per {
			part := keys[lo:min(lo+per, len(keys))]
			args := []any{env.Package}
			for _, k := range part {
				args = append(args, k.suite, k.name)
			}
			q := "SELECT id, suite, name FROM tests WHERE package = ? AND (suite, name) IN (VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", len(part)), ",") + ")"
			rows, err := tx.QueryContext(ctx, rawSQL(s.dialect, q), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var k identity
				if err := rows.Scan(&id, &k.suite, &k.name); err != nil {
					rows.Close()
					return err
				}
				ids[k] = id
			}
			rows.Close()
		}
		_, byKey := st.Verdicts()
		vargs := make([]any, 0, len(st.Tests)*verdictColumns)
		for j, tr := range st.Tests {
			vd := byKey[tr.Key()]
			final := vd.Final == j
			attempts, flake := 0, false
			if final {
				attempts, flake = vd.Attempts, vd.RetryFlake
			}
			vargs = append(vargs, rid, sid, ids[identity{tr.Suite, tr.Name}], j, tr.Attempt, string(tr.Status), tr.Duration, tr.Message, tr.Output, tr.File, tr.Line,
				propertiesJSON(tr.Properties), final, attempts, flake)
		}
		if err := multiInsert(ctx, s, tx, "INSERT INTO verdicts (result_id, step_id, test_id, idx, attempt, status, duration, message, output, file, line, properties, final, attempts, retry_flake)", "", verdictColumns, vargs); err != nil {
			return fmt.Errorf("verdicts: %w", err)
		}
	}
	return tx.Commit()
}

// BenchmarkResultsPage reads pages of Results of a package holding 10,000
// results (in 8 environments, 3 tags): the first page, a page deep in the
// list (cursor), and a filtered page (host and tag).
func BenchmarkResultsPage(b *testing.B) {
	for _, st := range benchStores(b) {
		if st.driver != "" {
			continue
		}
		b.Run(st.name, func(b *testing.B) {
			s := openTestStore(b, newTestDSN(b, st.dialect), Options{Migrate: true, SlowQuery: -1})
			ctx := context.Background()
			db, _ := s.w.DB()
			for i := 0; i < 10_000; i++ {
				env := aggregator.Env{Package: "gin", Host: fmt.Sprintf("h%d", i%8), Arch: "amd64", Tags: []string{fmt.Sprintf("t%d", i%3)}}
				bag := newBag(env, "main", pony.Step{Type: "test", Name: "t", Tests: []pony.TestResult{{Name: "TestA", Status: pony.StatusPass}}})
				if err := rawInsert(ctx, s, db, bag, ""); err != nil {
					b.Fatal(err)
				}
			}
			deep, err := s.Results(ctx, aggregator.ResultFilter{Package: "gin", Limit: 500})
			if err != nil {
				b.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				f    aggregator.ResultFilter
			}{
				{"first", aggregator.ResultFilter{Package: "gin", Limit: 50}},
				{"deep", aggregator.ResultFilter{Package: "gin", Limit: 50, Before: deep.Next}},
				{"host+tag", aggregator.ResultFilter{Package: "gin", Limit: 50, Host: "h3", Tags: []string{"t1"}}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					start := time.Now()
					for i := 0; i < b.N; i++ {
						p, err := s.Results(ctx, tc.f)
						if err != nil || len(p.Results) != 50 {
							b.Fatalf("got %d results, %v; want 50", len(p.Results), err)
						}
					}
					b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/page")
				})
			}
		})
	}
}
