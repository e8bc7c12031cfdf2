package disc

import (
	"context"
	"fmt"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// Point is a position in continuous pixel coordinates (pixel (i, j) covers
// [i, i+1) x [j, j+1)), x to the right, y down.
type Point struct{ X, Y float64 }

// Landmark is a located point and the model's confidence in it.
type Landmark struct {
	Point
	// Confidence is the heatmap's peak probability, 0..1. Trained targets
	// peak at 1, so a clear landmark scores near 1 and an absent or
	// ambiguous one (fovea outside the field, a disc hidden by glare) low.
	// It is not a calibrated probability of being right.
	Confidence float64
}

// Result is where the disc centre and the fovea are, in ORIGINAL photo
// pixels.
type Result struct {
	Disc, Fovea Landmark
	// DiscAbsent says the disc channel's peak is below the model's
	// MinDiscConfidence: the locator sees no disc in the photo (a
	// macula-only field, say), and Disc is only its best guess, to be
	// used for nothing.
	DiscAbsent   bool
	ModelVersion string
}

// Eye is the laterality from the disc-fovea geometry, unknown when the
// disc is absent.
func (r Result) Eye() Eye {
	if r.DiscAbsent {
		return EyeUnknown
	}
	return Laterality(r.Disc.Point, r.Fovea.Point)
}

// Field is the field type (FieldType); without a disc only the fovea
// decides, so a macula-only photo still reads as macula-centred.
func (r Result) Field(fov fundus.FOV) Field {
	d := r.Disc.Point
	if r.DiscAbsent {
		d = Point{math.Inf(1), math.Inf(1)}
	}
	return FieldType(d, r.Fovea.Point, fov)
}

// Locator runs the disc/fovea model. Create one and share it: Locate is
// safe for concurrent use.
type Locator struct {
	session
	model Model
}

// NewLocator loads the model into an ONNX Runtime session.
func NewLocator(rt *infer.Runtime, m Model) (*Locator, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	s, err := m.open(rt, "disc model")
	if err != nil {
		return nil, err
	}
	return &Locator{session: s, model: m}, nil
}

func newWithRunner(r infer.Runner, m Model) *Locator {
	return &Locator{session: session{run: r}, model: m}
}

// Size is the analysis size the model needs: pass it to fundus.Normalize.
func (l *Locator) Size() int { return l.model.Size }

// Model describes the model in use.
func (l *Locator) Model() Model { return l.model }

// Locate finds the disc centre and the fovea in a photograph normalized to
// l.Size() and maps them back to the photograph's pixels.
func (l *Locator) Locate(ctx context.Context, n *fundus.Normalized) (Result, error) {
	if n == nil || n.Image == nil {
		return Result{}, fmt.Errorf("locate disc: no image")
	}
	if b := n.Image.Bounds(); b.Dx() != l.model.Size || b.Dy() != l.model.Size {
		// The model was trained at one scale of the FOV square; another
		// size would change the apparent size of the disc.
		return Result{}, fmt.Errorf("locate disc: image is %dx%d, model needs %dx%d (fundus.Normalize(img, %d))",
			b.Dx(), b.Dy(), l.model.Size, l.model.Size, l.model.Size)
	}
	marks, err := l.landmarks(ctx, infer.FOVStandardize(n.Image, l.model.FOVThreshold))
	if err != nil {
		return Result{}, fmt.Errorf("locate disc: %w", err)
	}
	for i := range marks {
		marks[i].X, marks[i].Y = n.Transform.ToOriginal(marks[i].X, marks[i].Y)
	}
	return Result{Disc: marks[0], Fovea: marks[1], DiscAbsent: marks[0].Confidence < l.model.MinDiscConfidence,
		ModelVersion: l.model.Version}, nil
}

// landmarks runs the model on a normalized [1,3,S,S] input and decodes both
// channels, in input-pixel coordinates.
func (l *Locator) landmarks(ctx context.Context, in infer.Tensor) ([2]Landmark, error) {
	var marks [2]Landmark
	out, err := l.run.Run(ctx, in)
	if err != nil {
		return marks, err
	}
	if len(out.Shape) != 4 || out.Shape[0] != 1 || out.Shape[1] != 2 {
		return marks, fmt.Errorf("model output shape %v, want [1 2 h w]", out.Shape)
	}
	h, w := int(out.Shape[2]), int(out.Shape[3])
	if h*w*2 != len(out.Data) || h == 0 || w == 0 {
		return marks, fmt.Errorf("model output shape %v does not match %d values", out.Shape, len(out.Data))
	}
	// The heatmap covers the input at a coarser grid; its stride comes
	// from the shapes so a model exported at another stride still maps
	// correctly.
	sx, sy := float64(in.Shape[3])/float64(w), float64(in.Shape[2])/float64(h)
	for c := range marks {
		x, y, conf := peak(out.Data[c*h*w:(c+1)*h*w], w, h, l.model.Window)
		marks[c] = Landmark{Point: Point{X: x * sx, Y: y * sy}, Confidence: conf}
	}
	return marks, nil
}
