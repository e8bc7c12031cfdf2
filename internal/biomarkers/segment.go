package biomarkers

import (
	"image"
	"math"
	"slices"
)

// Defaults for Options fields left at zero.
const (
	// DefaultSigmaPx is the Gaussian smoothing of centrelines along the
	// path, in px: enough to remove the staircase of an 8-connected chain
	// while bending a 20 px-radius arc by under 1 %.
	DefaultSigmaPx = 2.0
	// DefaultCurvatureSigmaPx is the scale, in px, of the local quadratic
	// fit that gives curvature. Pixel quantisation of a nearly straight
	// vessel puts a 1 px step every 1/slope px; at 2 px those steps alone
	// read as bends of radius ~30 px, at 8 px as radius > 300 px, while
	// arcs of radius 30-100 px are still read within 5 %. The price:
	// wiggles shorter than ~50 px are under-reported.
	DefaultCurvatureSigmaPx = 8.0
	// DefaultMinTortuosityLengthPx: shorter segments are excluded from the
	// tortuosity means; their chord is too short for arc/chord to mean much
	// and their curvature is dominated by the ends.
	DefaultMinTortuosityLengthPx = 10.0
	// inflectionCurvature is the hysteresis threshold (1/px, a 200 px
	// radius) a curvature must pass on the other side before a sign change
	// counts as an inflection, so pixel noise on a straight run does not
	// split it.
	inflectionCurvature = 0.005
)

// SegmentMeasures are the measures of one graph segment. Lengths and widths
// are in px, curvatures in 1/px.
type SegmentMeasures struct {
	// Segment is the index into Graph.Segments.
	Segment int `json:"segment"`
	// LengthPx is the arc length of the smoothed centreline, ChordPx the
	// distance between its ends.
	LengthPx float64 `json:"length_px"`
	ChordPx  float64 `json:"chord_px"`
	// DistanceTortuosity is LengthPx/ChordPx (1 for a straight segment).
	DistanceTortuosity float64 `json:"distance_tortuosity"`
	// CurvatureTortuosityPerPx2 is ∫κ² ds / L along the ordered
	// centreline, in 1/px² (1/R² for an arc of radius R); κ comes from a
	// local quadratic fit of scale Options.CurvatureSigmaPx to the
	// smoothed path (see fitCurvatures).
	CurvatureTortuosityPerPx2 float64 `json:"squared_curvature_tortuosity_per_px2"`
	// MeanCurvaturePerPx is ∫|κ| ds / L, in 1/px (1/R for an arc).
	MeanCurvaturePerPx float64 `json:"mean_curvature_per_px"`
	// TortuosityDensityPerPx is Grisan et al. (2008):
	// (n−1)/n · (1/L) · Σᵢ (Lᵢ/Cᵢ − 1) over the n sub-segments between
	// inflection points, Lᵢ their arc lengths and Cᵢ their chords; 0 when
	// there is no inflection.
	TortuosityDensityPerPx float64 `json:"tortuosity_density_per_px"`
	Inflections            int     `json:"inflections"`
	// WidthPx is the median of the sub-pixel widths measured across the
	// vessel at interior centreline points; 0 when none could be measured.
	WidthPx float64 `json:"width_px"`
	// InteriorLengthPx is the length left once the stretches next to branch
	// points are trimmed; the curvature measures and the tortuosity density
	// are taken over it.
	InteriorLengthPx float64 `json:"interior_length_px"`
	// Tortuosity is true when the interior is long enough
	// (Options.MinTortuosityLengthPx) to enter the tortuosity means.
	Tortuosity bool `json:"in_tortuosity"`

	// path is the smoothed centreline, kept for branching angles.
	path []vec
}

// sampler reads a profile image as a continuous field in [0, 1] by bilinear
// interpolation between pixel centres; outside the image it is 0.
type sampler struct {
	img  *image.Gray
	w, h int
}

func newSampler(img *image.Gray) sampler {
	return sampler{img, img.Bounds().Dx(), img.Bounds().Dy()}
}

func (s sampler) pix(x, y int) float64 {
	if x < 0 || y < 0 || x >= s.w || y >= s.h {
		return 0
	}
	return float64(s.img.Pix[y*s.img.Stride+x]) / 255
}

func (s sampler) at(p vec) float64 {
	fx, fy := p.X-0.5, p.Y-0.5
	x0, y0 := math.Floor(fx), math.Floor(fy)
	tx, ty := fx-x0, fy-y0
	ix, iy := int(x0), int(y0)
	top := s.pix(ix, iy)*(1-tx) + s.pix(ix+1, iy)*tx
	bot := s.pix(ix, iy+1)*(1-tx) + s.pix(ix+1, iy+1)*tx
	return top*(1-ty) + bot*ty
}

// halfWidth walks from c along unit direction d and returns the distance to
// the first point where the profile falls below 0.5, to about 0.01 px:
// coarse 0.5 px steps find the crossing, 0.05 px steps refine it and linear
// interpolation places it between the last two samples. It returns -1 if
// there is no crossing within limit px.
func (s sampler) halfWidth(c, d vec, limit float64) float64 {
	prevT, prevV := 0.0, s.at(c)
	for t := 0.5; t <= limit; t += 0.5 {
		v := s.at(c.add(d.scale(t)))
		if v < 0.5 {
			for ft := prevT + 0.05; ft <= t+1e-9; ft += 0.05 {
				fv := s.at(c.add(d.scale(ft)))
				if fv < 0.5 {
					return ft - 0.05 + 0.05*(prevV-0.5)/(prevV-fv)
				}
				prevT, prevV = ft, fv
			}
			return t
		}
		prevT, prevV = t, v
	}
	return -1
}

