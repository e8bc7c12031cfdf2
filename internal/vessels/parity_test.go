package vessels

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/models"
)

// parity.json is written by train/vessels/train.py at export: an RGB test
// card, the normalized input PyTorch computed from it, and the PyTorch
// model's probabilities. Go must reproduce both.
type parity struct {
	Input []float32 `json:"input"`
	Prob  []float32 `json:"prob"`
}

func loadParity(t *testing.T) (*image.NRGBA, parity) {
	t.Helper()
	var p parity
	img := infertest.LoadParity(t, "testdata/parity.json", &p)
	return img, p
}

func newSegmenter(t *testing.T) *Segmenter {
	t.Helper()
	return newSegmenterConfig(t, infer.Config{Threads: 2})
}

func newSegmenterConfig(t *testing.T, cfg infer.Config) *Segmenter {
	t.Helper()
	m, err := models.Vessels()
	if err != nil {
		t.Fatal(err)
	}
	seg, err := New(infertest.OpenRuntimeConfig(t, cfg), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	return seg
}

func TestNormalizeMatchesTraining(t *testing.T) {
	img, p := loadParity(t)
	m, err := models.Vessels()
	if err != nil {
		t.Fatal(err)
	}
	infertest.CheckInput(t, img, m.Meta.FOVThreshold, p.Input)
}

func TestSegmentMatchesPyTorch(t *testing.T) {
	img, p := loadParity(t)
	for _, tc := range []struct {
		name string
		cfg  infer.Config
	}{
		{"default", infer.Config{Threads: 2}},
		{"low memory", infer.Config{Threads: 2, LowMemory: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := newSegmenterConfig(t, tc.cfg)
			got, err := seg.Segment(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := range got.Prob {
				worst = math.Max(worst, math.Abs(float64(got.Prob[i]-p.Prob[i])))
			}
			if worst > 1e-3 {
				t.Fatalf("max |Go-PyTorch| probability difference %.2g, want <= 1e-3", worst)
			}
		})
	}
}

func TestSegmentConcurrent(t *testing.T) {
	img, _ := loadParity(t)
	seg := newSegmenter(t)
	want, err := seg.Segment(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := seg.Segment(context.Background(), img)
			if err == nil {
				for i := range got.Prob {
					if got.Prob[i] != want.Prob[i] {
						err = errors.New("concurrent run gave a different result")
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSegmentRejectsTinyImage(t *testing.T) {
	s := newWithRunner(nil, models.Model{})
	if _, err := s.Segment(context.Background(), image.NewNRGBA(image.Rect(0, 0, 8, 8))); err == nil {
		t.Fatal("no error for an 8x8 image")
	}
}
