#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL cluster for the store tests and
# benchmarks (aggregator/gormstore), on loopback and a free port.
#
#   eval "$(bash scripts/pg.sh start)"   # sets PONY_TEST_POSTGRES_DSN and PONY_PG_DIR
#   go test ./aggregator/gormstore/
#   bash scripts/pg.sh stop "$PONY_PG_DIR"
#
# `start` installs Debian's postgresql with apt-get when initdb is missing
# (as root or with sudo), creates a cluster in a new temporary directory with
# trust authentication for the user "pony", starts it, waits until it accepts
# connections and prints two lines:
#
#   PONY_TEST_POSTGRES_DSN=postgres://pony@127.0.0.1:PORT/postgres?sslmode=disable
#   PONY_PG_DIR=/tmp/pony-pg.XXXXXX
#
# PostgreSQL refuses to run as root; as root the server runs in a user
# namespace where we are uid 1000 (`unshare --user --map-user=1000`), so no
# system account is needed. As an ordinary user it runs as that user.
# `stop DIR` stops the server and removes DIR.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root or sudo to run: $*"; fi
}

# pg_bin prints the directory holding initdb and postgres, or nothing.
pg_bin() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; fi
}

# as_pg runs a PostgreSQL program: as root inside a user namespace, else as is.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    unshare --user --map-user=1000 --map-group=1000 "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local bin
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    echo "pg.sh: initdb not found; installing Debian's postgresql" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bin)
    [ -n "$bin" ] || die "initdb still not found after installing postgresql"
  fi

  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pony-pg.XXXXXX")
  port=$(free_port)
  # The server writes its socket and lock file in $dir; the data directory
  # itself is created by initdb with mode 0700.
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U pony -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }
  # setsid: the server outlives this script and the shell that ran it.
  local prefix=()
  if [ "$(id -u)" = 0 ]; then prefix=(unshare --user --map-user=1000 --map-group=1000); fi
  setsid "${prefix[@]}" "$bin/postgres" -D "$dir/data" -c port="$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$dir" -c max_connections=200 \
    >"$dir/postgres.log" 2>&1 </dev/null &
  echo $! >"$dir/launcher.pid"

  local i
  for i in $(seq 1 150); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U pony; then
      echo "PONY_TEST_POSTGRES_DSN=postgres://pony@127.0.0.1:$port/postgres?sslmode=disable"
      echo "PONY_PG_DIR=$dir"
      return
    fi
    if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then
      cat "$dir/postgres.log" >&2
      die "postgres exited at start (log above)"
    fi
    sleep 0.2
  done
  cat "$dir/postgres.log" >&2
  die "postgres did not accept connections within 30 s (log above)"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] && [ -d "$dir/data" ] || die "usage: pg.sh stop DIR (the PONY_PG_DIR that start printed)"
  local pid=""
  if [ -f "$dir/data/postmaster.pid" ]; then pid=$(head -1 "$dir/data/postmaster.pid"); fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" # fast shutdown: roll back open transactions, stop now
    local i
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: pg.sh start | pg.sh stop DIR" ;;
esac
