package biomarkers

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
)

// AVLabel is the class of one pixel of an artery/vein map, or of one
// centreline segment once its pixels have voted.
type AVLabel uint8

// Artery/vein classes. They follow the RITE colour code (Hu et al. 2013):
// black background, red artery, blue vein, green crossing, white vessel of
// uncertain type.
const (
	// AVBackground is no vessel, or a vessel pixel the map left unlabelled.
	AVBackground AVLabel = iota
	AVArtery
	AVVein
	// AVCrossing is where an artery and a vein overlap; such pixels belong
	// to both trees (as AutoMorph counts them).
	AVCrossing
	// AVUncertain is a vessel whose type the map does not know.
	AVUncertain
)

var avNames = [...]string{"background", "artery", "vein", "crossing", "uncertain"}

// String returns the lower-case name, e.g. "artery".
func (l AVLabel) String() string {
	if int(l) < len(avNames) {
		return avNames[l]
	}
	return fmt.Sprintf("AVLabel(%d)", uint8(l))
}

// MarshalText writes the name, so JSON shows "artery" rather than 1.
func (l AVLabel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// AVMap is a per-pixel artery/vein map on the vessel mask's pixel grid:
// Pix[y*W+x] is the class of pixel (x, y), counted from the mask's
// Bounds().Min. A future A/V model fills one directly; AVMapFromRITE reads
// the RITE colour code.
type AVMap struct {
	W, H int
	Pix  []AVLabel
}

// NewAVMap returns a w×h map, all AVBackground.
func NewAVMap(w, h int) *AVMap { return &AVMap{W: w, H: h, Pix: make([]AVLabel, w*h)} }

// At is the label of pixel (x, y); AVBackground outside the map.
func (m *AVMap) At(x, y int) AVLabel {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return AVBackground
	}
	return m.Pix[y*m.W+x]
}

// Set labels pixel (x, y); outside the map it does nothing.
func (m *AVMap) Set(x, y int, l AVLabel) {
	if x >= 0 && y >= 0 && x < m.W && y < m.H {
		m.Pix[y*m.W+x] = l
	}
}

func (m *AVMap) check() error {
	if m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H {
		return fmt.Errorf("A/V map %dx%d has %d labels", m.W, m.H, len(m.Pix))
	}
	for _, l := range m.Pix {
		if l > AVUncertain {
			return fmt.Errorf("A/V map holds an unknown label %d", l)
		}
	}
	return nil
}

// riteColours is the RITE palette in label order.
var riteColours = [...][3]int32{
	AVBackground: {0, 0, 0},
	AVArtery:     {255, 0, 0},
	AVVein:       {0, 0, 255},
	AVCrossing:   {0, 255, 0},
	AVUncertain:  {255, 255, 255},
}

// AVMapFromRITE reads an artery/vein image in the RITE colour code: black
// background, red (255,0,0) artery, blue (0,0,255) vein, green (0,255,0)
// crossing, white (255,255,255) uncertain. Any other colour takes the
// nearest of the five (Euclidean in RGB); one equally near two of them,
// such as magenta or cyan, is AVUncertain. Fully transparent pixels are
// background.
func AVMapFromRITE(img image.Image) *AVMap {
	b := img.Bounds()
	m := NewAVMap(b.Dx(), b.Dy())
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			if c.A == 0 {
				continue
			}
			m.Pix[y*m.W+x] = nearestRITE(int32(c.R), int32(c.G), int32(c.B))
		}
	}
	return m
}

func nearestRITE(r, g, b int32) AVLabel {
	best, second := int32(-1), int32(-1)
	var label AVLabel
	for l, c := range riteColours {
		d := (r-c[0])*(r-c[0]) + (g-c[1])*(g-c[1]) + (b-c[2])*(b-c[2])
		switch {
		case best < 0 || d < best:
			best, second, label = d, best, AVLabel(l)
		case second < 0 || d < second:
			second = d
		}
	}
	if best == second {
		return AVUncertain
	}
	return label
}

