#!/usr/bin/env bash
# Runs one of pony-report's examples against a pony-server, in one command:
#
#   bash examples/try.sh go           # go test through pony-report run
#   bash examples/try.sh gotestsum    # gotestsum --rerun-fails: a retry flake
#   bash examples/try.sh pytest       # pytest --junitxml
#   bash examples/try.sh prove        # perl's prove -v (TAP)
#   bash examples/try.sh node         # node --test (TAP)
#   bash examples/try.sh maven        # Maven Surefire with reruns (JUnit XML)
#   bash examples/try.sh steps        # pony.yaml: setup, build and test steps (the cron job's)
#   bash examples/try.sh cron         # the nightly cron job itself (cron/nightly.sh): flush, then the steps
#   bash examples/try.sh github-actions | gitlab-ci   # each CI job's test step (Go and Python), with its variables
#   bash examples/try.sh all          # every one of them
#
# With PONY_SERVER set to a server that answers, the results go there. Otherwise
# the script builds pony-server, starts it on a free port with a fresh SQLite
# database under a temporary directory, and stops it at the end (KEEP=1 keeps
# it running and says where). Each example's own exit status is printed: most
# of them have a failing test on purpose, so "exit 1" is expected.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="$repo/bin"
work="$(mktemp -d "${TMPDIR:-/tmp}/pony-examples.XXXXXX")"
server_pid=""

cleanup() {
  if [ -n "$server_pid" ] && [ "${KEEP:-}" != 1 ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

build() {
  (cd "$repo" && go build -o "$bin/" ./cmd/pony-report ./cmd/pony-server)
  export PATH="$bin:$PATH"
}

start_server() {
  if [ -n "${PONY_SERVER:-}" ] && curl -fsS "$PONY_SERVER/healthz" >/dev/null 2>&1; then
    say "using the server at $PONY_SERVER"
    return
  fi
  "$bin/pony-server" --addr 127.0.0.1:0 --db "$work/pony.db" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    if grep -q 'listening on' "$work/server.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  PONY_SERVER="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/server.out" | head -1)"
  if [ -z "$PONY_SERVER" ]; then
    echo "pony-server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  export PONY_SERVER
  say "pony-server started at $PONY_SERVER (database $work/pony.db)"
}

# run NAME DIR CMD... runs CMD in examples/DIR and reports its exit status.
run() {
  local name="$1" dir="$2"
  shift 2
  say "$name: (cd examples/$dir && $*)"
  local code=0
  (cd "$here/$dir" && "$@") || code=$?
  say "$name: exit $code"
}

# Every example reports under its own package name and a state directory of
# its own, so that the flaky tests fail once and pass on their rerun.
export PONYDEMO_STATE="$work"

example() {
  case "$1" in
  go)
    run go go pony-report run --package ponydemo-go -- go test ./...
    ;;
  gotestsum)
    # gotestsum prints its own summary; the JSON events, reruns included,
    # come from the --jsonfile it names, read after it exits.
    run gotestsum go pony-report run --package ponydemo-gotestsum -- \
      go run gotest.tools/gotestsum@v1.13.0 --rerun-fails --packages ./... --jsonfile gotestsum.json
    ;;
  pytest)
    need pytest
    # The report pytest's --junitxml names is read after it exits.
    run pytest pytest pony-report run --package ponydemo-pytest -- \
      pytest -o junit_family=xunit2 --junitxml=report.xml tests
    ;;
  prove)
    need prove
    run prove prove pony-report run --package ponydemo-prove -- prove -v t/
    ;;
  node)
    need node
    run node node pony-report run --package ponydemo-node -- node --test --test-reporter=tap test/
    ;;
  maven)
    need_maven
    local settings=()
    # Debian's packaged plugins work offline; elsewhere Maven downloads them.
    if [ -f /etc/maven/settings-debian.xml ] && [ -d /usr/share/maven-repo/org/apache/maven/plugins/maven-surefire-plugin ]; then
      settings=(-o -s /etc/maven/settings-debian.xml)
    fi
    # Surefire's reports are read where Maven writes them.
    run maven maven pony-report run --package ponydemo-maven -- \
      mvn -B -q "${settings[@]}" test
    ;;
  steps)
    run steps cron pony-report run --package ponydemo-steps --config pony.yaml
    ;;
  cron)
    # nightly.sh as cron would start it; GIT_DIR points nowhere so that its
    # `git pull` leaves this checkout alone (it says it is not updating).
    run cron cron env PONY_PACKAGE=ponydemo-nightly GIT_DIR="$work/no-git" sh nightly.sh
    ;;
  github-actions)
    # The variables GitHub's runner sets, so that client_info says what a real
    # job would: commit, branch, build URL, job. The workflow's two jobs:
    # Go (tests.yml's matrix, here the Go on PATH) and Python (pytest).
    local gh=(env GITHUB_ACTIONS=true GITHUB_SHA="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo 0000000)"
      GITHUB_REF=refs/heads/main GITHUB_REF_NAME=main GITHUB_REF_TYPE=branch GITHUB_SERVER_URL=https://github.com
      GITHUB_REPOSITORY=example/ponydemo GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=1 GITHUB_WORKFLOW=tests)
    run "github-actions go job" go "${gh[@]}" GITHUB_JOB=go \
      pony-report run --package ponydemo-ci --tag ci -- go test ./...
    need pytest
    run "github-actions python job" pytest "${gh[@]}" GITHUB_JOB=python \
      pony-report run --package ponydemo-ci-python -- pytest --junitxml=report.xml tests
    ;;
  gitlab-ci)
    local gl=(env GITLAB_CI=true CI_COMMIT_SHA="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo 0000000)"
      CI_COMMIT_REF_NAME=main CI_COMMIT_BRANCH=main CI_PROJECT_PATH=example/ponydemo CI_PROJECT_NAME=ponydemo)
    run "gitlab-ci go job" go "${gl[@]}" CI_JOB_URL=https://gitlab.example.com/example/ponydemo/-/jobs/77 CI_JOB_NAME=go \
      pony-report run --package ponydemo-ci --tag "$(go env GOVERSION)" -- go test ./...
    need pytest
    run "gitlab-ci python job" pytest "${gl[@]}" CI_JOB_URL=https://gitlab.example.com/example/ponydemo/-/jobs/78 CI_JOB_NAME=python \
      pony-report run --package ponydemo-ci-python -- pytest --junitxml=report.xml tests
    ;;
  *)
    echo "unknown example $1; see the top of $0" >&2
    exit 2
    ;;
  esac
}

