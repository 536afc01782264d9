package session

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// appError converts err into the *engine.Error the front end sees: its
// message includes the wrapped cause, and errors without a code become
// "internal" (a cancelled context becomes "cancelled").
func appError(err error) *engine.Error {
	if err == nil {
		return nil
	}
	var e *engine.Error
	if errors.As(err, &e) {
		return &engine.Error{Code: e.Code, Params: e.Params, Msg: e.Error()}
	}
	if errors.Is(err, context.Canceled) {
		return &engine.Error{Code: engine.CodeCancelled, Msg: err.Error()}
	}
	return &engine.Error{Code: engine.CodeInternal, Msg: err.Error()}
}

// jsError is an error whose text is the JSON of an *engine.Error.
type jsError struct {
	text  string
	cause error
}

func (e *jsError) Error() string { return e.text }
func (e *jsError) Unwrap() error { return e.cause }

// JSError converts err for a Wails binding: nil stays nil, anything else
// becomes an error whose Error() is `{"code":…,"params":…,"message":…}`,
// which the front end parses with JSON.parse(String(err)).
func JSError(err error) error {
	if err == nil {
		return nil
	}
	b, merr := json.Marshal(appError(err))
	if merr != nil {
		b, _ = json.Marshal(&engine.Error{Code: engine.CodeInternal, Msg: err.Error()})
	}
	return &jsError{text: string(b), cause: err}
}

// JS applies JSError to the error of a (value, error) pair.
func JS[T any](v T, err error) (T, error) { return v, JSError(err) }