// SegmentLabel is the artery/vein class of one centreline segment, by a
// majority vote of the vessel pixels it owns (those geodesically nearest to
// its centreline; see MeasureAV): artery and vein pixels vote, crossing,
// uncertain and unlabelled pixels do not.
type SegmentLabel struct {
	// Label is AVArtery or AVVein for the majority; AVUncertain on a tie
	// or when only uncertain pixels are present; AVCrossing when no pixel
	// voted and crossing pixels are the most common label; AVBackground
	// when the map labels none of its pixels.
	Label AVLabel `json:"label"`
	// Confidence is the winner's share of the votes, 0.5 to 1; 0 when
	// nothing voted.
	Confidence  float64 `json:"confidence"`
	ArteryVotes int     `json:"artery_votes"`
	VeinVotes   int     `json:"vein_votes"`
	// Pixels is the number of vessel pixels the segment owns.
	Pixels int `json:"pixels"`
}

// voteLabel turns per-label pixel counts into a SegmentLabel.
func voteLabel(n [5]int) SegmentLabel {
	s := SegmentLabel{ArteryVotes: n[AVArtery], VeinVotes: n[AVVein]}
	for _, c := range n {
		s.Pixels += c
	}
	a, v := n[AVArtery], n[AVVein]
	switch {
	case a > v:
		s.Label, s.Confidence = AVArtery, float64(a)/float64(a+v)
	case v > a:
		s.Label, s.Confidence = AVVein, float64(v)/float64(a+v)
	case a > 0:
		s.Label, s.Confidence = AVUncertain, 0.5
	case n[AVCrossing] > 0 && n[AVCrossing] >= n[AVUncertain]:
		s.Label = AVCrossing
	case n[AVUncertain] > 0:
		s.Label = AVUncertain
	}
	return s
}

// owners assigns every vessel pixel of v (zero-origin, non-zero = vessel)
// to the segment of g whose centreline is nearest along the vessel: a
// breadth-first search through 8-connected vessel pixels from all
// centreline pixels at once. Node pixels, shared by the segments that meet
// there, go to the lowest-numbered one. Pixels not connected to any
// centreline (specks the graph drops) get -1.
func owners(v *image.Gray, g *Graph) []int32 {
	w, h := v.Bounds().Dx(), v.Bounds().Dy()
	own := make([]int32, w*h)
	for i := range own {
		own[i] = -1
	}
	var queue []int32
	for si, s := range g.Segments {
		for _, p := range s.Points {
			i := p.Y*w + p.X
			if own[i] < 0 {
				own[i] = int32(si)
				queue = append(queue, int32(i))
			}
		}
	}
	for head := 0; head < len(queue); head++ {
		i := int(queue[head])
		x, y := i%w, i/w
		for _, d := range dirs8 {
			nx, ny := x+d.X, y+d.Y
			if nx < 0 || ny < 0 || nx >= w || ny >= h {
				continue
			}
			j := ny*w + nx
			if own[j] < 0 && v.Pix[j] != 0 {
				own[j] = own[i]
				queue = append(queue, int32(j))
			}
		}
	}
	return own
}

// splitVote: below this vote share a segment is taken to be an artery and
// a vein merged in the mask (running together, touching), and its artery
// and vein pixels go to their own trees rather than all to the winner's.
const splitVote = 0.9

// AVMeasures are the image measures of all vessels, of the arteries only
// and of the veins only, with the segment labels behind the split.
type AVMeasures struct {
	All    *Measures `json:"all"`
	Artery *Measures `json:"artery"`
	Vein   *Measures `json:"vein"`

	// Segment counts of All's graph by label.
	ArterySegments     int `json:"artery_segment_count"`
	VeinSegments       int `json:"vein_segment_count"`
	CrossingSegments   int `json:"crossing_segment_count"`
	UnlabelledSegments int `json:"unlabelled_segment_count"`
	// LabelledLengthFraction is the share of All's centreline length in
	// segments labelled artery or vein.
	LabelledLengthFraction float64 `json:"labelled_length_fraction"`
	// MeanConfidence is the mean vote share of the artery and vein
	// segments, weighted by their lengths; 0 when there are none.
	MeanConfidence float64 `json:"mean_label_confidence"`

	// Labels is parallel to All.Graph.Segments.
	Labels []SegmentLabel `json:"-"`
	// ArteryMask and VeinMask are the vessel pixels (zero-origin, clipped
	// to the field of view) that Artery and Vein were measured on; measure
	// them within a zone with MeasureWith.
	ArteryMask *image.Gray `json:"-"`
	VeinMask   *image.Gray `json:"-"`
}

