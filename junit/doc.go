// Package junit reads and writes JUnit XML test reports.
//
// The Decoder reads a report as a stream, one <testcase> at a time, on a
// small XML tokenizer of its own that gives encoding/xml's raw tokens (strict,
// HTML entities, ISO-8859-1 through a charset reader) with the same errors,
// lines and offsets, but reuses its buffers instead of allocating per token:
// memory holds the open elements and the testcase being read, never the
// whole tree, and strings are made only for what an entry keeps. WriteBag exports a pony.Bag as JUnit XML.
// This package imports only pony and the standard library;
// github.com/joshdk/go-junit, which holds the whole tree in memory and has no
// place for Surefire's rerun elements, is used by the tests only, as the
// oracle of a differential test.
//
// # How JUnit maps onto pony
//
//   - Root: <testsuites> or <testsuite>, after an optional prolog, comments
//     and a byte-order mark. Any other root (NUnit's <test-run>, TRX's
//     <TestRun>, xUnit's <assemblies>, HTML, JSON) is an error naming the root
//     element found. <testsuite> may nest; a <testcase> outside any suite is
//     read too.
//   - Suite: the testcase's classname when present, else the name of the
//     innermost enclosing <testsuite>. node's junit reporter writes
//     classname="test" on every testcase, which names nothing: that
//     classname is read as absent, so a node test's suite is its describe
//     block (and "" at the top level).
//   - Name: the testcase's name; a testcase without one is named
//     "(unnamed testcase N)", N counting from 1 in the report, so that two
//     unnamed testcases stay two tests.
//   - Status: an <error> child gives "error"; else a <failure> child gives
//     "fail"; else a <skipped> child gives "skip"; else "pass". Error and
//     failure stay distinct. When a testcase holds several of them (EnricoMi's
//     multiresult case), the error wins over the failure and both win over
//     the skip, whatever their order.
//   - Expected failures: a <skipped> of type "pytest.xfail" (pytest),
//     "XFAIL" (unittest-xml-reporting) or with the message "expected test
//     failure" (nose2) is "xfail". node's todo tests (<skipped type="todo">)
//     are TAP's "# TODO": "xfail" when the testcase also holds a <failure>,
//     "xpass" when not. pytest (7.x) writes a non-strict xpass as a plain
//     pass, so it reads as "pass": the file holds nothing else; a strict
//     xpass is a <failure> whose message starts "[XPASS(strict)]" and stays
//     a failure, as does pytest's older <skipped message="xfail-marked test
//     passes unexpectedly">. A property pony.status=xpass (what WriteBag
//     writes) reads as "xpass" and is dropped from the properties.
//   - Message: the message attribute of the deciding element, else the first
//     line of its text. Output: the texts of the testcase's <failure>,
//     <error>, <skipped>, <system-out> and <system-err>, in document order,
//     blank ones left out, each ending with a newline, capped by
//     Options.OutputCap with the tail kept. A passing test's output is
//     dropped unless Options.KeepPassingOutput is set.
//   - Duration: the time attribute in seconds; "1,234.5" reads as 1234.5, Go
//     durations ("1.5s") are read, an empty or garbage value is 0.
//   - File and line: the testcase's file and line attributes (pytest's
//     xunit1 family writes them).
//   - Properties: the testcase's <properties><property name= value=/>; a
//     property with no value attribute takes its text.
//   - Reruns are attempts, each its own entry, in this order:
//     Surefire and Gradle's <flakyFailure>/<flakyError> are failed runs before
//     the passing one, so a testcase with two flakyFailure elements gives
//     attempts 1 and 2 (fail) and attempt 3 (the testcase's own verdict,
//     usually pass). Surefire's <rerunFailure>/<rerunError> are reruns after
//     the first failure, so a failing testcase with two rerunFailure elements
//     gives attempt 1 (the <failure>) then attempts 2 and 3 (fail). When a
//     testcase holds both kinds, the flaky runs come first, then the verdict,
//     then the reruns. Each rerun attempt's message is its message attribute;
//     its output is its <stackTrace>, <system-out> and <system-err>; its
//     duration its own time attribute, when present. The testcase's time
//     goes on the entry of its own verdict.
//   - A testcase met again in the same suite (same suite and name) is a
//     rerun, its entries continuing the attempt numbers of the first, only
//     where the report says it writes reruns so: a suite with a go.version
//     property (gotestsum after --rerun-fails or go test -count=N,
//     go-junit-report) or pony.repeats=attempts (WriteBag). Anywhere else it
//     is another test of the same name (jest's same-named tests, xUnit's
//     theory rows), named as TAP's duplicates are: " #2", " #3"…, the first
//     not taken; taking it for a rerun would turn a failure followed by a
//     pass into a retried flake. (Gradle without mergeReruns writes reruns
//     so too, and cannot be told apart: set reports.junitXml.mergeReruns so
//     that they come as <flakyFailure> elements.)
//   - Suite output: the <system-out> and <system-err> of a <testsuite> go to
//     the step's output and errout (Decoder.SuiteOutput, SuiteErrout), each
//     block headed by the suite's name, capped by Options.StepOutputCap with
//     the tail kept.
//   - Suite-level errors are not lost: an <error> or <failure> directly in a
//     <testsuite> (a setup failure), or a testsuite that declares failures or
//     errors but holds no testcase at all, gives an entry named "(testsuite)"
//     in that suite, status error (or fail when only failures were declared),
//     whose message says what the suite declared. pytest's collection errors
//     are already testcases with an <error message="collection failure">.
//   - Damage: malformed or truncated XML keeps every testcase completed
//     before the damage and returns a *pony.InputError with the line and the
//     byte offset; the caller marks the step Incomplete.
//
// WriteBag writes one <testsuite> per step and suite, each test's attempts
// as one <testcase> where Surefire's elements can hold them (a test whose
// attempts alternate takes several, and its suite the property
// pony.repeats=attempts): failed attempts before a final pass as
// <flakyFailure>/<flakyError>, a failing verdict as <failure>/<error> with
// later failed attempts as <rerunFailure>/<rerunError>, skip as <skipped>,
// xfail as <skipped type="pytest.xfail">, xpass as a pass with the property
// pony.status=xpass, so that reading the output back gives the same totals.
package junit
