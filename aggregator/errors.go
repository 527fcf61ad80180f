package aggregator

import (
	"errors"
	"fmt"
)

// Code classifies an error so that each front end (JSON API, XML-RPC, web
// pages) can map it to its own status in one place.
type Code string

// The error codes.
const (
	EInvalid      Code = "invalid"      // the request or the bag is wrong: 400
	ENotFound     Code = "not_found"    // 404
	EUnauthorized Code = "unauthorized" // no token or an unknown one: 401
	EForbidden    Code = "forbidden"    // a token without the right scope or package: 403
	ETooLarge     Code = "too_large"    // over a size cap: 413
	EConflict     Code = "conflict"     // 409
	EInternal     Code = "internal"     // a bug or a storage failure: 500
	EUnavailable  Code = "unavailable"  // the store cannot be reached now: 503
)

// Error is a domain error with a code, a message for people, and an
// optional detail (a list of problems, say) for programs.
type Error struct {
	Code    Code
	Message string
	Detail  any
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: its *Error's code when it wraps one,
// EInternal otherwise, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of err's *Error, or a generic message
// for internal errors, whose text must not leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound is what a Store returns (wrapped or as is) when a result, a
// package or a token does not exist.
var ErrNotFound = &Error{Code: ENotFound, Message: "not found"}
