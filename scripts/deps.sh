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
