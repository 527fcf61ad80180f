#!/bin/sh
# Regenerates the real JUnit inputs in this folder by running real test
# runners on small sample suites written to a temporary directory.
#
#   sh reporters/testdata/junit/generate.sh        (from the repository root)
#
# Needs: Debian's python3-pytest, python3-nose2 and python3-xmlrunner
# (/usr/bin/python3), node >= 20 (its built-in junit reporter) and Go with
# access to the module proxy (gotestsum v1.13.0). Timings, paths and host
# names in the outputs change from run to run, so regenerating rewrites the
# goldens too: go test ./reporters -run TestGolden/junit -update, then review.
#
# surefire-2.22-reruns.xml is real Surefire 2.22.3 output (Debian's packaged
# Maven plugins, offline; see below). surefire-reruns.xml is NOT generated
# here: it is written by hand after Surefire 3's documented rerun output; see
# surefire-reruns.md.
set -eu
out=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---------- pytest: one suite, both junit families ----------
mkdir -p "$tmp/py" && cd "$tmp/py"
cat > conftest.py <<'EOF'
import pytest

@pytest.fixture
def broken_db():
    raise RuntimeError("database is not reachable")
EOF
cat > test_sample.py <<'EOF'
import sys
import pytest

def test_pass():
    assert 1 + 1 == 2

def test_fail():
    print("computing the answer")
    assert 6 * 7 == 41, "the answer is wrong"

def test_fixture_error(broken_db):
    pass

@pytest.mark.skip(reason="not on this platform")
def test_skip():
    pass

@pytest.mark.xfail(reason="bug 123")
def test_xfail():
    assert False

@pytest.mark.xfail(reason="bug 456 is fixed?")
def test_xpass():
    pass

@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass

@pytest.mark.parametrize("n,sq", [(2, 4), (3, 9), (4, 15)])
def test_square(n, sq):
    assert n * n == sq

def test_output(record_property):
    record_property("owner", "web-team")
    print("to stdout: <tag> & ünïcode")
    print("to stderr", file=sys.stderr)
    assert True

class TestGroup:
    def test_method(self):
        assert "pony".upper() == "PONY"
EOF
# xunit1 with every capture (log, stdout, stderr), xunit2 with stdout only.
for run in xunit1:all xunit2:system-out; do
  fam=${run%%:*} logging=${run#*:}
  $py -m pytest -p no:cacheprovider -q -o junit_family=$fam -o junit_suite_name=sample -o junit_logging=$logging \
    --junitxml="$out/pytest-$fam.xml" test_sample.py >/dev/null 2>&1 || true
done
# A collection error: pytest reports it as a testcase with an <error>.
cat > test_broken.py <<'EOF'
import not_a_module_that_exists

def test_never():
    pass
EOF
$py -m pytest -p no:cacheprovider -q --junitxml="$out/pytest-collection-error.xml" test_broken.py >/dev/null 2>&1 || true

# ---------- unittest via xmlrunner ----------
mkdir -p "$tmp/ut" && cd "$tmp/ut"
cat > test_calc.py <<'EOF'
import sys
import unittest

class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(2 + 2, 4)

    def test_sub(self):
        print("subtracting")
        self.assertEqual(5 - 3, 1)

    def test_div(self):
        1 / 0

    @unittest.skip("slow")
    def test_slow(self):
        pass

    @unittest.expectedFailure
    def test_known_bug(self):
        self.assertEqual(1, 2)

class OtherTest(unittest.TestCase):
    def test_ok(self):
        sys.stderr.write("warning: noisy\n")
EOF
$py -c 'import unittest, xmlrunner
suite = unittest.defaultTestLoader.discover(".")
with open("out.xml", "wb") as f:
    xmlrunner.XMLTestRunner(output=f, outsuffix="").run(suite)' >/dev/null 2>&1 || true
cp out.xml "$out/unittest-xmlrunner.xml"

# ---------- nose2 junit-xml plugin ----------
mkdir -p "$tmp/nose" && cd "$tmp/nose"
cp "$tmp/ut/test_calc.py" .
$py -m nose2 --plugin nose2.plugins.junitxml --junit-xml --junit-xml-path "$out/nose2.xml" >/dev/null 2>&1 || true

# ---------- node --test --test-reporter=junit ----------
mkdir -p "$tmp/node" && cd "$tmp/node"
cat > sample.test.mjs <<'EOF'
import { test, describe } from 'node:test';
import assert from 'node:assert';

describe('math', () => {
  test('adds', () => { assert.strictEqual(1 + 1, 2); });
  test('multiplies', () => { assert.strictEqual(6 * 7, 41); });
  test('skipped', { skip: 'no network' }, () => {});
  test('todo', { todo: 'later' }, () => { throw new Error('not yet'); });
});

test('throws', () => { throw new TypeError('cannot read x of undefined'); });
test('top level pass', () => {});
EOF
node --test --test-reporter=junit --test-reporter-destination="$out/node-test.xml" sample.test.mjs >/dev/null 2>&1 || true

# ---------- gotestsum --junitfile ----------
mkdir -p "$tmp/gomod/calc" && cd "$tmp/gomod"
cat > go.mod <<'EOF'
module example.com/calc

go 1.22
EOF
cat > calc/calc_test.go <<'EOF'
package calc

import (
	"fmt"
	"testing"
)

func TestAdd(t *testing.T) {
	if 2+2 != 4 {
		t.Fatal("bad add")
	}
}

func TestSub(t *testing.T) {
	fmt.Println("subtracting")
	if got := 5 - 3; got != 1 {
		t.Errorf("got %d, want 1", got)
	}
}

func TestTable(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			if n == 2 {
				t.Skip("two is skipped")
			}
		})
	}
}
EOF
GOFLAGS=-mod=mod go run gotest.tools/gotestsum@v1.13.0 --junitfile "$out/gotestsum.xml" \
  --junitfile-project-name calc -- ./... >/dev/null 2>&1 || true

