package tap_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/reporters/tap"
)

// fastCases are inputs made to sit on the fast path's edges: each is a
// node-shaped stream with one thing the fast path must leave to the
// general one, or must take and read the same.
var fastCases = map[string]string{
	"plain":              "TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 0.5\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 12\n  ...\n1..2\n",
	"duplicate names":    "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: a\nok 2 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: a #2\nok 3 - a #2\n  ---\n  duration_ms: 1\n  ...\n1..3\n",
	"duplicate number":   "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 1 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"out of order":       "# Subtest: a\nok 2 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 1 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"plan first":         "1..2\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"plan from 5":        "5..6\n# Subtest: a\nok 5 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 6 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"crlf":               "# Subtest: a\r\nok 1 - a\r\n  ---\r\n  duration_ms: 1\r\n  ...\r\n1..1\r\n",
	"trailing blanks":    "# Subtest: a \nok 1 - a \n  ---  \n  duration_ms: 1 \n  ...\t\n1..1\n",
	"no dash, tabs":      "# Subtest: a\nok\t1\ta b\n  ---\n  duration_ms: 1\n  ...\n# Subtest: c\nok 2 -c\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"no description":     "# Subtest: a\nok 1\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 -\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"directives":         "# Subtest: a\nok 1 - a # SKIP x\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b # TODO\n  ---\n  duration_ms: 1\n  ...\n# Subtest: c\nok 3 - c \\# d\n  ---\n  duration_ms: 1\n  ...\n# Subtest: e\nok 4 - e#f\n  ---\n  duration_ms: 1\n  ...\n1..4\n",
	"odd durations":      "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: .5\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: '3'\n  ...\n# Subtest: c\nok 3 - c\n  ---\n  duration_ms: 1.\n  ...\n# Subtest: d\nok 4 - d\n  ---\n  duration_ms: 1e3\n  ...\n# Subtest: e\nok 5 - e\n  ---\n  duration_ms: 1234567890.1234567\n  ...\n# Subtest: f\nok 6 - f\n  ---\n  duration_ms: -1\n  ...\n# Subtest: g\nok 7 - g\n  ---\n  duration_ms: 0.000000000000001\n  ...\n1..7\n",
	"more yaml":          "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  location: 'a.js:3:4'\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  type: 'suite'\n  ...\n1..2\n",
	"no yaml":            "# Subtest: a\nok 1 - a\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"unclosed yaml":      "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"subtest with tests": "# Subtest: a\n    ok 1 - x\n    1..1\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"failing":            "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"comments between":   "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# a comment\nnoise\n  ---\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"pending before":     "ok 1 - a\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"bail out":           "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\nBail out! x\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"truncated":          "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ..",
	"no newline at end":  "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...",
	"huge number":        "# Subtest: a\nok 1234567890123456789 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 5000000 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"subtest no colon":   "# Subtest\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtests: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"prove sections":     "t/a.t .. \n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\nt/b.t .. \n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	"unicode":            "# Subtest: é\nok 1 - é ✓\n  ---\n  duration_ms: 1\n  ...\n# Subtest: x\nok 2 - \u00a0x\u00a0\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"directive forms": "# Subtest: a\nok 1 - a # skip\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b # TODO: later \n  ---\n  duration_ms: 1\n  ...\n" +
		"# Subtest: c\nok 3 - c #SKIP x\n  ---\n  duration_ms: 1\n  ...\n# Subtest: d\nok 4 - d\t# SKIPPED  why\\ not\n  ---\n  duration_ms: 1\n  ...\n" +
		"# Subtest: e\nok 5 - e # time=5ms\n  ---\n  duration_ms: 1\n  ...\n# Subtest: f\nok 6 - f # other\n  ---\n  duration_ms: 1\n  ...\n" +
		"# Subtest: g\nok 7 # SKIP x\n  ---\n  duration_ms: 1\n  ...\n# Subtest: h\nok 8 - h  # Todo\n  ---\n  duration_ms: 1\n  ...\n" +
		"# Subtest: i\nnot ok 9 - i # TODO x\n  ---\n  duration_ms: 1\n  ...\n# after the failing todo\n# Subtest: j\nok 10 - j # skipper\n  ---\n  duration_ms: 1\n  ...\n" +
		"# Subtest: k\nok 11 - k # SKIP é\r\n  ---\n  duration_ms: 1\n  ...\n# Subtest: l\nok 12 - l # SK\n  ---\n  duration_ms: 1\n  ...\n1..12\n",
	"nested directives": "# Subtest: s\n    # Subtest: a\n    ok 1 - a # SKIP no\n      ---\n      duration_ms: 1\n      ...\n    # Subtest: a\n    ok 2 - a # TODO\n      ---\n      duration_ms: 1\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	"nested duplicates": "# Subtest: s\n    # Subtest: a\n    ok 1 - a\n      ---\n      duration_ms: 1\n      ...\n    # Subtest: a\n    ok 2 - a\n      ---\n      duration_ms: 2\n      ...\n    # Subtest: a #2\n    ok 3 - a #2\n      ---\n      duration_ms: 2\n      ...\n    1..3\nok 1 - s\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	"nested odd": "# Subtest: s\n    # Subtest: a\n    ok 2 - a\n      ---\n      duration_ms: 1\n      ...\n    # comment\n    # Subtest: b\n   ok 3 - b\n      ---\n      duration_ms: 1\n      ...\n    # Subtest: c\n    ok 4 - c\n     ---\n     duration_ms: 1\n     ...\n" +
		"    # Subtest: d\n    ok 5 - d\n      ---\n      duration_ms: 1\n    ...\n        # Subtest: e\n        ok 1 - e\n          ---\n          duration_ms: 1\n          ...\n    ok 6 - deeper\nok 1 - s\n",
	"three deep":             "# Subtest: s\n    # Subtest: t\n        # Subtest: a\n        ok 1 - a\n          ---\n          duration_ms: 1\n          ...\n        1..1\n    ok 1 - t\n    1..1\nok 1 - s\n1..1\n",
	"nested":                 "# Subtest: s\n    # Subtest: a\n    ok 1 - a\n      ---\n      duration_ms: 1\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	"suite":                  "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    # Subtest: c3\n    ok 3 - c3\n      ---\n      duration_ms: 0.111\n      ...\n    1..3\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 2 - t\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..2\n",
	"suite duplicate kids":   "# Subtest: s\n    # Subtest: a\n    ok 1 - a\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: a\n    ok 2 - a\n      ---\n      duration_ms: 0.074\n      ...\n    # Subtest: a #2\n    ok 3 - a #2\n      ---\n      duration_ms: 0.111\n      ...\n    1..3\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite plan mismatch":    "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    # Subtest: c3\n    ok 3 - c3\n      ---\n      duration_ms: 0.111\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite plan from 2":      "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    2..3\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite plan comment":     "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    1..2 # x\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite kid directive":    "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2 # SKIP no\n      ---\n      duration_ms: 0.074\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite kid out of order": "# Subtest: s\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite not ok":           "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nnot ok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite todo":             "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s # TODO later\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite number":           "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 3 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite no type":          "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1.5\n  ...\n1..1\n",
	"suite type first":       "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  type: 'suite'\n  duration_ms: 1.5\n  ...\n1..1\n",
	"suite type test":        "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'test'\n  ...\n1..1\n",
	"suite many kids":        "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    # Subtest: c3\n    ok 3 - c3\n      ---\n      duration_ms: 0.111\n      ...\n    # Subtest: c4\n    ok 4 - c4\n      ---\n      duration_ms: 0.148\n      ...\n    # Subtest: c5\n    ok 5 - c5\n      ---\n      duration_ms: 0.185\n      ...\n    # Subtest: c6\n    ok 6 - c6\n      ---\n      duration_ms: 0.222\n      ...\n    # Subtest: c7\n    ok 7 - c7\n      ---\n      duration_ms: 0.259\n      ...\n    # Subtest: c8\n    ok 8 - c8\n      ---\n      duration_ms: 0.296\n      ...\n    # Subtest: c9\n    ok 9 - c9\n      ---\n      duration_ms: 0.333\n      ...\n    # Subtest: c10\n    ok 10 - c10\n      ---\n      duration_ms: 0.370\n      ...\n    # Subtest: c11\n    ok 11 - c11\n      ---\n      duration_ms: 0.407\n      ...\n    # Subtest: c12\n    ok 12 - c12\n      ---\n      duration_ms: 0.444\n      ...\n    # Subtest: c13\n    ok 13 - c13\n      ---\n      duration_ms: 0.481\n      ...\n    # Subtest: c14\n    ok 14 - c14\n      ---\n      duration_ms: 0.518\n      ...\n    # Subtest: c15\n    ok 15 - c15\n      ---\n      duration_ms: 0.555\n      ...\n    # Subtest: c16\n    ok 16 - c16\n      ---\n      duration_ms: 0.592\n      ...\n    # Subtest: c17\n    ok 17 - c17\n      ---\n      duration_ms: 0.629\n      ...\n    # Subtest: c18\n    ok 18 - c18\n      ---\n      duration_ms: 0.666\n      ...\n    # Subtest: c19\n    ok 19 - c19\n      ---\n      duration_ms: 0.703\n      ...\n    # Subtest: c20\n    ok 20 - c20\n      ---\n      duration_ms: 0.740\n      ...\n    # Subtest: c21\n    ok 21 - c21\n      ---\n      duration_ms: 0.777\n      ...\n    # Subtest: c22\n    ok 22 - c22\n      ---\n      duration_ms: 0.814\n      ...\n    # Subtest: c23\n    ok 23 - c23\n      ---\n      duration_ms: 0.851\n      ...\n    # Subtest: c24\n    ok 24 - c24\n      ---\n      duration_ms: 0.888\n      ...\n    # Subtest: c25\n    ok 25 - c25\n      ---\n      duration_ms: 0.925\n      ...\n    # Subtest: c26\n    ok 26 - c26\n      ---\n      duration_ms: 0.962\n      ...\n    # Subtest: c27\n    ok 27 - c27\n      ---\n      duration_ms: 0.999\n      ...\n    # Subtest: c28\n    ok 28 - c28\n      ---\n      duration_ms: 0.1036\n      ...\n    # Subtest: c29\n    ok 29 - c29\n      ---\n      duration_ms: 0.1073\n      ...\n    # Subtest: c30\n    ok 30 - c30\n      ---\n      duration_ms: 0.1110\n      ...\n    # Subtest: c31\n    ok 31 - c31\n      ---\n      duration_ms: 0.1147\n      ...\n    # Subtest: c32\n    ok 32 - c32\n      ---\n      duration_ms: 0.1184\n      ...\n    # Subtest: c33\n    ok 33 - c33\n      ---\n      duration_ms: 0.1221\n      ...\n    # Subtest: c34\n    ok 34 - c34\n      ---\n      duration_ms: 0.1258\n      ...\n    # Subtest: c35\n    ok 35 - c35\n      ---\n      duration_ms: 0.1295\n      ...\n    # Subtest: c36\n    ok 36 - c36\n      ---\n      duration_ms: 0.1332\n      ...\n    # Subtest: c37\n    ok 37 - c37\n      ---\n      duration_ms: 0.1369\n      ...\n    # Subtest: c38\n    ok 38 - c38\n      ---\n      duration_ms: 0.1406\n      ...\n    # Subtest: c39\n    ok 39 - c39\n      ---\n      duration_ms: 0.1443\n      ...\n    1..39\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite no kids":          "# Subtest: s\n    1..0\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite plan first":       "# Subtest: s\n    1..1\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\n",
	"suite comment after":    "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n# a comment\n# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 2 - t\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..2\n",
	"suite cut":              "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    # Subtest: c2\n    ok 2 - c2\n      ---\n      duration_ms: 0.074\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suit",
	"suite in prove":         "t/a.t .. \n# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n1..1\nok\n",
	"suite nested":           "# Subtest: o\n    # Subtest: s\n        # Subtest: c1\n        ok 1 - c1\n          ---\n          duration_ms: 0.037\n          ...\n        1..1\n    ok 1 - s\n      ---\n      duration_ms: 1.5\n      type: 'suite'\n      ...\n    1..1\nok 1 - o\n  ---\n  duration_ms: 2\n  type: 'suite'\n  ...\n1..1\n",
	// A failing point on the fast path, its YAML block and commit left to
	// the general one.
	"failing node":         "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 2.5\n  location: 'a.js:3:4'\n  failureType: 'testCodeFailure'\n  error: |-\n    x\n\n    1 !== 2\n\n  code: 'ERR_ASSERTION'\n  expected: 2\n  stack: |-\n    at a (a.js:3:4)\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"failing stack only":   "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  stack: |-\n    first line\n    second\n  ...\n1..1\n",
	"failing comments":     "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# after a\n# more\n# Subtest: b\nnot ok 2 - b # TODO why\n  ---\n  duration_ms: 1\n  ...\n# after b\nnoise\n1..2\n",
	"failing skip":         "# Subtest: a\nnot ok 1 - a # SKIP no\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	"failing no yaml":      "# Subtest: a\nnot ok 1 - a\n# Subtest: b\nnot ok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"failing unclosed":     "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n# Subtest: b\nnot ok 2 - b\n  ---\n  duration_ms: 1\n",
	"failing out of order": "# Subtest: a\nnot ok 2 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nnot ok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"failing pending":      "ok 1 - a\n# a comment\n# Subtest: b\nnot ok 2 - b\n  ---\n  duration_ms: 1\n  ...\nnot ok 3 - c\n# Subtest: d\nnot ok 4 - d\n  ---\n  ...\n1..4\n",
	"failing nested":       "# Subtest: s\n    # Subtest: a\n    not ok 1 - a\n      ---\n      duration_ms: 1\n      error: 'no'\n      ...\n    # Subtest: a\n    not ok 2 - a # TODO\n      ---\n      duration_ms: 1\n      ...\n    1..2\nnot ok 1 - s\n  ---\n  duration_ms: 1\n  type: 'suite'\n  failureType: 'subtestsFailed'\n  ...\n1..1\n",
	"failing crlf":         "# Subtest: a\r\nnot ok 1 - a\r\n  ---\r\n  duration_ms: 1\r\n  ...\r\n1..1\r\n",
	"failing bail out":     "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\nBail out! stop\n",
	"failing cut":          "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  err",
	"failing in prove":     "t/a.t .. \n# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\nt/b.t .. \n# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\n",
	// Buffered subtests (TAP 14): a block whose next line is a `{` opens
	// one with its point, and is the general path's; a name ending in
	// ` {` with a YAML block opens none.
	"brace after block":       "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n{\n    ok 1 - x\n    1..1\n}\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"brace after failing":     "# Subtest: a\nnot ok 1 - a\n  ---\n  duration_ms: 1\n  ...\n{\n    not ok 1 - x\n    1..1\n}\n1..1\n",
	"brace after suite":       "# Subtest: s\n    # Subtest: c1\n    ok 1 - c1\n      ---\n      duration_ms: 0.037\n      ...\n    1..1\nok 1 - s\n  ---\n  duration_ms: 1.5\n  type: 'suite'\n  ...\n{\n    ok 1 - x\n    1..1\n}\n1..1\n",
	"brace nested":            "# Subtest: s\n    # Subtest: a\n    ok 1 - a\n      ---\n      duration_ms: 1\n      ...\n    {\n        ok 1 - x\n        1..1\n    }\n    1..1\nok 1 - s\n1..1\n",
	"brace in name":           "# Subtest: a {\nok 1 - a {\n  ---\n  duration_ms: 1\n  ...\n    ok 1 - x\n    1..1\n# Subtest: b # SKIP c {\nok 2 - b # SKIP c {\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"blocks in buffered":      "ok 1 - b {\n    # Subtest: x\n    ok 1 - x\n      ---\n      duration_ms: 1\n      ...\n    1..1\n}\n# Subtest: c\nok 2 - c\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"buffered then block":     "ok 1 - b {\n# Subtest: c\nok 2 - c\n  ---\n  duration_ms: 1\n  ...\n    ok 1\n}\n1..2\n",
	"unclosed buffered":       "ok 1 - b {\n    # Subtest: x\n    ok 1 - x\n      ---\n      duration_ms: 1\n      ...\n# Subtest: c\nok 2 - c\n  ---\n  duration_ms: 1\n  ...\n1..2\n",
	"more than planned":       "1..1\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"after trailing plan":     "# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n# Subtest: c\nnot ok 3 - c\n  ---\n  duration_ms: 1\n  ...\n",
	"after skip all":          "1..0\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n",
	"failing outside plan":    "1..1\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n# Subtest: b\nnot ok 2 - b\n  ---\n  duration_ms: 1\n  ...\n",
	"strict":                  "pragma +strict\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\nnoise\n# Subtest: b\nok 2 - b\n  ---\n  duration_ms: 1\n  ...\n    noise\n1..2\n",
	"subtest plan not met":    "# Subtest: s\n    # Subtest: a\n    ok 1 - a\n      ---\n      duration_ms: 1\n      ...\n    1..2\nok 1 - s\n  ---\n  duration_ms: 1\n  type: 'suite'\n  ...\n1..1\n",
	"subtest after last test": "1..1\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n    # Subtest: b\n    # Subtest: c\n    ok 1 - c\n      ---\n      duration_ms: 1\n      ...\n    1..1\n",
}

// sameParse parses in with and without the fast path, through readers
// that hand the bytes over whole and in small pieces, and fails on any
// difference.
func sameParse(t *testing.T, name string, in []byte) {
	t.Helper()
	for _, opts := range []tap.Options{
		{File: "x.tap", OutputCap: 300, StepOutputCap: 2000},
		{File: "x.tap", OutputCap: 300, StepOutputCap: 2000, KeepPassingOutput: true},
		{File: "t/x.tap", Suite: "t/x.tap", OutputCap: 300, StepOutputCap: 2000},
	} {
		sameParseOpts(t, name, in, opts)
	}
}

// sameParseOpts is sameParse with the given options.
func sameParseOpts(t *testing.T, name string, in []byte, opts tap.Options) {
	t.Helper()
	type result struct {
		step any
		sum  any
		err  string
	}
	run := func(parse func(context.Context, *bytes.Reader) (any, any, error)) result {
		s, m, err := parse(context.Background(), bytes.NewReader(in))
		r := result{step: s, sum: m}
		if err != nil {
			r.err = err.Error()
		}
		return r
	}
	want := run(func(ctx context.Context, r *bytes.Reader) (any, any, error) { return tap.ParseGeneral(ctx, r, opts) })
	for _, how := range []struct {
		name string
		fast func(ctx context.Context, r *bytes.Reader) (any, any, error)
	}{
		{"whole", func(ctx context.Context, r *bytes.Reader) (any, any, error) { return tap.Parse(ctx, r, opts) }},
		{"halves", func(ctx context.Context, r *bytes.Reader) (any, any, error) {
			return tap.Parse(ctx, iotest.HalfReader(r), opts)
		}},
		{"odd chunks", func(ctx context.Context, r *bytes.Reader) (any, any, error) {
			return tap.Parse(ctx, &chunkReader{r: r, n: 7919}, opts)
		}},
	} {
		got := run(how.fast)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s, read %s, keep passing output %v, suite %q: got %s, want %s (the general path)", name, how.name, opts.KeepPassingOutput, opts.Suite, describe(got.step, got.sum, got.err), describe(want.step, want.sum, want.err))
		}
	}
}

