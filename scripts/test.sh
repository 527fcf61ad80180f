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
