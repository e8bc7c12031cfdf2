package vessels

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/models"
)

// Segmenter runs the vessel model. Create one and share it: Segment is safe
// for concurrent use.
type Segmenter struct {
	run    infer.Runner
	model  models.Model
	tiling infer.Tiling
}

// New loads the model into an ONNX Runtime session.
func New(rt *infer.Runtime, m models.Model) (*Segmenter, error) {
	if m.Meta.Normalization != "fov_standardize" || m.Meta.Channels != "RGB" {
		return nil, fmt.Errorf("vessel model %s: unsupported input %s/%s", m.Meta.Version, m.Meta.Channels, m.Meta.Normalization)
	}
	s, err := rt.NewSession(infer.Model{Name: m.Meta.Name, ONNX: m.ONNX, Input: m.Meta.Input, Output: m.Meta.Output})
	if err != nil {
		return nil, err
	}
	return newWithRunner(s, m), nil
}

func newWithRunner(r infer.Runner, m models.Model) *Segmenter {
	// Up to 1024x1024 runs in one piece: tiling a 1024 image into 512s with
	// overlap would do twice the work for no gain in memory that matters.
	return &Segmenter{run: r, model: m, tiling: infer.Tiling{Tile: 1024, Overlap: 128, Multiple: max(m.Meta.SizeMultiple, 1)}}
}

// Close releases the session.
func (s *Segmenter) Close() error {
	if c, ok := s.run.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Model describes the model in use.
func (s *Segmenter) Model() models.Model { return s.model }

// Map is a vessel probability map at the resolution of the segmented image.
type Map struct {
	Width, Height int
	Prob          []float32 // row-major, 0..1
	Threshold     float64   // the model's fixed operating threshold
}

// Segment returns the vessel probability of every pixel of img.
func (s *Segmenter) Segment(ctx context.Context, img *image.NRGBA) (*Map, error) {
	b := img.Bounds()
	if b.Dx() < 16 || b.Dy() < 16 {
		return nil, fmt.Errorf("segment vessels: image %dx%d is too small", b.Dx(), b.Dy())
	}
	in := infer.FOVStandardize(img, s.model.Meta.FOVThreshold)
	out, err := infer.RunTiled(ctx, s.run, in, s.tiling)
	if err != nil {
		return nil, fmt.Errorf("segment vessels: %w", err)
	}
	if out.Shape[1] != 1 {
		return nil, fmt.Errorf("segment vessels: model has %d output channels, want 1", out.Shape[1])
	}
	for i, v := range out.Data {
		out.Data[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return &Map{Width: b.Dx(), Height: b.Dy(), Prob: out.Data, Threshold: s.model.Meta.Threshold}, nil
}

// Mask is the binary vessel mask at the model's threshold (255 = vessel).
func (m *Map) Mask() *image.Gray {
	return Threshold(m.Prob, m.Width, m.Height, m.Threshold)
}

// Threshold binarizes a probability map of size w x h.
func Threshold(prob []float32, w, h int, t float64) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, p := range prob {
		if float64(p) >= t {
			g.Pix[i] = 255
		}
	}
	return g
}