func describe(step, sum any, err string) string {
	s := fmt.Sprintf("%+v / %+v / %q", step, sum, err)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// chunkReader hands over at most n bytes a read.
type chunkReader struct {
	r *bytes.Reader
	n int
}

func (c *chunkReader) Read(b []byte) (int, error) { return c.r.Read(b[:min(len(b), c.n)]) }

func TestFastPathEdges(t *testing.T) {
	for name, in := range fastCases {
		t.Run(name, func(t *testing.T) { sameParse(t, name, []byte(in)) })
	}
}

// TestFastPathSameAsGeneral compares the fast and the general path on the
// golden inputs, the tap-parser fixtures, generated streams, mutations of
// one, and the fuzzer's corpus when there is one.
func TestFastPathSameAsGeneral(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "reporters", "testdata", "tap", "*"))
	if dir, ok := fixtureDir(t); ok {
		fx, _ := filepath.Glob(filepath.Join(dir, "*.tap"))
		files = append(files, fx...)
	}
	n := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() || strings.HasSuffix(f, ".json") || strings.HasSuffix(f, ".sh") {
			continue
		}
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameParse(t, filepath.Base(f), in)
		n++
	}
	if n < 5 {
		t.Fatalf("got %d input files, want at least 5", n)
	}
	for _, tests := range []int{1, 4, 25, 101, 3000} {
		var buf bytes.Buffer
		if err := benchgen.Generate("tap", &buf, tests); err != nil {
			t.Fatal(err)
		}
		sameParse(t, fmt.Sprintf("generated %d", tests), buf.Bytes())
	}

	var buf bytes.Buffer
	if err := benchgen.Generate("tap", &buf, 120); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	rng := rand.New(rand.NewSource(1))
	edits := []func(l string) string{
		func(l string) string { return "" },
		func(l string) string { return l + l },
		func(l string) string { return strings.Replace(l, "1", "2", 1) },
		func(l string) string { return strings.Replace(l, " ", "  ", 1) },
		func(l string) string { return strings.Replace(l, " - ", " - # ", 1) },
		func(l string) string { return strings.Replace(l, "\n", "\r\n", 1) },
		func(l string) string { return strings.Replace(l, "ok", "not ok", 1) },
		func(l string) string { return strings.Replace(l, "0.", ".", 1) },
		func(l string) string { return strings.TrimSuffix(l, "\n") },
		func(l string) string { return "    " + l },
		func(l string) string { return l[:len(l)/2] },
		func(l string) string { return strings.Replace(l, "test", "test 1", 1) },
	}
	for k := 0; k < 400; k++ {
		m := append([]string(nil), lines...)
		for e := 0; e < 1+k%3; e++ {
			i := rng.Intn(len(m))
			m[i] = edits[rng.Intn(len(edits))](m[i])
		}
		sameParse(t, "mutant "+strconv.Itoa(k), []byte(strings.Join(m, "")))
	}

	// The fuzzer's corpus, when this machine has run it.
	for _, f := range fuzzCorpus(t) {
		sameParse(t, filepath.Base(f.name), f.in)
	}
}

