#!/usr/bin/env bash
# Measures the peak RSS of `pony-report parse` on the large generated inputs
# of BENCHMARKS.md, beside a baseline in the same run: the same number of
# tests with 20 more lines of output per passing test. Peak RSS must follow
# the tests kept, not the passing tests' chatter. A second table gives the
# same JUnit report with one passing testcase's <system-out> grown to tens
# and hundreds of MiB: one text node the decoder must stream, not hold.
#
#   bash scripts/peak-rss.sh            # prints two Markdown tables
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

# One passing testcase's <system-out> (the first, "ok &amp; done") grown to
# n MiB of log lines, in the same 50,000-testcase JUnit report.
"$tmp/benchgen" -format junit -n 50000 -o "$tmp/in"
at=$(grep -n -m1 '<system-out>ok &amp; done</system-out>' "$tmp/in" | cut -d: -f1)
echo
echo "| JUnit, 50000 testcases, one passing testcase's \`<system-out>\` of | input | bag JSON kept | peak RSS | \`cat\` |"
echo "|---|---:|---:|---:|---:|"
for n in 0 33 135; do
  {
    head -n $((at - 1)) "$tmp/in"
    printf '      <system-out>'
    { yes '    cache lookup for item 42: hit, nothing to see here' || true; } | head -c $((n << 20))
    printf '</system-out>\n'
    tail -n +$((at + 1)) "$tmp/in"
  } >"$tmp/huge"
  a=$(peak "$tmp/pony-report" parse --package bench "$tmp/huge")
  c=$(peak cat "$tmp/huge")
  "$tmp/pony-report" parse --package bench "$tmp/huge" >"$tmp/bag.json" 2>/dev/null || true
  echo "| $n MiB | $(mib "$tmp/huge") MiB | $(mib "$tmp/bag.json") MiB | $a MiB | $c MiB |"
done
