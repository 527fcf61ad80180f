#!/usr/bin/env bash
# Helpers that install what the tests need from Debian's packages when it is
# missing. Sourced by scripts/test.sh; works as root (CI) or with sudo.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "deps: need root or sudo to run: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_go() {
  if ! command -v go >/dev/null; then
    if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
      echo "deps: Go is not installed (https://go.dev/dl/); go.mod says which version" >&2; exit 1; fi
  fi
}

need_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "deps: installing nodejs and npm from Debian" >&2
    apt_install nodejs npm
  fi
}

need_python3() {
  # The end-to-end test talks to /xmlrpc with Python's own xmlrpc.client.
  if ! command -v python3 >/dev/null || ! python3 -c 'import xmlrpc.client' 2>/dev/null; then
    echo "deps: installing python3 from Debian" >&2
    apt_install python3
  fi
}

# pg_bindir prints the directory of the newest PostgreSQL server binaries
# (initdb, postgres, pg_ctl), or fails.
pg_bindir() {
  local d
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null && command -v postgres >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

need_postgres() {
  # The store, durability and two-replica tests run on a throwaway
  # PostgreSQL cluster (scripts/pg.sh).
  if ! pg_bindir >/dev/null; then
    echo "deps: installing postgresql from Debian" >&2
    apt_install postgresql
  fi
}

# chromium_path prints the path of a Chromium binary, or fails.
chromium_path() {
  local c
  for c in "${PONY_CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null; then command -v "$c"; return; fi
  done
  return 1
}

need_chromium() {
  # The web pages' real-browser test (web/browsertest) drives headless
  # Chromium from Debian's chromium package, found through PONY_CHROMIUM.
  if ! chromium_path >/dev/null; then
    echo "deps: installing chromium from Debian" >&2
    apt_install chromium
  fi
  PONY_CHROMIUM=$(chromium_path)
  export PONY_CHROMIUM
}

need_runners() {
  # internal/e2e runs the examples' real test runners through
  # `pony-report run`: pytest (python3-pytest) and perl's prove; node comes
  # from need_node, go test is here.
  local pkgs=()
  command -v pytest >/dev/null || pkgs+=(python3-pytest)
  command -v prove >/dev/null || pkgs+=(perl)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "deps: installing ${pkgs[*]} from Debian" >&2
    apt_install "${pkgs[@]}"
  fi
}