type corpusFile struct {
	name string
	in   []byte
}

// fuzzCorpus reads FuzzTAP's committed regression cases and, when the Go
// build cache holds it, its generated corpus.
func fuzzCorpus(t *testing.T) []corpusFile {
	dirs := []string{filepath.Join("testdata", "fuzz", "FuzzTAP")}
	if c := os.Getenv("GOCACHE"); c != "" {
		dirs = append(dirs, filepath.Join(c, "fuzz", "github.com", "pony-build", "pony", "reporters", "tap", "FuzzTAP"))
	} else if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "go-build", "fuzz", "github.com", "pony-build", "pony", "reporters", "tap", "FuzzTAP"))
	}
	var out []corpusFile
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			_, lit, ok := strings.Cut(string(b), "[]byte(")
			if !ok {
				continue
			}
			lit = strings.TrimSpace(lit)
			lit = strings.TrimSuffix(lit, ")")
			in, err := strconv.Unquote(lit)
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			out = append(out, corpusFile{e.Name(), []byte(in)})
		}
	}
	return out
}

// TestDuplicateNamesMany checks the renaming of duplicates among many
// top-level names, far apart, against a plain map.
func TestDuplicateNamesMany(t *testing.T) {
	var in strings.Builder
	var names []string
	for i := 1; i <= 20000; i++ {
		name := fmt.Sprintf("test %d", i)
		switch {
		case i%997 == 0:
			name = fmt.Sprintf("test %d", i/2)
		case i == 15000:
			name = "test 10 #2"
		case i == 19999:
			name = "test 1"
		}
		names = append(names, name)
		fmt.Fprintf(&in, "# Subtest: %s\nok %d - %s\n  ---\n  duration_ms: 1\n  ...\n", name, i, name)
	}
	fmt.Fprintf(&in, "1..%d\n", len(names))
	seen := map[string]bool{}
	var want []string
	for _, n := range names {
		name := n
		for k := 2; seen[name]; k++ {
			name = n + " #" + strconv.Itoa(k)
		}
		seen[name] = true
		want = append(want, name)
	}
	step, _, err := tap.Parse(context.Background(), strings.NewReader(in.String()), tap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(step.Tests) != len(want) {
		t.Fatalf("got %d tests, want %d", len(step.Tests), len(want))
	}
	for i, r := range step.Tests {
		if r.Name != want[i] {
			t.Errorf("test %d: got name %q, want %q", i+1, r.Name, want[i])
		}
	}
	sameParse(t, "many duplicates", []byte(in.String()))
}

// TestDecimalMS checks the integer way to a plain decimal's seconds
// against roundMS of the quotient, on every length and point position and
// around the 2^50 limit.
func TestDecimalMS(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pow := []uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
	for frac := 0; frac <= 15; frac++ {
		for digits := 1; digits <= 15; digits++ {
			for range 2000 {
				mant := rng.Uint64() % pow[digits]
				tests := []uint64{mant, 1<<50/max(1, pow[max(0, 6-frac)]) - mant%3, pow[digits] - 1}
				for _, m := range tests {
					if m >= pow[digits] {
						continue
					}
					q := float64(m) / float64(pow[frac])
					if got, want := tap.DecimalMS(m, frac), tap.RoundMS(q); got != want {
						t.Fatalf("DecimalMS(%d, %d): got %v, want %v", m, frac, got, want)
					}
				}
			}
		}
	}
}

// TestDurationFastPath checks the plain-decimal reading of duration_ms
// against strconv's on random decimals and odd forms.
func TestDurationFastPath(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	ins := []string{"0", "0.0", "1.", ".5", "1e3", "-1", "-0", "+1", "0x10", "NaN", "Inf", "1_000", "123456789012345", "1234567890123456", "0.000000001", "99999999999999.9", ""}
	for range 200000 {
		n := 1 + rng.Intn(17)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.Intn(10))
		}
		if rng.Intn(4) > 0 {
			b[rng.Intn(n)] = '.'
		}
		ins = append(ins, string(b))
	}
	for _, in := range ins {
		gd, gok := tap.DurationString(in)
		wd, wok := tap.Duration(in)
		if gd != wd || gok != wok {
			t.Fatalf("durationBytes(%q): got %v, %v, want %v, %v", in, gd, gok, wd, wok)
		}
	}
}