// widthAt measures the vessel width across the path at point i, along the
// normal of the local tangent; -1 if the profile is not above 0.5 at the
// centre or has no crossing on either side.
func (s sampler) widthAt(p []vec, i int, limit float64) float64 {
	_, _, w1, w2, ok := s.span(p, i, limit)
	if !ok {
		return -1
	}
	return w1 + w2
}

// span is widthAt's measurement: the centre c, the unit normal n, and the
// distances w1 along n and w2 against it to the half-profile crossings.
func (s sampler) span(p []vec, i int, limit float64) (c, n vec, w1, w2 float64, ok bool) {
	a, b := p[max(i-1, 0)], p[min(i+1, len(p)-1)]
	t := b.sub(a)
	l := t.norm()
	if l == 0 || s.at(p[i]) < 0.5 {
		return c, n, 0, 0, false
	}
	c, n = p[i], vec{-t.Y / l, t.X / l}
	w1 = s.halfWidth(c, n, limit)
	w2 = s.halfWidth(c, n.scale(-1), limit)
	return c, n, w1, w2, w1 >= 0 && w2 >= 0
}

// segmentWidth is the median width over interior points. Points within
// one median width (+2 px) of either end are left out on a second pass
// because near a branch point the profile runs into the other branches and
// near a free end into the vessel's rounded tip.
func segmentWidth(s sampler, p []vec) float64 {
	const limit = 64
	ws := make([]float64, len(p))
	var all []float64
	for i := range p {
		ws[i] = s.widthAt(p, i, limit)
		if ws[i] > 0 {
			all = append(all, ws[i])
		}
	}
	if len(all) == 0 {
		return 0
	}
	w0 := median(all)
	trim := int(math.Ceil(w0 + 2))
	var inner []float64
	for i := trim; i < len(p)-trim; i++ {
		if ws[i] > 0 {
			inner = append(inner, ws[i])
		}
	}
	if len(inner) == 0 {
		return w0
	}
	return median(inner)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// measureSegment computes the shape measures of one ordered pixel path and,
// when prof is non-nil, its width from that profile. trim0 and trim1 are
// the arc lengths, in px, left out of the curvature measures at the start
// and the end: near a branch point the skeleton bends into the junction,
// a bend that belongs to no vessel (see Measure for the amounts).
func measureSegment(pts []image.Point, prof *sampler, opt Options, trim0, trim1 float64) SegmentMeasures {
	p := smoothPath(pts, opt.SigmaPx)
	m := SegmentMeasures{path: p}
	m.LengthPx = polyLength(p)
	if len(p) >= 2 {
		m.ChordPx = p[len(p)-1].sub(p[0]).norm()
	}
	if m.ChordPx > 0 {
		m.DistanceTortuosity = m.LengthPx / m.ChordPx
	}
	if prof != nil {
		m.WidthPx = segmentWidth(*prof, p)
	}
	k, ds := fitCurvatures(p, opt.CurvatureSigmaPx)
	// Interior [i0, i1) after trimming.
	i0, i1 := 0, len(p)
	for acc := 0.0; i0 < len(p)-1 && acc < trim0; i0++ {
		acc += p[i0+1].sub(p[i0]).norm()
	}
	for acc := 0.0; i1 > i0+1 && acc < trim1; i1-- {
		acc += p[i1-1].sub(p[i1-2]).norm()
	}
	inner := p[i0:i1]
	m.InteriorLengthPx = polyLength(inner)
	if m.InteriorLengthPx > 0 {
		for i := i0; i < i1; i++ {
			m.CurvatureTortuosityPerPx2 += k[i] * k[i] * ds[i]
			m.MeanCurvaturePerPx += math.Abs(k[i]) * ds[i]
		}
		m.CurvatureTortuosityPerPx2 /= m.InteriorLengthPx
		m.MeanCurvaturePerPx /= m.InteriorLengthPx
	}
	m.TortuosityDensityPerPx, m.Inflections = tortuosityDensity(inner, k[i0:i1])
	m.Tortuosity = m.InteriorLengthPx >= opt.MinTortuosityLengthPx && m.ChordPx > 0
	return m
}

// tortuosityDensity implements Grisan et al. 2008 (IEEE TMI 27(3):310):
// TD = (n−1)/n · (1/L) · Σᵢ (Lᵢ/Cᵢ − 1), n sub-segments split at inflection
// points. An inflection is a change in the sign of curvature confirmed by
// |κ| > inflectionCurvature on both sides; it is placed midway between the
// last confirming point of the old sign and the first of the new.
func tortuosityDensity(p []vec, k []float64) (float64, int) {
	L := polyLength(p)
	if L == 0 {
		return 0, 0
	}
	cuts := []int{0}
	sign, last := 0, 0
	for i, v := range k {
		s := 0
		switch {
		case v > inflectionCurvature:
			s = 1
		case v < -inflectionCurvature:
			s = -1
		default:
			continue
		}
		if sign != 0 && s != sign {
			cuts = append(cuts, (last+i)/2)
		}
		sign, last = s, i
	}
	cuts = append(cuts, len(p)-1)
	n := len(cuts) - 1
	if n < 2 {
		return 0, 0
	}
	sum := 0.0
	for j := 0; j < n; j++ {
		sub := p[cuts[j] : cuts[j+1]+1]
		c := sub[len(sub)-1].sub(sub[0]).norm()
		if c > 0 {
			sum += polyLength(sub)/c - 1
		}
	}
	return float64(n-1) / float64(n) * sum / L, n - 1
}
