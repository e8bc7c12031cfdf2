package biomarkers

import (
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
)

// Options tune Measure. The zero value gives the documented defaults.
type Options struct {
	// SigmaPx is the Gaussian smoothing along centrelines, in px;
	// 0 means DefaultSigmaPx.
	SigmaPx float64
	// CurvatureSigmaPx is the scale of the curvature fit, in px; 0 means
	// DefaultCurvatureSigmaPx.
	CurvatureSigmaPx float64
	// MinTortuosityLengthPx: segments with a shorter smoothed length are
	// left out of the tortuosity means; 0 means
	// DefaultMinTortuosityLengthPx.
	MinTortuosityLengthPx float64
	// Profile, when non-nil, is a grey vessel-probability map (255 = surely
	// vessel) of the mask's size, read for widths instead of the mask:
	// widths are where it crosses one half, so a soft map gives sub-pixel
	// edges that a binary mask quantises.
	Profile *image.Gray
}

func (o Options) withDefaults() Options {
	if o.SigmaPx == 0 {
		o.SigmaPx = DefaultSigmaPx
	}
	if o.CurvatureSigmaPx == 0 {
		o.CurvatureSigmaPx = DefaultCurvatureSigmaPx
	}
	if o.MinTortuosityLengthPx == 0 {
		o.MinTortuosityLengthPx = DefaultMinTortuosityLengthPx
	}
	return o
}

// Measures are whole-image vascular measures. Tortuosity means and the
// median width are over segments whose Tortuosity flag is set (long enough
// once the stretches next to branch points are trimmed); they are zero when
// there are none.
type Measures struct {
	// FractalDimensionMask is AutoMorph's count: boxes partly filled by the
	// mask (the vessel boundary), sizes AutoMorphBoxSizes, least-squares
	// fit of log count on log size.
	FractalDimensionMask float64 `json:"fractal_dimension_mask"`
	// FractalDimensionSkeleton counts boxes holding any centreline pixel
	// (as SIVA does), sizes SkeletonBoxSizes, same fit.
	FractalDimensionSkeleton float64 `json:"fractal_dimension_skeleton"`
	// DensityFOV is vessel pixels over field-of-view pixels.
	DensityFOV float64 `json:"vessel_density_fov"`
	// DensityFrame is vessel pixels over all pixels of the frame, as
	// AutoMorph reports it (black corners included).
	DensityFrame float64 `json:"vessel_density_frame"`
	// AverageWidthPx is vessel area over total centreline length.
	AverageWidthPx float64 `json:"average_width_px"`
	// MedianSegmentWidthPx is the median of the segments' profile widths.
	MedianSegmentWidthPx float64 `json:"median_segment_width_px"`
	// DistanceTortuosity is the mean arc/chord (an unweighted mean, as
	// AutoMorph's).
	DistanceTortuosity float64 `json:"distance_tortuosity"`
	// CurvatureTortuosityPerPx2 is the segments' ∫κ² ds / L averaged with
	// their interior lengths as weights, i.e. ∫κ² ds over the tree per px
	// of centreline: unweighted, the many short segments, whose curvature
	// is the least reliable, would dominate (and it moved by up to 60 %
	// when the image was mirrored).
	CurvatureTortuosityPerPx2 float64 `json:"squared_curvature_tortuosity_per_px2"`
	// TortuosityDensityPerPx is the segments' Grisan density, averaged
	// with their interior lengths as weights for the same reason.
	TortuosityDensityPerPx float64 `json:"tortuosity_density_per_px"`
	// MeanBranchingAngleDeg is the mean angle between daughter vessels over
	// the bifurcations; 0 when there are none.
	MeanBranchingAngleDeg float64 `json:"mean_branching_angle_deg"`
	SegmentCount          int     `json:"segment_count"`
	TortuositySegments    int     `json:"tortuosity_segment_count"`
	BranchPoints          int     `json:"branch_point_count"`
	EndPoints             int     `json:"end_point_count"`
	// CentrelineLengthPx is the summed smoothed length of all segments.
	CentrelineLengthPx float64 `json:"centreline_length_px"`
	VesselAreaPx       int     `json:"vessel_area_px"`
	FOVAreaPx          int     `json:"fov_area_px"`

	// Graph, Segments (parallel to Graph.Segments) and Bifurcations are the
	// detail behind the numbers.
	Graph        *Graph            `json:"-"`
	Segments     []SegmentMeasures `json:"-"`
	Bifurcations []Bifurcation     `json:"-"`

	// prof is the width profile the segments were measured on, kept for
	// the widths in zone B (MeasureCalibre).
	prof sampler
}

