package infer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibrary(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "libonnxruntime.so")
	if err := os.WriteFile(present, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	cached := filepath.Join(cache, "onnxruntime", ORTVersion, "libonnxruntime.so")
	os.MkdirAll(filepath.Dir(cached), 0o755)
	os.WriteFile(cached, []byte("x"), 0o644)

	tests := []struct {
		name          string
		explicit, env string
		cache         string
		want          string
		wantErr       bool
	}{
		{"explicit wins", present, "/nope", cache, present, false},
		{"environment", "", present, cache, present, false},
		{"cache", "", "", cache, cached, false},
		{"explicit missing is an error, not a fallback", filepath.Join(dir, "typo.so"), "", cache, "", true},
		{"environment missing is an error", "", filepath.Join(dir, "typo.so"), cache, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ONNXRUNTIME_LIB", tc.env)
			t.Setenv("RETINALGPT_CACHE", tc.cache)
			got, err := FindLibrary(tc.explicit)
			if tc.wantErr {
				if !errors.Is(err, ErrRuntimeMissing) || !strings.Contains(err.Error(), FetchCommand) {
					t.Fatalf("err = %v, want ErrRuntimeMissing naming %s", err, FetchCommand)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FindLibrary = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// With nothing installed the error names the fix. (System paths are
// checked too, so this only runs where none of them has the library.)
func TestFindLibraryMissingSaysHowToFix(t *testing.T) {
	t.Setenv("ONNXRUNTIME_LIB", "")
	t.Setenv("RETINALGPT_CACHE", t.TempDir())
	_, err := FindLibrary("")
	if err == nil {
		t.Skip("a system copy of libonnxruntime.so exists")
	}
	if !errors.Is(err, ErrRuntimeMissing) || !strings.Contains(err.Error(), FetchCommand) || !strings.Contains(err.Error(), "ONNXRUNTIME_LIB") {
		t.Fatalf("error %q does not say how to fix it", err)
	}
}
