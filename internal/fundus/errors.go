package fundus

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers use errors.Is. Every returned error is one line
// naming the file and the reason.
var (
	ErrEmpty       = errors.New("empty file")
	ErrTooLarge    = errors.New("image too large")
	ErrCorrupt     = errors.New("corrupt or truncated image")
	ErrUnsupported = errors.New("not a supported image format")
	ErrNoFOV       = errors.New("no field of view found")
)

// fileError builds "decode NAME: SENTINEL[: CAUSE]" so that errors.Is finds
// both the sentinel and the underlying cause.
func fileError(op, name string, kind, cause error) error {
	if cause == nil {
		return fmt.Errorf("%s %s: %w", op, name, kind)
	}
	return fmt.Errorf("%s %s: %w: %w", op, name, kind, oneLine(cause))
}

// oneLine keeps third-party messages (and panic values) from breaking the
// one-line promise, while still unwrapping to the original error.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return &flatError{msg: strings.Join(strings.Fields(msg), " "), err: err}
}

type flatError struct {
	msg string
	err error
}

func (e *flatError) Error() string { return e.msg }
func (e *flatError) Unwrap() error { return e.err }