// Measure computes Measures of a binary vessel mask (non-zero = vessel)
// within the field of view fov (non-zero = inside; nil means the whole
// frame), with default Options.
func Measure(mask, fov *image.Gray) (*Measures, error) {
	return MeasureWith(mask, fov, Options{})
}

// MeasureWith is Measure with options. Vessel pixels outside the field of
// view are ignored by every measure. Coordinates in the returned graph are
// relative to mask.Bounds().Min.
func MeasureWith(mask, fov *image.Gray, opt Options) (*Measures, error) {
	if mask == nil {
		return nil, errors.New("measure vessels: nil mask")
	}
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 8 || h < 8 {
		return nil, fmt.Errorf("measure vessels: mask %dx%d is smaller than 8x8", w, h)
	}
	if fov != nil && (fov.Bounds().Dx() != w || fov.Bounds().Dy() != h) {
		return nil, fmt.Errorf("measure vessels: FOV %v does not match mask %v", fov.Bounds().Size(), b.Size())
	}
	if opt.Profile != nil && (opt.Profile.Bounds().Dx() != w || opt.Profile.Bounds().Dy() != h) {
		return nil, fmt.Errorf("measure vessels: profile %v does not match mask %v", opt.Profile.Bounds().Size(), b.Size())
	}
	opt = opt.withDefaults()

	// Work on a zero-origin copy clipped to the FOV.
	v := image.NewGray(image.Rect(0, 0, w, h))
	m := &Measures{}
	box := image.Rectangle{Min: image.Pt(w, h)} // of the vessel pixels
	for y := 0; y < h; y++ {
		mrow, vrow := mask.Pix[y*mask.Stride:y*mask.Stride+w], v.Pix[y*w:y*w+w]
		var frow []uint8
		if fov != nil {
			frow = fov.Pix[y*fov.Stride : y*fov.Stride+w]
		} else {
			m.FOVAreaPx += w
		}
		for x, mv := range mrow {
			if frow != nil {
				if frow[x] == 0 {
					continue
				}
				m.FOVAreaPx++
			}
			if mv != 0 {
				vrow[x] = 255
				m.VesselAreaPx++
				box.Min.X, box.Min.Y = min(box.Min.X, x), min(box.Min.Y, y)
				box.Max.X, box.Max.Y = max(box.Max.X, x+1), max(box.Max.Y, y+1)
			}
		}
	}
	if m.FOVAreaPx == 0 {
		return nil, errors.New("measure vessels: empty field of view")
	}
	m.DensityFOV = float64(m.VesselAreaPx) / float64(m.FOVAreaPx)
	m.DensityFrame = float64(m.VesselAreaPx) / float64(w*h)
	if m.VesselAreaPx == 0 {
		m.Graph = &Graph{}
		return m, nil
	}

	// The mask's box count does not depend on the graph: count while the
	// centreline is traced.
	var boxes sync.WaitGroup
	boxes.Go(func() {
		var err error
		if m.FractalDimensionMask, err = boxCountDimension(v, box, true, AutoMorphBoxSizes(w, h)); err != nil {
			m.FractalDimensionMask = 0 // too little vessel to fit; not fatal
		}
	})
	defer boxes.Wait()

	var err error
	g := croppedCentrelineGraph(v, box)
	m.Graph = g
	skel := image.NewGray(v.Bounds())
	for _, s := range g.Segments {
		for _, p := range s.Points {
			skel.Pix[p.Y*w+p.X] = 255
		}
	}
	if m.FractalDimensionSkeleton, err = boxCountDimension(skel, box, false, SkeletonBoxSizes(w, h)); err != nil {
		m.FractalDimensionSkeleton = 0
	}

	profile := newSampler(v)
	if opt.Profile != nil {
		profile = newSampler(zeroOrigin(opt.Profile))
	}
	m.prof = profile
	m.Segments = make([]SegmentMeasures, len(g.Segments))
	// Segments are independent: measure them on all CPUs, then sum in
	// order so the result does not depend on the scheduling.
	workers := max(1, min(runtime.GOMAXPROCS(0), 4, len(g.Segments)/16))
	var segs sync.WaitGroup
	for k := range workers {
		segs.Go(func() {
			for i := k; i < len(g.Segments); i += workers {
				s := g.Segments[i]
				m.Segments[i] = measureSegment(s.Points, &profile, opt, junctionTrim(v, g, s.From), junctionTrim(v, g, s.To))
				m.Segments[i].Segment = i
			}
		})
	}
	segs.Wait()
	var widths []float64
	interior := 0.0
	for _, sm := range m.Segments {
		m.CentrelineLengthPx += sm.LengthPx
		if !sm.Tortuosity {
			continue
		}
		if sm.WidthPx > 0 {
			widths = append(widths, sm.WidthPx)
		}
		m.TortuositySegments++
		m.DistanceTortuosity += sm.DistanceTortuosity
		m.CurvatureTortuosityPerPx2 += sm.CurvatureTortuosityPerPx2 * sm.InteriorLengthPx
		m.TortuosityDensityPerPx += sm.TortuosityDensityPerPx * sm.InteriorLengthPx
		interior += sm.InteriorLengthPx
	}
	if n := float64(m.TortuositySegments); n > 0 {
		m.DistanceTortuosity /= n
		m.CurvatureTortuosityPerPx2 /= interior
		m.TortuosityDensityPerPx /= interior
	}
	if m.CentrelineLengthPx > 0 {
		m.AverageWidthPx = float64(m.VesselAreaPx) / m.CentrelineLengthPx
	}
	m.MedianSegmentWidthPx = median(widths)
	m.SegmentCount = len(g.Segments)
	m.BranchPoints = g.Branches()
	m.EndPoints = g.Ends()
	m.Bifurcations = Bifurcations(g, m.Segments)
	for _, bf := range m.Bifurcations {
		m.MeanBranchingAngleDeg += bf.AngleDeg
	}
	if len(m.Bifurcations) > 0 {
		m.MeanBranchingAngleDeg /= float64(len(m.Bifurcations))
	}
	return m, nil
}

