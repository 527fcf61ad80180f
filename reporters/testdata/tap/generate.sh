#!/bin/sh
# generate.sh regenerates the real TAP inputs in this folder from small
# sample suites written below (heredocs), run by the real runners:
#
#   node --test --test-reporter=tap   (node v20: TAP 13 with nested subtests)
#   perl t/x.t                        (Test::More, as shipped with perl)
#   prove -v t/                       (perl's harness, verbose: TAP per file)
#   tape                              (npm tape: TAP 13 with YAML blocks)
#
# and copies some of npm tap-parser's own test fixtures (MIT; see README.md)
# as tap-parser-*.tap: buffered subtests and broken plans, which no runner
# above writes. Then the reference counts (npm tap-parser) go into
# reference/:
#
#   (cd ../../../scripts/tap-reference && npm ci)
#   sh reporters/testdata/tap/generate.sh
#   go test ./reporters -run TestGolden/tap -update
#
# Paths in the outputs are made relative to the temporary folder so that the
# files do not change from one machine to the next; timings do change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ref=$(cd "$here/../../../scripts/tap-reference" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# --- node --test ---------------------------------------------------------
mkdir -p node && cd node
cat > math.test.js <<'EOF'
const { test, describe, it } = require('node:test');
const assert = require('node:assert');

test('adds numbers', () => {
  assert.strictEqual(1 + 1, 2);
});

test('compares strings', () => {
  assert.strictEqual('pony' + 's', 'ponies');
});

test('throws an error', () => {
  throw new Error('boom: the database is gone');
});

test('skipped on purpose', { skip: 'no network here' }, () => {});

test('not written yet', { todo: 'needs a design' }, () => {
  assert.fail('still failing');
});

test('todo that passes', { todo: true }, () => {});

describe('stack', () => {
  it('pushes', () => {
    assert.deepStrictEqual([1, 2].concat(3), [1, 2, 3]);
  });
  describe('pop', () => {
    it('returns the last item', () => {
      assert.strictEqual([1, 2, 3].pop(), 3);
    });
    it('on an empty stack', () => {
      assert.deepStrictEqual([].pop(), null);
    });
  });
});

test('with diagnostics', (t) => {
  t.diagnostic('using the fast path');
  assert.ok(true);
});

test('async rejection', async () => {
  await new Promise((_, reject) => setTimeout(() => reject(new TypeError('x is not a function')), 1));
});
EOF
node --test --test-reporter=tap math.test.js > out.tap 2>/dev/null || true
sed -e "s#$tmp/##g" -e "s#file://##g" out.tap > "$here/node-test.tap"
# Suites that are not explained by their tests: a hook that throws (the
# tests cancelled), an empty suite, a skipped one; and a plain one.
cat > hooks.test.js <<'EOF'
const { describe, it, before } = require('node:test');
const assert = require('node:assert');
describe('db', () => {
  before(() => { throw new Error('cannot connect'); });
  it('reads', () => { assert.ok(true); });
  it('writes', () => { assert.ok(true); });
});
describe('empty suite', () => {});
describe.skip('skipped suite', () => { it('never', () => {}); });
describe('ok suite', () => { it('fine', () => {}); });
EOF
node --test --test-reporter=tap hooks.test.js > out.tap 2>/dev/null || true
sed -e "s#$tmp/##g" -e "s#file://##g" out.tap > "$here/node-hooks.tap"
cd "$tmp"

# --- perl Test::More -----------------------------------------------------
mkdir -p perl/t && cd perl
cat > t/basic.t <<'EOF'
use strict;
use warnings;
use Test::More tests => 9;

ok(1, 'truth is true');
is(1 + 1, 3, 'arithmetic is broken on purpose');
is_deeply([1, 2], [1, 2], 'lists match');
diag('a diagnostic line on stderr');
note('a note on stdout');
SKIP: {
    skip 'no database here', 2;
    ok(0, 'connects');
    ok(0, 'queries');
}
TODO: {
    local $TODO = 'unicode is hard';
    is(length("\x{263a}"), 2, 'smiley is two bytes');
    ok(1, 'this one passes anyway');
}
subtest 'a subtest' => sub {
    plan tests => 2;
    ok(1, 'inner pass');
    like('pony', qr/horse/, 'inner fail');
};
print "not TAP: some program output\n";
ok(1, 'last');
EOF
cat > t/bail.t <<'EOF'
use strict;
use warnings;
use Test::More tests => 4;

ok(1, 'starts');
ok(1, 'config read');
BAIL_OUT('cannot reach the database');
ok(1, 'never runs');
EOF
cat > t/skipall.t <<'EOF'
use strict;
use warnings;
use Test::More;
plan skip_all => 'only on Windows';
EOF
cat > t/nested.t <<'EOF'
use strict;
use warnings;
use Test::More;

subtest outer => sub {
    ok(1, 'outer first');
    subtest inner => sub {
        ok(1, 'deep pass');
        ok(0, 'deep fail');
        done_testing;
    };
    done_testing;
};
ok(1, 'after');
done_testing;
EOF
for t in basic bail skipall nested; do
  perl "t/$t.t" > "$here/perl-$t.tap" 2>&1 || true
done
prove -v t/basic.t t/nested.t > "$here/prove-v.txt" 2>&1 || true
cd "$tmp"

# --- prove on examples/prove ----------------------------------------------
# A passing file gets prove's own verdict, a bare "ok" (with --timer
# "ok  44 ms ( … CPU)"), after its TAP; a Latin-1 byte in a diagnostic.
mkdir -p example && cp -r "$here/../../../examples/prove/t" example/ && cd example
prove -v t/ > "$here/prove-v-example.txt" 2>&1 || true
prove -v --timer t/ > "$here/prove-v-timer.txt" 2>/dev/null || true
cd "$tmp"

# --- tape ----------------------------------------------------------------
mkdir -p tape && cd tape
npm init -y > /dev/null
npm install --silent --no-audit --no-fund tape@5 > /dev/null
cat > list.test.js <<'EOF'
const test = require('tape');

test('list', (t) => {
  t.equal([1, 2, 3].length, 3, 'length');
  t.deepEqual([1, 2].reverse(), [1, 2], 'reverse');
  t.ok(true, 'truthy');
  t.skip('not on this platform');
  t.end();
});

test('errors', (t) => {
  t.throws(() => { throw new Error('x'); }, /x/, 'throws');
  t.error(new Error('unexpected failure'), 'no error');
  t.end();
});
EOF
node list.test.js > out.tap 2>&1 || true
sed -e "s#$tmp/##g" out.tap > "$here/tape.tap"
cd "$here"

# --- tap-parser's fixtures ----------------------------------------------
# Copied as they are from the shared fixtures beside the clone (tap-parser's
# test/fixtures), when they are there.
fixtures="$here/../../../../shared/fixtures/tap/tap-parser"
if [ -d "$fixtures" ]; then
  for f in subtest-buffer subtest-buffer-diags-time subtest-buffer-todo subtest-unfinished \
    buffered-nested-failure-top-ok-diag too_many wrong-last outside-plan-end-many bignum \
    out_of_order skip-all-with-test strict pragma-mid-child-strict not-enough; do
    cp "$fixtures/$f.tap" "$here/tap-parser-$f.tap"
  done
fi

# --- reference counts ----------------------------------------------------
mkdir -p reference
for f in *.tap *.txt; do
  node "$ref/tap-reference.mjs" --out reference "$f"
done
