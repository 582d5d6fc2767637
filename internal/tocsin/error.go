package tocsin

import (
	"errors"
	"fmt"
)

// Error codes users see. The HTTP layer maps each to one status.
const (
	EInvalid      = "invalid"      // bad input: 400
	EUnauthorized = "unauthorized" // no or bad credentials: 401
	EForbidden    = "forbidden"    // authenticated, not allowed: 403
	ENotFound     = "not_found"    // 404
	EConflict     = "conflict"     // state forbids it: 409
	EMethod       = "method"       // the route exists, not with this method: 405
	EUnavailable  = "unavailable"  // etcd or leader unreachable: 503
	EInternal     = "internal"     // anything else: 500, logged, shown as "erreur interne"

	// EUnprocessable: a file read whole whose content is refused, line by
	// line (a history import): 422.
	EUnprocessable = "unprocessable"
)

// Error is an error meant for users: a code, a message in French, and the
// field or place it is about when there is one.
type Error struct {
	Code    string
	Field   string // JSON field, CSV "line 4, column phone", "file.yaml:12"; may be empty
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err: the message of its
// *Error, or "erreur interne" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "erreur interne"
}

// ErrorField returns the field of err's *Error, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ListError gathers several input errors (CSV lines, playbook fields) so that
// a user sees all of them at once. It carries code EInvalid.
type ListError struct {
	Errs []*Error
}

func (l *ListError) Error() string {
	if len(l.Errs) == 1 {
		return l.Errs[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l.Errs[0].Error(), len(l.Errs)-1)
}

// Unwrap lets errors.As find the first *Error, so ErrorCode reports EInvalid.
func (l *ListError) Unwrap() error {
	if len(l.Errs) == 0 {
		return nil
	}
	return l.Errs[0]
}

// Add appends an error about field.
func (l *ListError) Add(field, format string, args ...any) {
	l.Errs = append(l.Errs, FieldErrorf(EInvalid, field, format, args...))
}

// Err returns l, or nil when nothing was added.
func (l *ListError) Err() error {
	if len(l.Errs) == 0 {
		return nil
	}
	return l
}

// Sentinel errors for expected states.
var (
	// ErrNotLeader: a fenced write failed because this replica no longer
	// leads. The leader's work stops at once.
	ErrNotLeader = errors.New("not the leader any more")
	// ErrNoChange: an update function decided to write nothing.
	ErrNoChange = errors.New("no change")
)
