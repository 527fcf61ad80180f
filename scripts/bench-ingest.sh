#!/usr/bin/env bash
# Measures end-to-end ingest into pony-server (BENCHMARKS.md, "Ingest end
# to end"), on SQLite and PostgreSQL, in ONE `go test` run beside its
# baselines:
#   - aggregator/gormstore BenchmarkRawInsert50k: the same 50,000 rows bulk
#     inserted through the same driver without GORM (the floor to compare
#     with), and BenchmarkCreateResult50k: Store.CreateResult alone;
#   - cmd/pony-server BenchmarkIngestService: Service.Ingest in-process;
#   - cmd/pony-server BenchmarkIngest: the bag POSTed over loopback HTTP to
#     the real pony-server binary (tests/s, request latency p50/p99);
#   - cmd/pony-server BenchmarkResultsList: GET /api/v1/packages/{pkg}/results
#     with 10,000 stored results (p50/p99), beside GET /healthz.
#
#   bash scripts/bench-ingest.sh                 # starts a throwaway PostgreSQL
#   PONY_TEST_POSTGRES_DSN=postgres://… bash scripts/bench-ingest.sh
#   BENCHTIME=5x bash scripts/bench-ingest.sh    # more iterations of the 50k ingest
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PONY_TEST_POSTGRES_DSN:-}" ]; then
  pg_out=$(bash scripts/pg.sh start)
  PONY_PG_DIR=$(printf '%s\n' "$pg_out" | sed -n 's/^PONY_PG_DIR=//p' | tail -n 1)
  PONY_TEST_POSTGRES_DSN=$(printf '%s\n' "$pg_out" | sed -n 's/^PONY_TEST_POSTGRES_DSN=//p' | tail -n 1)
  [ -n "$PONY_TEST_POSTGRES_DSN" ] || { printf '%s\n' "$pg_out" >&2; exit 1; }
  trap 'bash scripts/pg.sh stop "$PONY_PG_DIR" >/dev/null 2>&1 || true' EXIT
  export PONY_TEST_POSTGRES_DSN
fi

benchtime=${BENCHTIME:-3x}
# -p 1: one package at a time, so that the baselines and the server do not
# share the 2 cores with each other.
go test -p 1 -run '^$' -benchmem -benchtime "$benchtime" \
  -bench '^(BenchmarkRawInsert50k|BenchmarkCreateResult50k|BenchmarkIngestService|BenchmarkIngest)$' \
  ./aggregator/gormstore ./cmd/pony-server 2>&1 | grep -v '^time=' 
go test -run '^$' -benchtime 500x -bench '^BenchmarkResultsList$' ./cmd/pony-server 2>&1 | grep -v '^time='
