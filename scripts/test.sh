#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first.
# This is README's test command, and what CI runs (.ci/run calls it).
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh ./junit/   # extra arguments go to `go test`
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
need_go
need_node
need_python3
need_runners
need_postgres
need_chromium
echo "== Chromium for the browser test: $PONY_CHROMIUM"

# The store, end-to-end, durability and two-replica tests run on PostgreSQL
# too: a throwaway cluster, stopped at exit, unless PONY_TEST_POSTGRES_DSN
# already names a database to use. (In CI, with CI set, those tests fail
# rather than skip when no PostgreSQL is given.)
if [ -z "${PONY_TEST_POSTGRES_DSN:-}" ]; then
  pg_out=$(bash scripts/pg.sh start)
  PONY_PG_DIR=$(printf '%s\n' "$pg_out" | sed -n 's/^PONY_PG_DIR=//p' | tail -n 1)
  PONY_TEST_POSTGRES_DSN=$(printf '%s\n' "$pg_out" | sed -n 's/^PONY_TEST_POSTGRES_DSN=//p' | tail -n 1)
  if [ -z "$PONY_TEST_POSTGRES_DSN" ] || [ -z "$PONY_PG_DIR" ]; then
    printf '%s\n' "$pg_out" >&2
    echo "scripts/test.sh: scripts/pg.sh start did not print PONY_TEST_POSTGRES_DSN= and PONY_PG_DIR=" >&2
    exit 1
  fi
  trap 'bash scripts/pg.sh stop "$PONY_PG_DIR" >/dev/null 2>&1 || true' EXIT
  export PONY_TEST_POSTGRES_DSN
  echo "== PostgreSQL for the tests: $PONY_TEST_POSTGRES_DSN"
fi

# The TAP parser's counts are checked live against npm's tap-parser, the reference implementation.
(cd scripts/tap-reference && npm ci --no-audit --no-fund --loglevel=error)
export PONY_TAP_PARSER_DIR="$PWD/scripts/tap-reference"

# The parsers' tests read ../shared/fixtures in place; they fail if it is missing.
if [ ! -d ../shared/fixtures ]; then
  echo "scripts/test.sh: ../shared/fixtures is missing (set PONY_NO_SHARED_FIXTURES=1 to run without it)" >&2
fi

echo "== go vet"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "== go test"
if [ $# -gt 0 ]; then
  go test -count=1 "$@"
else
  go test -count=1 ./...
fi