# ---------- Maven Surefire 2.22.3 with reruns: flakyFailure/flakyError, rerunFailure/rerunError ----------
# Offline with Debian's packaged plugins: apt-get install maven maven-debian-helper libsurefire-java
# junit4 libmaven-compiler-plugin-java libmaven-resources-plugin-java. Skipped (with a note) without them.
if command -v mvn >/dev/null && [ -f /etc/maven/settings-debian.xml ]; then
  mkdir -p "$tmp/mvn/src/test/java/demo" && cd "$tmp/mvn"
  sed -n '/^<?xml/,/^<\/project>/p' "$out/../../../examples/maven/pom.xml" > pom.xml
  cat > src/test/java/demo/RerunTest.java <<'EOF'
package demo;

import static org.junit.Assert.assertEquals;

import java.io.File;
import java.io.IOException;
import org.junit.Test;

public class RerunTest {
    private static boolean firstTime(String name) throws IOException {
        File marker = new File(System.getProperty("java.io.tmpdir"), "pony-surefire-" + name);
        if (marker.exists()) {
            return false;
        }
        marker.createNewFile();
        return true;
    }

    @Test
    public void alwaysPasses() {
        System.out.println("output of a passing test");
    }

    @Test
    public void failsAssertionAlways() {
        System.out.println("about to fail");
        System.err.println("on stderr too");
        assertEquals(1, 2);
    }

    @Test
    public void throwsAlways() {
        throw new IllegalStateException("always broken");
    }

    @Test
    public void failsFirstAttempt() throws IOException {
        if (firstTime("failsFirstAttempt")) {
            assertEquals("first", "second");
        }
    }

    @Test
    public void throwsFirstAttempt() throws IOException {
        if (firstTime("throwsFirstAttempt")) {
            throw new RuntimeException("connection reset <by peer> & co");
        }
    }
}
EOF
  rm -f "${TMPDIR:-/tmp}"/pony-surefire-*
  mvn -B -q -o -s /etc/maven/settings-debian.xml -Djava.io.tmpdir="$tmp" test >/dev/null 2>&1 || true
  cp target/surefire-reports/TEST-demo.RerunTest.xml "$out/surefire-2.22-reruns.xml"
else
  echo "not regenerating surefire-2.22-reruns.xml: Maven and Debian's packaged plugins are not installed" >&2
fi

# ---------- a truncated report: the xunit2 one cut inside a testcase ----------
# (a runner killed mid-write); the testcases before the cut must be kept.
cut=$(grep -bo 'name="test_square\[3-9\]"' "$out/pytest-xunit2.xml" | cut -d: -f1)
head -c "$cut" "$out/pytest-xunit2.xml" > "$out/pytest-truncated.xml"

echo "regenerated in $out"
