// Package infertest holds the test helpers shared by every package that
// runs a model: opening ONNX Runtime (skipping where it is not installed,
// unless CI demands it) and reading the parity fixtures the training
// scripts write. Only _test.go files may import it.
package infertest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"math"
	"os"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// RequireEnv makes a missing ONNX Runtime a failure rather than a skip.
const RequireEnv = "RETINALGPT_REQUIRE_ORT"

// SkipIfMissing skips t when err says ONNX Runtime is not installed and
// RequireEnv is unset.
func SkipIfMissing(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, infer.ErrRuntimeMissing) && os.Getenv(RequireEnv) == "" {
		t.Skipf("ONNX Runtime not installed (%v); set %s=1 to make this a failure", err, RequireEnv)
	}
}

// OpenRuntime opens ONNX Runtime with 2 threads and closes it after t.
func OpenRuntime(t testing.TB) *infer.Runtime {
	t.Helper()
	return OpenRuntimeConfig(t, infer.Config{Threads: 2})
}

// OpenRuntimeConfig opens ONNX Runtime as cfg says and closes it after t.
func OpenRuntimeConfig(t testing.TB, cfg infer.Config) *infer.Runtime {
	t.Helper()
	rt, err := infer.Open(cfg)
	SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// LoadParity reads a parity fixture: it unmarshals the file into v (for
// the expected values each model's test declares) and returns its RGB test
// card (fields width, height, rgb_base64) as an image.
func LoadParity(t testing.TB, path string, v any) *image.NRGBA {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var card struct {
		Width, Height int
		RGB           string `json:"rgb_base64"`
	}
	if err := json.Unmarshal(b, &card); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(card.RGB)
	if err != nil || len(raw) != 3*card.Width*card.Height {
		t.Fatalf("%s: bad rgb_base64 (%v)", path, err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, card.Width, card.Height))
	for i := 0; i < card.Width*card.Height; i++ {
		copy(img.Pix[4*i:4*i+3], raw[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img
}

// CheckInput fails t unless Go's input normalization of img
// (infer.FOVStandardize with fovThreshold) reproduces want, the tensor the
// training script computed for the same test card, within 1e-4: every
// model's parity fixture checks this first.
func CheckInput(t testing.TB, img *image.NRGBA, fovThreshold int, want []float32) {
	t.Helper()
	got := infer.FOVStandardize(img, fovThreshold)
	if len(got.Data) != len(want) {
		t.Fatalf("%d values, want %d", len(got.Data), len(want))
	}
	for i := range got.Data {
		if d := math.Abs(float64(got.Data[i] - want[i])); d > 1e-4 {
			t.Fatalf("input[%d] = %v, PyTorch had %v", i, got.Data[i], want[i])
		}
	}
}
