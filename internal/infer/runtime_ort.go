//go:build cgo

package infer

import (
	"context"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime keeps one environment per process, inside onnxruntime_go.
// These are the only package-level variables: they mirror that library
// state, and every Runtime shares it by reference count.
var (
	envMu   sync.Mutex
	envRefs int
	envLib  string
)

// Runtime is a handle on the process's ONNX Runtime environment.
type Runtime struct {
	cfg  Config
	lib  string
	once sync.Once
}

// Open finds and loads the ONNX Runtime library. Close releases it.
func Open(cfg Config) (*Runtime, error) {
	lib, err := FindLibrary(cfg.LibraryPath)
	if err != nil {
		return nil, err
	}
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs == 0 {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return nil, fmt.Errorf("%w: loading %s: %v; run %s for a known-good copy", ErrRuntimeMissing, lib, err, FetchCommand)
		}
		envLib = lib
	} else if envLib != lib {
		return nil, fmt.Errorf("ONNX Runtime already loaded from %s; cannot also load %s", envLib, lib)
	}
	envRefs++
	return &Runtime{cfg: cfg, lib: lib}, nil
}

// Library is the path of the loaded shared library.
func (r *Runtime) Library() string { return r.lib }

// Version is the ONNX Runtime version string of the loaded library.
func (r *Runtime) Version() string { return ort.GetVersion() }

// Close releases this handle; the environment is destroyed with the last one.
func (r *Runtime) Close() error {
	var err error
	r.once.Do(func() {
		envMu.Lock()
		defer envMu.Unlock()
		envRefs--
		if envRefs == 0 {
			err = ort.DestroyEnvironment()
		}
	})
	return err
}

// Session is a loaded model. Run is safe for concurrent use: ONNX Runtime
// sessions allow concurrent Run calls, and each call has its own tensors.
type Session struct {
	name string
	mu   sync.RWMutex // guards s against Close while runs are in flight
	s    *ort.DynamicAdvancedSession
}

// NewSession loads a model once; reuse the Session for every image.
func (r *Runtime) NewSession(m Model) (*Session, error) {
	if len(m.ONNX) == 0 {
		return nil, fmt.Errorf("model %s: empty ONNX data", m.Name)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("model %s: session options: %w", m.Name, err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(r.cfg.threads()); err != nil {
		return nil, fmt.Errorf("model %s: threads: %w", m.Name, err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("model %s: threads: %w", m.Name, err)
	}
	if r.cfg.LowMemory {
		if err := opts.SetCpuMemArena(false); err != nil {
			return nil, fmt.Errorf("model %s: memory arena: %w", m.Name, err)
		}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(m.ONNX, []string{m.Input}, []string{m.Output}, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: create session: %w", m.Name, err)
	}
	return &Session{name: m.Name, s: s}, nil
}

// Run runs the model on in and returns its single output.
func (s *Session) Run(ctx context.Context, in Tensor) (Tensor, error) {
	if err := ctx.Err(); err != nil {
		return Tensor{}, err
	}
	if err := in.Validate(); err != nil {
		return Tensor{}, fmt.Errorf("model %s: input: %w", s.name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return Tensor{}, fmt.Errorf("model %s: %w", s.name, ErrClosed)
	}
	x, err := ort.NewTensor(ort.NewShape(in.Shape...), in.Data)
	if err != nil {
		return Tensor{}, fmt.Errorf("model %s: input tensor: %w", s.name, err)
	}
	defer x.Destroy()
	outs := []ort.Value{nil}
	if err := s.s.Run([]ort.Value{x}, outs); err != nil {
		return Tensor{}, fmt.Errorf("model %s: run: %w", s.name, err)
	}
	defer outs[0].Destroy()
	y, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return Tensor{}, fmt.Errorf("model %s: output is not a float32 tensor", s.name)
	}
	shape := y.GetShape()
	out := Tensor{Shape: append([]int64(nil), shape...), Data: append([]float32(nil), y.GetData()...)}
	return out, nil
}

// Close frees the session; it waits for runs in flight.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}