// splitLocation is the way location read `path:line[:col]` before it
// stopped splitting the value, kept to compare with.
func splitLocation(v string) (string, int) {
	if i := strings.LastIndexByte(v, '('); i >= 0 && strings.HasSuffix(v, ")") {
		v = v[i+1 : len(v)-1]
	}
	parts := strings.Split(v, ":")
	nums := 0
	for k := len(parts) - 1; k > 0 && nums < 2; k-- {
		if _, err := strconv.Atoi(parts[k]); err != nil {
			break
		}
		nums++
	}
	switch nums {
	case 0:
		return "", 0
	case 1:
		n, _ := strconv.Atoi(parts[len(parts)-1])
		return strings.Join(parts[:len(parts)-1], ":"), n
	default:
		n, _ := strconv.Atoi(parts[len(parts)-2])
		return strings.Join(parts[:len(parts)-2], ":"), n
	}
}

func TestLocationSameAsSplit(t *testing.T) {
	ins := []string{"", ":", "::", "a", "a:1", "a:1:2", "a:b:1:2", "C:\\x\\y.js:10:5", "file:///x.js:3:4", "a:x:2", "a:1:x",
		"a::1", ":1", ":1:2", "1:2", "1:2:3", "a:+1:-2", "a:1:2:3", "Test.<anonymous> (/src/x.js:5:3)", "x (y:1)", "a: 1", "a:1 "}
	rng := rand.New(rand.NewSource(3))
	alphabet := "ab1:2+-( )"
	for range 100000 {
		b := make([]byte, rng.Intn(10))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		ins = append(ins, string(b))
	}
	for _, in := range ins {
		gf, gl := tap.LocationOf(in)
		wf, wl := splitLocation(in)
		if gf != wf || gl != wl {
			t.Fatalf("location(%q): got %q, %d, want %q, %d", in, gf, gl, wf, wl)
		}
	}
}

