#!/bin/sh
# generate.sh regenerates the real `go test -json` inputs in this folder by
# running the Go toolchain (and gotestsum) on small throwaway modules built
# from the heredocs below, and on a few real public modules from the module
# cache. Run it from anywhere; it needs go ≥ 1.25 (t.Attr) and the Go module
# proxy (for gotestsum and the public modules):
#
#	sh reporters/testdata/gotest/generate.sh
#
# then refresh the goldens and READ their diff:
#
#	go test ./reporters -run TestGolden/gotest -update
set -u
OUT=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/pony-gotest-gen.XXXXXX)
trap 'rm -rf "$W"' EXIT
export GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
go version

mkmod() { # mkmod DIR MODULE
	mkdir -p "$1" && printf 'module %s\n\ngo 1.25\n' "$2" >"$1/go.mod"
}

# --- 1. the everyday cases: pass, fail, skip, nested and parallel subtests,
# t.Log, Skipf, t.Attr, a multi-line error, fmt.Println in the middle,
# examples passing and failing, and a package with no test files.
M=$W/everyday
mkmod "$M" example.com/everyday
mkdir -p "$M/calc" "$M/notests"
cat >"$M/calc/calc.go" <<'EOF'
package calc

// Add adds.
func Add(a, b int) int { return a + b }

// Div divides.
func Div(a, b int) int { return a / b }
EOF
cat >"$M/notests/notests.go" <<'EOF'
package notests

// X is here so the package has a file.
const X = 1
EOF
cat >"$M/calc/calc_test.go" <<'EOF'
package calc

import (
	"fmt"
	"testing"
	"time"
)

func TestPassing(t *testing.T) {
	t.Log("all good")
	if Add(1, 1) != 2 {
		t.Fatal("maths is broken")
	}
}

func TestFailing(t *testing.T) {
	t.Log("about to fail")
	fmt.Println("a stray Println in the middle of the output")
	if got := Add(1, 1); got != 3 {
		t.Errorf("Add(1, 1): got %d, want 3", got)
	}
	t.Errorf("second problem:\nline one\nline two")
}

func TestSkipped(t *testing.T) {
	t.Skipf("needs a database (set DB_URL=%q)", "")
}

func TestSkipNow(t *testing.T) {
	t.SkipNow()
}

func TestAttrs(t *testing.T) {
	t.Attr("owner", "calc-team")
	t.Attr("issue", "PONY-42")
	t.Run("sub", func(t *testing.T) {
		t.Attr("kind", "subtest")
	})
}

func TestNested(t *testing.T) {
	for _, tc := range []struct{ a, b, want int }{{1, 2, 3}, {2, 3, 4}, {4, 7, 11}} {
		t.Run(fmt.Sprintf("%d+%d", tc.a, tc.b), func(t *testing.T) {
			t.Run("deeper", func(t *testing.T) {
				if got := Add(tc.a, tc.b); got != tc.want {
					t.Errorf("got %d, want %d", got, tc.want)
				}
			})
		})
	}
}

func TestParallel(t *testing.T) {
	for _, name := range []string{"one", "two", "three"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			time.Sleep(10 * time.Millisecond)
			t.Logf("%s done", name)
			if name == "two" {
				t.Error("two is unlucky")
			}
		})
	}
}

func TestHelperFailure(t *testing.T) {
	check(t, 1, 2)
}

func check(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
}

func ExampleAdd() {
	fmt.Println(Add(2, 2))
	// Output: 4
}

func ExampleDiv() {
	fmt.Println(Div(7, 2))
	// Output: 3.5
}
EOF
(cd "$M" && go test -json ./... >"$OUT/everyday.json")

# --- 2. a TestMain that exits 1 after its tests passed.
M=$W/testmain
mkmod "$M" example.com/testmain
cat >"$M/main_test.go" <<'EOF'
package testmain

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Println("teardown: could not drop the test database")
	if code == 0 {
		code = 1
	}
	os.Exit(code)
}

func TestOne(t *testing.T) {}
func TestTwo(t *testing.T) { t.Log("fine") }
EOF
(cd "$M" && go test -json . >"$OUT/testmain_exit.json")

# --- 3. a panic inside a test, after a passing one.
M=$W/panictest
mkmod "$M" example.com/panictest
cat >"$M/p_test.go" <<'EOF'
package panictest

import "testing"

func TestFine(t *testing.T) {}

func TestPanics(t *testing.T) {
	t.Run("inner", func(t *testing.T) {
		var m map[string]int
		m["boom"] = 1
	})
}

func TestNeverRuns(t *testing.T) {}
EOF
(cd "$M" && go test -json . >"$OUT/panic_in_test.json")

# --- 4. a panic in init: no test runs at all.
M=$W/panicinit
mkmod "$M" example.com/panicinit
cat >"$M/p_test.go" <<'EOF'
package panicinit

import "testing"

func init() { panic("init: missing configuration") }

func TestNeverRuns(t *testing.T) {}
EOF
(cd "$M" && go test -json . >"$OUT/panic_in_init.json")

# --- 5. build failures: a type error in a test file, a missing import
# (setup failed), beside a package that builds and passes.
M=$W/buildfail
mkmod "$M" example.com/buildfail
mkdir -p "$M/good" "$M/bad" "$M/setup"
cat >"$M/good/g_test.go" <<'EOF'
package good

import "testing"

