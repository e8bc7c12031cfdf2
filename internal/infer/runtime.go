package infer

import (
	"errors"
	"runtime"
)

// Config says how to start ONNX Runtime. The zero value is useful: the
// library is found by FindLibrary and each Run uses all CPUs.
type Config struct {
	LibraryPath string // explicit path to libonnxruntime.so; empty: FindLibrary
	Threads     int    // intra-op threads per Run; 0: runtime.NumCPU()
	// LowMemory turns off ONNX Runtime's CPU memory arena, which keeps the
	// largest buffers of every session for reuse. Measured on the bundled
	// sample (analyze, 1 thread): peak RSS 960 MB → 540-600 MB for about
	// 0.4 s more system time per photo (page faults on fresh buffers).
	LowMemory bool
}

func (c Config) threads() int {
	if c.Threads > 0 {
		return c.Threads
	}
	return runtime.NumCPU()
}

// Model is an ONNX graph with one float32 input and one float32 output.
type Model struct {
	Name   string
	ONNX   []byte
	Input  string
	Output string
}

// ErrClosed is returned by a Session used after Close.
var ErrClosed = errors.New("session closed")
