// Package pony holds pony-report's domain model: the result bag that build
// machines push to pony-server, its JSON wire form and its validation.
//
// The wire names (client_info, results_list) come from pony-build, the 2009
// Python CI recorder whose clients pushed key/value "bags" to a record keeper.
// This package imports the standard library only.
package pony

import (
	"encoding/json"
	"fmt"
)

// Status is the verdict of one test attempt.
//
// Each tool has its own vocabulary; reporters map it onto these six values,
// keeping the richer status where tools disagree (an error is not a failure, an
// expected failure is not a skip).
type Status string

// The statuses a test may have.
const (
	// StatusPass: the test ran and passed.
	StatusPass Status = "pass"
	// StatusFail: an assertion failed.
	StatusFail Status = "fail"
	// StatusError: the test could not run to a verdict (an exception outside an
	// assertion, a setup failure, a panic, a build failure).
	StatusError Status = "error"
	// StatusSkip: the test was skipped on purpose.
	StatusSkip Status = "skip"
	// StatusXFail: the test failed and was expected to (pytest xfail, a
	// failing TAP "# TODO").
	StatusXFail Status = "xfail"
	// StatusXPass: the test passed but was expected to fail (pytest xpass, a
	// passing TAP "# TODO").
	StatusXPass Status = "xpass"
)

// Statuses lists every valid Status, in display order.
var Statuses = []Status{StatusPass, StatusFail, StatusError, StatusSkip, StatusXFail, StatusXPass}

// Valid reports whether s is one of the six known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPass, StatusFail, StatusError, StatusSkip, StatusXFail, StatusXPass:
		return true
	}
	return false
}

// Failed reports whether s makes a run red: a failure or an error.
func (s Status) Failed() bool { return s == StatusFail || s == StatusError }

// UnmarshalJSON rejects unknown statuses with a message that lists the valid ones.
func (s *Status) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("test status must be a string: %w", err)
	}
	st := Status(v)
	if !st.Valid() {
		return fmt.Errorf("unknown test status %q (want one of pass, fail, error, skip, xfail, xpass)", v)
	}
	*s = st
	return nil
}