// TestStrHash checks the names' hash: the same on a string and on its
// bytes (fastBlocks hashes the input, addEntry the arena), and different
// for the different names of every length up to 70 and many short ones.
func TestStrHash(t *testing.T) {
	seen := map[uint64]string{}
	add := func(s string) {
		h := tap.StrHash(12345, s)
		if hb := tap.StrHashBytes(12345, []byte(s)); hb != h {
			t.Fatalf("hash of %q: %x on a string, %x on bytes", s, h, hb)
		}
		if o, ok := seen[h]; ok && o != s {
			t.Fatalf("%q and %q have the same hash %x", o, s, h)
		}
		seen[h] = s
	}
	rng := rand.New(rand.NewSource(5))
	for n := 0; n <= 70; n++ {
		for range 200 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Intn(4)) // few bytes: names that differ little
			}
			add(string(b))
		}
	}
	for i := range 200000 {
		add("test " + strconv.Itoa(i))
	}
	if tap.StrHash(1, "test 1") == tap.StrHash(2, "test 1") {
		t.Error("the seed does not change the hash")
	}
}

// TestBlankLine compares blankLine with strings.TrimSpace.
func TestBlankLine(t *testing.T) {
	ins := []string{"", " ", "\t \r\n\v\f", "a", " a ", "\u00a0", " \u2003 ", "\u00a0x", "\x85", "\xc2", " \xc2\x85", "\xff"}
	for _, in := range ins {
		if got, want := tap.BlankLine(in), strings.TrimSpace(in) == ""; got != want {
			t.Errorf("blankLine(%q): got %v, want %v", in, got, want)
		}
	}
}
