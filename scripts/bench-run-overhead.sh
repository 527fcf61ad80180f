#!/usr/bin/env bash
# The overhead of `pony-report run -- go test -json PKGS` over plain
# `go test -json PKGS`: wall time and CPU time (user + system, children
# included), side by side in one run, alternating which goes first.
#
#   bash scripts/bench-run-overhead.sh            # N=7 rounds over this module's packages
#   N=3 PKGS='./junit/...' bash scripts/bench-run-overhead.sh
#
# Three ways in each round, all with -count=1 (no cached test results):
#   plain    go test -json -count=1 PKGS > /dev/null
#   live     pony-report run -- go test -json … : live reporting to a local
#            pony-server (SQLite, loopback), the bag finished there
#   dry-run  pony-report run --dry-run -- go test -json … : the parse and the
#            bag without any sending
# It prints every sample and the medians, and the ratios of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-7}
PKGS=${PKGS:-. ./client/ ./reporters/... ./aggregator/ ./junit/}

work=$(mktemp -d "${TMPDIR:-/tmp}/pony-overhead.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/" ./cmd/pony-report ./cmd/pony-server
"$work/pony-server" --addr 127.0.0.1:0 --db "$work/pony.db" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
server=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/server.out" | head -1)
[ -n "$server" ] || { cat "$work/server.err" >&2; exit 1; }

# One warm-up of each, so that the build cache holds every package.
# shellcheck disable=SC2086
go test -json -count=1 $PKGS >/dev/null || true

export PONY_SPOOL_DIR="$work/spool"
TIMEFORMAT='%R %U %S'
# sample NAME CMD... appends "wall cpu" of one run to $work/NAME.
sample() {
  local name=$1 t
  shift
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || true
  # shellcheck disable=SC2086
  set -- $t
  awk -v w="$1" -v u="$2" -v s="$3" 'BEGIN {printf "%s %.2f\n", w, u + s}' >>"$work/$name"
}
plain() { sample plain go test -json -count=1 $PKGS; }
live() { sample live "$work/pony-report" run --server "$server" --package overhead --progress never -- go test -json -count=1 $PKGS; }
dry() { sample dry-run "$work/pony-report" run --dry-run --package overhead --progress never -- go test -json -count=1 $PKGS; }

echo "packages: $PKGS; $N rounds; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$N"); do
  case $((i % 3)) in
  0) plain; live; dry ;;
  1) live; dry; plain ;;
  2) dry; plain; live ;;
  esac
  echo "round $i: plain $(tail -1 "$work/plain")  live $(tail -1 "$work/live")  dry-run $(tail -1 "$work/dry-run")   (wall s, cpu s)"
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
for w in plain live dry-run; do
  printf '%s %s %s\n' "$w" "$(cut -d' ' -f1 "$work/$w" | median)" "$(cut -d' ' -f2 "$work/$w" | median)"
done >"$work/medians"
awk '
  {wall[$1]=$2; cpu[$1]=$3}
  END {
    printf "median          wall s   cpu s\n"
    for (k in wall) printf "%-12s %8.3f %8.3f\n", k, wall[k], cpu[k]
    printf "live / plain:    wall %+.1f%%   cpu %+.1f%%\n", (wall["live"]/wall["plain"]-1)*100, (cpu["live"]/cpu["plain"]-1)*100
    printf "dry-run / plain: wall %+.1f%%   cpu %+.1f%%\n", (wall["dry-run"]/wall["plain"]-1)*100, (cpu["dry-run"]/cpu["plain"]-1)*100
  }' "$work/medians"
# What pony-report itself costs, without go test's noise: the same stream
# (one go test -json run of PKGS, recorded) replayed by a stand-in `go`
# that cats it, so that pony-report treats the command as go test (it asks
# only the go on PATH for its version), plain and through pony-report run
# (live, to the same server), 20 times each.
# shellcheck disable=SC2086
go test -json -count=1 $PKGS >"$work/stream.json" 2>/dev/null || true
mkdir "$work/replay"
printf '#!/bin/sh\nexec cat "%s"\n' "$work/stream.json" >"$work/replay/go"
chmod +x "$work/replay/go"
for i in $(seq 1 20); do
  # shellcheck disable=SC2086
  sample replay-plain "$work/replay/go" test -json -count=1 $PKGS
  # shellcheck disable=SC2086
  sample replay-live "$work/pony-report" run --server "$server" --package overhead-replay --progress never -- "$work/replay/go" test -json -count=1 $PKGS
done
awk -v bytes="$(wc -c <"$work/stream.json")" -v plain_cpu="$(cut -d' ' -f2 "$work/plain" | median)" '
  FNR == 1 {f++}
  f == 1 {pw += $1; pc += $2; n1++}
  f == 2 {lw += $1; lc += $2; n2++}
  END {
    printf "replay of the recorded stream (%d bytes), mean of %d: go (cat) %.3f s wall %.3f s cpu; pony-report run -- go (cat) %.3f s wall %.3f s cpu\n", bytes, n1, pw/n1, pc/n1, lw/n2, lc/n2
    printf "pony-report'"'"'s own cost per run: %.3f s wall, %.3f s cpu = %.1f%% of plain go test'"'"'s median cpu\n", lw/n2 - pw/n1, lc/n2 - pc/n1, (lc/n2 - pc/n1) / plain_cpu * 100
  }' "$work/replay-plain" "$work/replay-live"
echo "results stored on the server: $(curl -fsS "$server/api/v1/packages/overhead/results?limit=500" | grep -o '"result_key"' | wc -l) (want $N), replays $(curl -fsS "$server/api/v1/packages/overhead-replay/results?limit=500" | grep -o '"result_key"' | wc -l) (want 20)"
