package helpdesk

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors for the kinds of failure callers branch on. An *Error
// matches its kind with errors.Is.
var (
	ErrRateLimited  = errors.New("rate limited")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrInvalid      = errors.New("invalid request")
	ErrTransient    = errors.New("transient failure")
	ErrUnsupported  = errors.New("not supported by this provider")
	// ErrNotSent is a call that never reached the PSA: the client-side
	// rate limiter (or concurrency cap) could not let it through before
	// the caller's context ended. It is not a PSA failure; the caller
	// may try again with more time.
	ErrNotSent = errors.New("not sent: client-side rate limit")
)

// Error is a failed PSA call. Message is the provider's own message, never
// a credential.
type Error struct {
	Provider string
	Op       string
	Kind     error // one of the sentinels above
	Status   int   // HTTP status, 0 when no response
	Message  string
	// RetryAfter is the wait the PSA asked for (rate limited), zero when
	// it named none.
	RetryAfter time.Duration
	Err        error // underlying cause, may be nil
}

// Error implements error. Provider and Op are not repeated in the text:
// the clients wrap every error with them already.
func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the kind sentinel and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// KindForStatus maps an HTTP status to an error kind.
func KindForStatus(status int) error {
	switch {
	case status == 429:
		return ErrRateLimited
	case status == 401:
		return ErrUnauthorized
	case status == 403:
		return ErrForbidden
	case status == 404:
		return ErrNotFound
	case status == 408 || status >= 500:
		return ErrTransient
	default:
		return ErrInvalid
	}
}

// Retryable reports whether an error is worth retrying later: rate limits
// and transient failures are; auth, not-found and invalid requests are not.
func Retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrTransient)
}

// RetryAfter returns the wait a rate-limited error asked for, or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// CallbackError is a rejected inbound webhook delivery. Reason is short
// and safe to log and store (no secret, no signature value).
type CallbackError struct {
	Status int    // HTTP status to answer: 400, 401, 405, 413
	Reason string // e.g. "signature mismatch", "missing signature header"
}

// Error implements error.
func (e *CallbackError) Error() string {
	return fmt.Sprintf("callback rejected (%d): %s", e.Status, e.Reason)
}

// ErrBadSignature returns a 401 CallbackError with reason.
func ErrBadSignature(reason string) error { return &CallbackError{Status: 401, Reason: reason} }

// ErrMalformed returns a 400 CallbackError with reason.
func ErrMalformed(reason string) error { return &CallbackError{Status: 400, Reason: reason} }
