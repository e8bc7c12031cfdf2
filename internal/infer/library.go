package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ORTVersion is the ONNX Runtime release that scripts/fetch-onnxruntime.sh
// pins. onnxruntime_go v1.27 needs the C API of ORT 1.24 or newer.
const ORTVersion = "1.24.3"

// FetchCommand is the one command that installs the library for a user.
const FetchCommand = "scripts/fetch-onnxruntime.sh"

// ErrRuntimeMissing means no ONNX Runtime shared library could be found.
var ErrRuntimeMissing = errors.New("ONNX Runtime library not found")

// CacheDir is where scripts/fetch-onnxruntime.sh puts the library:
// $RETINALGPT_CACHE, else $XDG_CACHE_HOME/retinalgpt, else ~/.cache/retinalgpt.
func CacheDir() string {
	if d := os.Getenv("RETINALGPT_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "retinalgpt")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "retinalgpt")
	}
	return filepath.Join(os.TempDir(), "retinalgpt-cache")
}

// FindLibrary returns the path of libonnxruntime.so: explicit (a flag) if
// given, else $ONNXRUNTIME_LIB, else the fetch script's cache, else the
// usual system locations. An explicit or environment path that does not
// exist is an error rather than a silent fallback, so a typo is noticed.
func FindLibrary(explicit string) (string, error) {
	for _, c := range []struct{ path, from string }{
		{explicit, "--onnxruntime-lib"},
		{os.Getenv("ONNXRUNTIME_LIB"), "ONNXRUNTIME_LIB"},
	} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("%w: %s=%s does not exist; run %s or fix the path", ErrRuntimeMissing, c.from, c.path, FetchCommand)
		}
		return c.path, nil
	}
	candidates := []string{
		filepath.Join(CacheDir(), "onnxruntime", ORTVersion, "libonnxruntime.so"),
		"/usr/local/lib/libonnxruntime.so",
		"/usr/lib/libonnxruntime.so",
		"/usr/lib/x86_64-linux-gnu/libonnxruntime.so",
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s); run %s, or set ONNXRUNTIME_LIB=/path/to/libonnxruntime.so",
		ErrRuntimeMissing, strings.Join(candidates, ", "), FetchCommand)
}
