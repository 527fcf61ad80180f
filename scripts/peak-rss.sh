#!/usr/bin/env bash
# Measures the peak RSS of `pony-report parse` on the large generated inputs
# of BENCHMARKS.md, beside a baseline in the same run: the same number of
# tests with 20 more lines of output per passing test. Peak RSS must follow
# the tests kept, not the passing tests' chatter.
#
#   bash scripts/peak-rss.sh            # prints a Markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pony-report" ./cmd/pony-report
go build -o "$tmp/benchgen" ./scripts/benchgen

peak() { # prints the peak RSS in MiB of the command
  /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
  echo "$(( $(tail -n 1 "$tmp/rss") / 1024 ))"
}
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo "| format | tests | input | bag JSON kept | peak RSS | input, +20 lines per passing test | peak RSS | \`cat\` |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for spec in gotest:40000 junit:50000 tap:50000; do
  f=${spec%%:*} n=${spec##*:}
  "$tmp/benchgen" -format "$f" -n "$n" -o "$tmp/in"
  "$tmp/benchgen" -format "$f" -n "$n" -passing-output 20 -o "$tmp/chatty"
  a=$(peak "$tmp/pony-report" parse --package bench "$tmp/in")
  b=$(peak "$tmp/pony-report" parse --package bench "$tmp/chatty")
  c=$(peak cat "$tmp/chatty")
  "$tmp/pony-report" parse --package bench "$tmp/in" >"$tmp/bag.json" 2>/dev/null || true
  echo "| $f | $n | $(mib "$tmp/in") MiB | $(mib "$tmp/bag.json") MiB | $a MiB | $(mib "$tmp/chatty") MiB | $b MiB | $c MiB |"
done