// croppedCentrelineGraph is CentrelineGraph(v) computed on box, the
// bounding box of v's vessel pixels, and moved back into v's frame.
// Thinning, graph building and spur pruning only look at the vessels and
// their immediate neighbourhood, and beyond the box there are none, so the
// graph is the same; the work shrinks with the box, as for a zone.
func croppedCentrelineGraph(v *image.Gray, box image.Rectangle) *Graph {
	if box.Empty() || box == v.Bounds() {
		return CentrelineGraph(v)
	}
	c := image.NewGray(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := 0; y < box.Dy(); y++ {
		copy(c.Pix[y*c.Stride:y*c.Stride+box.Dx()], v.Pix[(box.Min.Y+y)*v.Stride+box.Min.X:])
	}
	g := CentrelineGraph(c)
	d := box.Min
	for i := range g.Nodes {
		n := &g.Nodes[i]
		for j := range n.Pixels {
			n.Pixels[j] = n.Pixels[j].Add(d)
		}
		n.X, n.Y = centroid(n.Pixels) // exactly as if found in v
	}
	for i := range g.Segments {
		for j := range g.Segments[i].Points {
			g.Segments[i].Points[j] = g.Segments[i].Points[j].Add(d)
		}
	}
	return g
}

// junctionTrim is how much of a segment next to node id is left out of its
// curvature measures: nothing at an end point; at a branch point twice the
// node's distance to the background, about the widest joining vessel's
// width, over which the skeleton bends into the junction.
func junctionTrim(mask *image.Gray, g *Graph, id int) float64 {
	n := g.Nodes[id]
	if n.Degree < 3 {
		return 0
	}
	return 2 * radiusAt(mask, n.X, n.Y, 64)
}

// zeroOrigin returns img itself when its bounds start at (0, 0), else a
// copy that does, so pixel indexing matches the mask's.
func zeroOrigin(img *image.Gray) *image.Gray {
	if img.Bounds().Min == (image.Point{}) {
		return img
	}
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		copy(out.Pix[y*out.Stride:], img.Pix[y*img.Stride:y*img.Stride+b.Dx()])
	}
	return out
}