need() {
  if ! command -v "$1" >/dev/null; then
    echo "$1 is not installed; on Debian: apt-get install $(case "$1" in pytest) echo python3-pytest ;; prove) echo perl ;; node) echo nodejs ;; mvn) echo maven ;; esac)" >&2
    exit 2
  fi
}

# need_maven makes sure Maven and the plugins the example needs are there:
# on Debian, as root, it installs Debian's packaged plugins, which work
# offline; elsewhere it needs mvn, which downloads them.
need_maven() {
  local plugins=/usr/share/maven-repo/org/apache/maven/plugins
  if command -v mvn >/dev/null && { [ ! -f /etc/debian_version ] || [ -d "$plugins/maven-surefire-plugin" ]; }; then
    return
  fi
  if [ -f /etc/debian_version ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing Maven and its Debian-packaged plugins (they work offline)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q maven maven-debian-helper libsurefire-java junit4 \
      libmaven-compiler-plugin-java libmaven-resources-plugin-java >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q maven maven-debian-helper \
        libsurefire-java junit4 libmaven-compiler-plugin-java libmaven-resources-plugin-java >/dev/null; }
    return
  fi
  need mvn
}

if [ $# -ne 1 ]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

build
start_server
if [ "$1" = all ]; then
  for e in go gotestsum pytest prove node maven steps cron github-actions gitlab-ci; do example "$e"; done
else
  example "$1"
fi

say "see the results at $PONY_SERVER/ (JSON: $PONY_SERVER/api/v1/packages)"
if [ -n "$server_pid" ] && [ "${KEEP:-}" = 1 ]; then
  say "the server keeps running (pid $server_pid); stop it with: kill $server_pid"
fi
