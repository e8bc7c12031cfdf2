package vessels

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/models"
)

// net is what the vessel and A/V segmenters share: a model session, its
// metadata and the tiling, and the path from an RGB image to per-channel
// sigmoid probabilities.
type net struct {
	run    infer.Runner
	model  models.Model
	tiling infer.Tiling
}

// openNet checks that m takes the input this package prepares and loads it
// into an ONNX Runtime session.
func openNet(rt *infer.Runtime, m models.Model, what string) (net, error) {
	if m.Meta.Normalization != "fov_standardize" || m.Meta.Channels != "RGB" {
		return net{}, fmt.Errorf("%s model %s: unsupported input %s/%s", what, m.Meta.Version, m.Meta.Channels, m.Meta.Normalization)
	}
	s, err := rt.NewSession(infer.Model{Name: m.Meta.Name, ONNX: m.ONNX, Input: m.Meta.Input, Output: m.Meta.Output})
	if err != nil {
		return net{}, err
	}
	return newNet(s, m), nil
}

func newNet(r infer.Runner, m models.Model) net {
	// Up to 1024x1024 runs in one piece: tiling a 1024 image into 512s with
	// overlap would do twice the work for no gain in memory that matters.
	return net{run: r, model: m, tiling: infer.Tiling{Tile: 1024, Overlap: 128, Multiple: max(m.Meta.SizeMultiple, 1)}}
}

// Close releases the session.
func (n *net) Close() error {
	if c, ok := n.run.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Model describes the model in use.
func (n *net) Model() models.Model { return n.model }

// probabilities normalizes img, runs the model tiled and returns the
// sigmoid of its output, channels (which must number want) one after
// another, each row-major at img's size. what names the step in errors.
func (n *net) probabilities(ctx context.Context, img *image.NRGBA, want int, what string) ([]float32, error) {
	b := img.Bounds()
	if b.Dx() < 16 || b.Dy() < 16 {
		return nil, fmt.Errorf("%s: image %dx%d is too small", what, b.Dx(), b.Dy())
	}
	in := infer.FOVStandardize(img, n.model.Meta.FOVThreshold)
	out, err := infer.RunTiled(ctx, n.run, in, n.tiling)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int(out.Shape[1]) != want {
		return nil, fmt.Errorf("%s: model has %d output channels, want %d", what, out.Shape[1], want)
	}
	for i, v := range out.Data {
		out.Data[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return out.Data, nil
}

// Segmenter runs the vessel model. Create one and share it: Segment is safe
// for concurrent use.
type Segmenter struct {
	net
}

// New loads the model into an ONNX Runtime session.
func New(rt *infer.Runtime, m models.Model) (*Segmenter, error) {
	n, err := openNet(rt, m, "vessel")
	if err != nil {
		return nil, err
	}
	return &Segmenter{n}, nil
}

func newWithRunner(r infer.Runner, m models.Model) *Segmenter {
	return &Segmenter{newNet(r, m)}
}

// Map is a vessel probability map at the resolution of the segmented image.
type Map struct {
	Width, Height int
	Prob          []float32 // row-major, 0..1
	Threshold     float64   // the model's fixed operating threshold
}

// Segment returns the vessel probability of every pixel of img.
func (s *Segmenter) Segment(ctx context.Context, img *image.NRGBA) (*Map, error) {
	p, err := s.probabilities(ctx, img, 1, "segment vessels")
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	return &Map{Width: b.Dx(), Height: b.Dy(), Prob: p, Threshold: s.model.Meta.Threshold}, nil
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