// MeasureAV measures mask as MeasureWith does, then splits its vessels into
// arteries and veins by av, a map on the mask's pixel grid, and measures
// each tree on its own.
//
// The split is by segment, not by pixel, so that a noisy map cannot break a
// vessel into specks: each vessel pixel belongs to the segment whose
// centreline is nearest along the vessel, and the segment's label is the
// majority of its pixels' artery and vein labels (SegmentLabel). The artery
// tree is then every pixel of an artery segment, plus every pixel the map
// calls a crossing and every pixel of a segment labelled AVCrossing, so
// that an artery runs unbroken through the veins it crosses; the vein tree
// likewise. Pixels of uncertain or unlabelled segments are in neither.
// Two exceptions go by the pixel's own label: pixels the graph does not
// reach (specks), and the artery and vein pixels of a segment whose vote
// is split (a share below 0.9), which is most often an artery and a vein
// running together and merged in the mask.
//
// The artery and vein measures use the same field of view and options
// (Options.Profile, if set, is read for every tree as it is).
func MeasureAV(mask, fov *image.Gray, av *AVMap, opt Options) (*AVMeasures, error) {
	if av == nil {
		return nil, errors.New("measure arteries and veins: nil A/V map")
	}
	if err := av.check(); err != nil {
		return nil, fmt.Errorf("measure arteries and veins: %w", err)
	}
	if mask != nil && (av.W != mask.Bounds().Dx() || av.H != mask.Bounds().Dy()) {
		return nil, fmt.Errorf("measure arteries and veins: A/V map %dx%d does not match mask %dx%d",
			av.W, av.H, mask.Bounds().Dx(), mask.Bounds().Dy())
	}
	all, err := MeasureWith(mask, fov, opt)
	if err != nil {
		return nil, err
	}
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	// The same FOV-clipped, zero-origin vessel pixels MeasureWith used.
	v := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (fov == nil || fov.Pix[y*fov.Stride+x] != 0) && mask.Pix[y*mask.Stride+x] != 0 {
				v.Pix[y*w+x] = 255
			}
		}
	}
	g := all.Graph
	own := owners(v, g)
	counts := make([][5]int, len(g.Segments))
	for i, s := range own {
		if s >= 0 {
			counts[s][av.Pix[i]]++
		}
	}
	r := &AVMeasures{All: all, Labels: make([]SegmentLabel, len(g.Segments))}
	var labelled, total, conf float64
	for i := range counts {
		l := voteLabel(counts[i])
		r.Labels[i] = l
		length := 0.0
		if i < len(all.Segments) {
			length = all.Segments[i].LengthPx
		}
		total += length
		switch l.Label {
		case AVArtery:
			r.ArterySegments++
		case AVVein:
			r.VeinSegments++
		case AVCrossing:
			r.CrossingSegments++
		default:
			r.UnlabelledSegments++
		}
		if l.Label == AVArtery || l.Label == AVVein {
			labelled += length
			conf += l.Confidence * length
		}
	}
	if total > 0 {
		r.LabelledLengthFraction = labelled / total
	}
	if labelled > 0 {
		r.MeanConfidence = conf / labelled
	}

	r.ArteryMask = image.NewGray(v.Bounds())
	r.VeinMask = image.NewGray(v.Bounds())
	for i, px := range v.Pix {
		if px == 0 {
			continue
		}
		pix, seg := av.Pix[i], av.Pix[i] // a speck goes by its own label
		if o := own[i]; o >= 0 {
			seg = r.Labels[o].Label
			if r.Labels[o].Confidence < splitVote && (pix == AVArtery || pix == AVVein) {
				seg = pix
			}
		}
		both := seg == AVCrossing || pix == AVCrossing
		if seg == AVArtery || both {
			r.ArteryMask.Pix[i] = 255
		}
		if seg == AVVein || both {
			r.VeinMask.Pix[i] = 255
		}
	}
	// The two trees are independent: measure them side by side.
	var wg sync.WaitGroup
	var errA, errV error
	wg.Go(func() { r.Artery, errA = MeasureWith(r.ArteryMask, fov, opt) })
	r.Vein, errV = MeasureWith(r.VeinMask, fov, opt)
	wg.Wait()
	if err := errors.Join(errA, errV); err != nil {
		return nil, fmt.Errorf("measure arteries and veins: %w", err)
	}
	return r, nil
}
