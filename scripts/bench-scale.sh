#!/usr/bin/env bash
# The scale benchmark of issue 4 (BENCHMARKS.md, "Matrix and flakiness at
# scale"): a generated history of 2,000 results × 1,000 tests across 24
# environments ingested through Store.CreateResult into two stores per
# dialect, with and without the upkeep of the test states, then the matrix,
# TestStates and the flaky ranking timed over 50 calls each. SQLite always;
# PostgreSQL on PONY_TEST_POSTGRES_DSN, or on a throwaway cluster that this
# script starts with scripts/pg.sh and stops afterwards. Not run in CI.
#
#   bash scripts/bench-scale.sh            # full size (about 15 to 20 minutes on 2 cores)
#   PONY_SCALE_RESULTS=200 bash scripts/bench-scale.sh   # a quick look
#
# Lines starting with SCALE carry the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
started=""
if [ -z "${PONY_TEST_POSTGRES_DSN:-}" ]; then
  eval "$(bash scripts/pg.sh start)"
  export PONY_TEST_POSTGRES_DSN
  started="$PONY_PG_DIR"
  trap 'bash scripts/pg.sh stop "$started"' EXIT
fi
PONY_SCALE_BENCH=1 go test -count=1 -timeout 3h -run '^TestScale$' -v ./aggregator/gormstore/ | grep -E '^(SCALE|--- |ok|FAIL|PASS)|results: with'
