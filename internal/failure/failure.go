// Package failure decides, in one table, whether an error is worth retrying.
// A permanent error sends the message to the dead-letter queue at once;
// anything else retries with backoff until the queue's receive limit.
package failure

import (
	"errors"
	"fmt"
)

// Class is the handling an error calls for: retry or dead-letter.
type Class string

const (
	// Retryable errors may heal by themselves: timeouts, refused connections, throttling.
	Retryable Class = "retryable"
	// Permanent errors need a person: bad input, refused credentials, SQL that cannot run.
	Permanent Class = "permanent"
)

// permanentError marks an error as permanent where it is raised.
type permanentError struct {
	reason string
	err    error
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// MarkPermanent wraps err so that Classify returns Permanent with the given
// short reason (a stable snake_case code such as "invalid_message").
func MarkPermanent(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{reason: reason, err: err}
}

// Permanentf formats an error and marks it permanent.
func Permanentf(reason, format string, args ...any) error {
	return MarkPermanent(reason, fmt.Errorf(format, args...))
}

// Classify returns the class of err and a short snake_case reason code for
// logs and dead-letter attributes.
func Classify(err error) (Class, string) {
	if err == nil {
		return Retryable, ""
	}
	var marked *permanentError
	if errors.As(err, &marked) {
		return Permanent, marked.reason
	}
	for _, rule := range rules {
		if reason, ok := rule(err); ok {
			return Permanent, reason
		}
	}
	return Retryable, "transient"
}
