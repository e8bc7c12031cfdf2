//go:build !cgo

package infer

import (
	"context"
	"fmt"
)

// errNoCgo explains the one thing a !cgo build cannot do.
var errNoCgo = fmt.Errorf("%w: this binary was built without cgo (CGO_ENABLED=0); rebuild with CGO_ENABLED=1 and a C compiler", ErrRuntimeMissing)

// Runtime is unavailable without cgo.
type Runtime struct{}

// Open always fails in a !cgo build.
func Open(Config) (*Runtime, error) { return nil, errNoCgo }

func (r *Runtime) Library() string                    { return "" }
func (r *Runtime) Version() string                    { return "" }
func (r *Runtime) Close() error                       { return nil }
func (r *Runtime) NewSession(Model) (*Session, error) { return nil, errNoCgo }

// Session is unavailable without cgo.
type Session struct{}

func (s *Session) Run(context.Context, Tensor) (Tensor, error) { return Tensor{}, errNoCgo }
func (s *Session) Close() error                                { return nil }
