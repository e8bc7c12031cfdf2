package vessels

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/models"
)

// The output channels the A/V model must name in its metadata's "classes"
// (in any order; train/av/train.py writes them in this one).
const (
	ClassVessel = "vessel"
	ClassArtery = "artery"
	ClassVein   = "vein"
)

// AVSegmenter runs the artery/vein model. Create one and share it: Segment
// is safe for concurrent use.
type AVSegmenter struct {
	net
	vessel, artery, vein int // output channel of each class
}

// NewAV loads the artery/vein model into an ONNX Runtime session.
func NewAV(rt *infer.Runtime, m models.Model) (*AVSegmenter, error) {
	ch, err := avChannels(m)
	if err != nil {
		return nil, err
	}
	n, err := openNet(rt, m, "A/V")
	if err != nil {
		return nil, err
	}
	return &AVSegmenter{net: n, vessel: ch[0], artery: ch[1], vein: ch[2]}, nil
}

func newAVWithRunner(r infer.Runner, m models.Model) (*AVSegmenter, error) {
	ch, err := avChannels(m)
	if err != nil {
		return nil, err
	}
	return &AVSegmenter{net: newNet(r, m), vessel: ch[0], artery: ch[1], vein: ch[2]}, nil
}

// avChannels finds the vessel, artery and vein channels in m's classes.
func avChannels(m models.Model) ([3]int, error) {
	var ch [3]int
	for i, name := range []string{ClassVessel, ClassArtery, ClassVein} {
		ch[i] = slices.Index(m.Meta.Classes, name)
		if ch[i] < 0 {
			return ch, fmt.Errorf("A/V model %s: classes %q lack %q", m.Meta.Version, m.Meta.Classes, name)
		}
	}
	return ch, nil
}

// AVMap holds the A/V model's three independent probabilities for every
// pixel of the segmented image, row-major at its resolution. Artery and
// vein are meaningful on vessel pixels only: the model was trained to
// classify pixels already known to be vessel, not to find them.
type AVMap struct {
	Width, Height int
	Vessel        []float32 // probability that the pixel is vessel, 0..1
	Artery        []float32 // probability that a vessel pixel is artery (crossings count as both)
	Vein          []float32 // probability that a vessel pixel is vein
	Threshold     float64   // the model's operating threshold for Vessel
}

// Segment returns the vessel, artery and vein probabilities of every pixel
// of img.
func (s *AVSegmenter) Segment(ctx context.Context, img *image.NRGBA) (*AVMap, error) {
	n := len(s.model.Meta.Classes)
	p, err := s.probabilities(ctx, img, n, "segment arteries and veins")
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	plane := b.Dx() * b.Dy()
	ch := func(c int) []float32 { return p[c*plane : (c+1)*plane : (c+1)*plane] }
	return &AVMap{Width: b.Dx(), Height: b.Dy(), Vessel: ch(s.vessel), Artery: ch(s.artery), Vein: ch(s.vein),
		Threshold: s.model.Meta.Threshold}, nil
}

// Mask is the A/V model's own binary vessel mask at its threshold
// (255 = vessel). The vessel model's mask (Segmenter) is usually the better
// one; either can be passed to Classify.
func (m *AVMap) Mask() *image.Gray {
	return Threshold(m.Vessel, m.Width, m.Height, m.Threshold)
}

// AVClass is the class Classify gives one pixel.
type AVClass uint8

// Pixel classes.
const (
	NotVessel AVClass = iota // outside the vessel mask
	Artery
	Vein
)

// String returns "artery", "vein" or "none".
func (c AVClass) String() string {
	switch c {
	case Artery:
		return "artery"
	case Vein:
		return "vein"
	}
	return "none"
}

// AVLabels is a per-pixel artery/vein classification of a vessel mask,
// row-major at the map's resolution.
type AVLabels struct {
	Width, Height int
	Class         []AVClass
	// Confidence is |p_artery - p_vein| on vessel pixels (0: a coin toss,
	// 1: certain), 0 elsewhere.
	Confidence []float32
}

// Classify labels every pixel of mask (non-zero = vessel; the vessel
// model's mask, the A/V model's own or a manual one, of the map's size):
// artery if p_artery > p_vein, else vein, with confidence |p_artery -
// p_vein|. Pixels outside the mask are NotVessel. The labels are per pixel;
// avlabel.Consistent makes them agree along each vessel segment.
func (m *AVMap) Classify(mask *image.Gray) (*AVLabels, error) {
	b := mask.Bounds()
	if b.Dx() != m.Width || b.Dy() != m.Height {
		return nil, fmt.Errorf("classify arteries and veins: mask %dx%d, map %dx%d", b.Dx(), b.Dy(), m.Width, m.Height)
	}
	l := &AVLabels{Width: m.Width, Height: m.Height, Class: make([]AVClass, m.Width*m.Height), Confidence: make([]float32, m.Width*m.Height)}
	for y := 0; y < m.Height; y++ {
		row := mask.Pix[y*mask.Stride : y*mask.Stride+m.Width]
		for x, v := range row {
			if v == 0 {
				continue
			}
			i := y*m.Width + x
			pa, pv := m.Artery[i], m.Vein[i]
			l.Class[i] = Vein
			if pa > pv {
				l.Class[i] = Artery
			}
			l.Confidence[i] = float32(math.Abs(float64(pa - pv)))
		}
	}
	return l, nil
}
