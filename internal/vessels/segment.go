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
	// orientations are the Dihedral operations whose outputs are
	// averaged (models.Meta.TestTimeOrientations); nil: one plain run.
	orientations []int
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
	n := net{run: r, model: m, tiling: infer.Tiling{Tile: 1024, Overlap: 128, Multiple: max(m.Meta.SizeMultiple, 1)}}
	if k := m.Meta.TestTimeOrientations; k > 1 {
		// 2: as it is and mirrored; 4: also upside down; 8: also transposed.
		n.orientations = []int{0, infer.FlipX, infer.FlipY, infer.FlipX | infer.FlipY,
			infer.Transpose, infer.Transpose | infer.FlipX, infer.Transpose | infer.FlipY, infer.Transpose | infer.FlipX | infer.FlipY}[:k]
	}
	return n
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
	full := b
	if box := contentBox(img, n.model.Meta.FOVThreshold, contentMargin(n.tiling.Multiple), n.tiling.Multiple); !box.Empty() {
		b = box
		img = img.SubImage(box).(*image.NRGBA)
	}
	in := infer.FOVStandardize(img, n.model.Meta.FOVThreshold)
	out, err := infer.RunTiledAveraged(ctx, n.run, in, n.tiling, n.orientations)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int(out.Shape[1]) != want {
		return nil, fmt.Errorf("%s: model has %d output channels, want %d", what, out.Shape[1], want)
	}
	if b == full {
		for i, v := range out.Data {
			out.Data[i] = sigmoid(v)
		}
		return out.Data, nil
	}
	// Paste the box's probabilities into a full-size map; pixels the model
	// did not run on are black, outside every field of view: probability 0.
	fw, fh, bw, bh := full.Dx(), full.Dy(), b.Dx(), b.Dy()
	x0, y0 := b.Min.X-full.Min.X, b.Min.Y-full.Min.Y
	prob := make([]float32, want*fw*fh)
	for c := 0; c < want; c++ {
		for y := 0; y < bh; y++ {
			src := out.Data[(c*bh+y)*bw : (c*bh+y+1)*bw]
			dst := prob[(c*fh+y0+y)*fw+x0:]
			for x, v := range src {
				dst[x] = sigmoid(v)
			}
		}
	}
	return prob, nil
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// contentMargin is how many black pixels around the content the model
// still sees: 8 times its size multiple (2^poolings). That exceeds the
// receptive-field radius of these U-Nets (two 3x3 convolutions per level,
// down and up: about 7 x 2^poolings, 51 px for the shipped 3-pooling
// vessel and artery/vein nets), so every probability on the content is
// computed from the same numbers as without the cut
// (TestContentCropMatchesWhole) when the image runs in one piece, as
// analysis images do; a larger one is tiled from the box's corner, so its
// tile seams (blended) may move.
func contentMargin(multiple int) int { return 8 * max(multiple, 8) }

// contentBox is the bounding box of the pixels the model's normalization
// keeps (brightest channel above fovThreshold), grown by margin and
// clipped to the image, its top-left corner on the model's pooling grid
// (a multiple of align from the image's corner: a net with strided
// pooling is not shift-invariant, so a box off that grid would change
// every probability a little); the empty rectangle when that is the
// whole image or nothing would be saved. Photos whose field of view is
// cut at the top and bottom (most cameras) leave black bands in the square
// analysis image, and running the network on them is wasted time.
func contentBox(img *image.NRGBA, fovThreshold, margin, align int) image.Rectangle {
	b := img.Bounds()
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X-1, b.Min.Y-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[(y-b.Min.Y)*img.Stride:]
		for x := 0; x < b.Dx(); x++ {
			p := row[4*x : 4*x+3]
			if int(max(p[0], p[1], p[2])) > fovThreshold {
				minX, maxX = min(minX, b.Min.X+x), max(maxX, b.Min.X+x)
				minY, maxY = min(minY, y), max(maxY, y)
			}
		}
	}
	if maxX < minX {
		return image.Rectangle{} // nothing visible: the whole (dark) image runs as before
	}
	align = max(align, 1)
	down := func(v, origin int) int { return origin + max(v-origin, 0)/align*align }
	box := image.Rect(down(minX-margin, b.Min.X), down(minY-margin, b.Min.Y), maxX+1+margin, maxY+1+margin).Intersect(b)
	// Cropping less than 5% of the pixels is not worth a second copy.
	if box.Dx()*box.Dy() > b.Dx()*b.Dy()*95/100 {
		return image.Rectangle{}
	}
	return box
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