func TestGood(t *testing.T) {}
EOF
cat >"$M/bad/b.go" <<'EOF'
package bad

// N is a number.
var N = 1
EOF
cat >"$M/bad/b_test.go" <<'EOF'
package bad

import "testing"

func TestBad(t *testing.T) {
	var s string = N
	_ = undefinedThing
	t.Log(s)
}
EOF
cat >"$M/setup/s_test.go" <<'EOF'
package setup

import (
	"testing"

	"example.com/buildfail/doesnotexist"
)

func TestSetup(t *testing.T) { doesnotexist.F() }
EOF
(cd "$M" && go test -json ./... >"$OUT/build_failed.json" 2>"$W/build_failed.stderr")
# The same failure with stderr merged in, as `go test -json ./... 2>&1 | pony-report send` sees it.
(cd "$M" && go test -json ./... >"$OUT/build_failed_merged.json" 2>&1)
# Before go1.24 (and with GODEBUG=gotestjsonbuildtext=1) build errors were
# plain text on stderr and "FAIL pkg [build failed]" a plain line on stdout.
(cd "$M" && GODEBUG=gotestjsonbuildtext=1 go test -json ./... >"$OUT/build_failed_text.json" 2>&1)

# --- 6. a timeout while a test sleeps, with a parallel test running too.
M=$W/timeout
mkmod "$M" example.com/timeout
cat >"$M/t_test.go" <<'EOF'
package timeout

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

func TestSleepy(t *testing.T) {
	t.Log("waiting for a server that never answers")
	time.Sleep(time.Minute)
}

func TestParallelSleepy(t *testing.T) {
	t.Run("p", func(t *testing.T) {
		t.Parallel()
		time.Sleep(time.Minute)
	})
}
EOF
(cd "$M" && go test -json -timeout 2s . >"$OUT/timeout.json")

# --- 7. -count=3 with a test that fails only on its first run.
M=$W/count
mkmod "$M" example.com/count
cat >"$M/c_test.go" <<'EOF'
package count

import "testing"

var runs int

func TestFlakyOnce(t *testing.T) {
	runs++
	if runs == 1 {
		t.Fatalf("first run fails (run %d)", runs)
	}
}

func TestSteady(t *testing.T) {
	t.Run("sub", func(t *testing.T) {})
}
EOF
(cd "$M" && go test -json -count=3 . >"$OUT/count3.json")

# --- 8. benchmarks (-bench . -benchtime 1x -benchmem): passing, failing,
# skipped, with sub-benchmarks, beside a test.
M=$W/bench
mkmod "$M" example.com/bench
cat >"$M/b_test.go" <<'EOF'
package bench

import (
	"strings"
	"testing"
)

func TestPlain(t *testing.T) {}

func BenchmarkJoin(b *testing.B) {
	parts := []string{"a", "b", "c"}
	for i := 0; i < b.N; i++ {
		_ = strings.Join(parts, ",")
	}
}

func BenchmarkSizes(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(strings.Repeat("x", n%7+1), func(b *testing.B) {
			b.ReportMetric(float64(n), "items/op")
			for i := 0; i < b.N; i++ {
				_ = make([]byte, n)
			}
		})
	}
}

func BenchmarkBroken(b *testing.B) {
	b.Fatal("benchmark setup failed")
}

func BenchmarkSkipped(b *testing.B) {
	b.Skip("needs a GPU")
}
EOF
(cd "$M" && go test -json -bench . -benchtime 1x -benchmem . >"$OUT/bench.json")

# --- 9. gotestsum --rerun-fails on a test that fails the first time only
# (a marker file survives between runs), plus one that always fails.
M=$W/rerun
mkmod "$M" example.com/rerun
cat >"$M/r_test.go" <<'EOF'
package rerun

import (
	"os"
	"testing"
)

func TestFlaky(t *testing.T) {
	marker := os.Getenv("FLAKY_MARKER")
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, nil, 0o644)
		t.Fatal("flaky: first attempt fails")
	}
}

func TestAlwaysFails(t *testing.T) { t.Error("broken for good") }

func TestStable(t *testing.T) {}
EOF
(cd "$M" && FLAKY_MARKER=$W/flaky.marker go run gotest.tools/gotestsum@v1.13.0 \
	--format standard-quiet --jsonfile "$OUT/gotestsum_rerun_fails.json" --rerun-fails=2 --packages ./... >/dev/null)

# --- 10. real public modules from the module cache, run from a module that
# requires them; the second shlex run is "(cached)".
M=$W/real
mkmod "$M" example.com/real
cat >"$M/deps.go" <<'EOF'
package real

import (
	_ "github.com/google/shlex"
	_ "golang.org/x/mod/semver"
	_ "golang.org/x/sync/errgroup"
)
EOF
(cd "$M" && go get github.com/google/shlex@v0.0.0-20191202100458-e7afc7fbc510 golang.org/x/mod@v0.27.0 golang.org/x/sync@v0.17.0 >/dev/null 2>&1 &&
	go test -json github.com/google/shlex >"$OUT/real_shlex.json" &&
	go test -json github.com/google/shlex golang.org/x/mod/semver >"$OUT/real_cached.json" &&
	go test -json -short golang.org/x/sync/errgroup golang.org/x/sync/semaphore golang.org/x/sync/singleflight >"$OUT/real_xsync.json")

ls -l "$OUT"
