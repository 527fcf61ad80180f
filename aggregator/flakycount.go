package aggregator

import "time"

// IsFlaky reports whether Assess(s, opts) finds the state flaky (what
// RankFlaky lists), without writing the signals' sentences.
func IsFlaky(s *TestState, opts FlakyOptions) bool {
	return assess(s, opts.WithDefaults(), false).State == StateFlaky
}

// Newer reports whether s is a newer reading of its test and environment
// than o, both being of the same test and environment on two branches:
// the later receipt, then the higher result key. Over every branch the
// matrix and the flaky ranking use the newest state of each test and
// environment (see StateFilter).
func (s *TestState) Newer(o *TestState) bool {
	return newerReading(s.Received, s.ResultKey, o.Received, o.ResultKey)
}

// newerReading is TestState.Newer on the two fields it compares.
func newerReading(received time.Time, key string, thanReceived time.Time, thanKey string) bool {
	return received.After(thanReceived) || (received.Equal(thanReceived) && key > thanKey)
}

// FlakyCounter counts a package's flaky tests as Flaky ranks them over
// every branch, without ranking them: a test counts once when, in some
// environment, its newest state (see TestState.Newer) is flaky (IsFlaky).
// The caller names each test by an id of its own (a store's test id), so
// that no suite or name need be read. Make one with NewFlakyCounter.
type FlakyCounter struct {
	opts   FlakyOptions
	newest map[flakyCountKey]flakyCountState
}

type flakyCountKey struct {
	test int64
	env  string
}

// flakyCountState is what FlakyCounter keeps of the newest state of a
// test and environment.
type flakyCountState struct {
	received  time.Time
	resultKey string
	flaky     bool
}

// NewFlakyCounter returns an empty FlakyCounter judging with opts.
func NewFlakyCounter(opts FlakyOptions) *FlakyCounter {
	return &FlakyCounter{opts: opts.WithDefaults(), newest: map[flakyCountKey]flakyCountState{}}
}

// Add counts the state s of test: of one package, any environment, any
// branch, in any order.
func (c *FlakyCounter) Add(test int64, s *TestState) {
	k := flakyCountKey{test, s.EnvKey}
	if o, ok := c.newest[k]; ok && !newerReading(s.Received, s.ResultKey, o.received, o.resultKey) {
		return
	}
	c.newest[k] = flakyCountState{received: s.Received, resultKey: s.ResultKey,
		flaky: assess(s, c.opts, false).State == StateFlaky}
}

// Tests returns the ids of the tests that are flaky in some environment,
// each once, in no order. As a test is flaky when it is in some
// environment, the flaky tests of a package are the union of those of its
// environments counted apart.
func (c *FlakyCounter) Tests() []int64 {
	seen := map[int64]bool{}
	var out []int64
	for k, st := range c.newest {
		if st.flaky && !seen[k.test] {
			seen[k.test] = true
			out = append(out, k.test)
		}
	}
	return out
}

// Count returns how many tests are flaky in some environment.
func (c *FlakyCounter) Count() int { return len(c.Tests()) }