// Bifurcation is a branch point with exactly three segments.
type Bifurcation struct {
	Node int `json:"node"`
	// Parent is the widest of the three segments (the trunk, absent flow
	// direction); Daughters are the other two.
	Parent    int    `json:"parent"`
	Daughters [2]int `json:"daughters"`
	// AngleDeg is the angle between the daughters' directions, each the
	// chord of its smoothed centreline from near = max(5 px, parent width)
	// to near + max(10 px, 2·parent width) along it from the node: within
	// about one parent width of the node the skeleton bends into the
	// junction and would bias the angle.
	AngleDeg float64 `json:"angle_deg"`
}

// Bifurcations finds the degree-3 nodes of g and their branching angles.
// segs must be parallel to g.Segments (as Measures.Segments is).
func Bifurcations(g *Graph, segs []SegmentMeasures) []Bifurcation {
	inc := make([][]int, len(g.Nodes))
	for i, s := range g.Segments {
		if s.From == s.To {
			continue
		}
		inc[s.From] = append(inc[s.From], i)
		inc[s.To] = append(inc[s.To], i)
	}
	var out []Bifurcation
	for id, e := range inc {
		if len(e) != 3 || g.Nodes[id].Degree != 3 {
			continue
		}
		par := 0
		for j := 1; j < 3; j++ {
			if segs[e[j]].WidthPx > segs[e[par]].WidthPx {
				par = j
			}
		}
		d := [2]int{e[(par+1)%3], e[(par+2)%3]}
		pw := segs[e[par]].WidthPx
		near := math.Max(5, pw)
		far := near + math.Max(10, 2*pw)
		u0 := direction(g.Segments[d[0]], segs[d[0]].path, id, near, far)
		u1 := direction(g.Segments[d[1]], segs[d[1]].path, id, near, far)
		if u0.norm() == 0 || u1.norm() == 0 {
			continue
		}
		cos := (u0.X*u1.X + u0.Y*u1.Y) / (u0.norm() * u1.norm())
		out = append(out, Bifurcation{
			Node: id, Parent: e[par], Daughters: d,
			AngleDeg: math.Acos(math.Max(-1, math.Min(1, cos))) * 180 / math.Pi,
		})
	}
	return out
}

// direction is the direction of segment s leaving node id: the vector
// between the points of its smoothed path p at arc lengths near and far
// from that end, so the bend of the skeleton into the junction (within
// about one parent width of the node) does not bias it. A segment too short
// for far is measured from min(near, L/2) to its other end.
func direction(s Segment, p []vec, id int, near, far float64) vec {
	if len(p) < 2 {
		return vec{}
	}
	if s.From != id {
		rev := make([]vec, len(p))
		for i := range p {
			rev[i] = p[len(p)-1-i]
		}
		p = rev
	}
	L := polyLength(p)
	if far > L {
		far = L
		near = math.Min(near, L/2)
	}
	return pointAt(p, far).sub(pointAt(p, near))
}

// pointAt is the point at arc length d along p, clamped to its ends.
func pointAt(p []vec, d float64) vec {
	acc := 0.0
	for i := 1; i < len(p); i++ {
		l := p[i].sub(p[i-1]).norm()
		if acc+l >= d && l > 0 {
			return p[i-1].add(p[i].sub(p[i-1]).scale((d - acc) / l))
		}
		acc += l
	}
	return p[len(p)-1]
}
