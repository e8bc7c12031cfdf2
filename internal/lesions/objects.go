package lesions

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/imgproc"
)

// Point is a position in original-photo pixels (continuous coordinates,
// x to the right, y down).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is an axis-aligned box [x_min, y_min, x_max, y_max], RetinalGPT's
// order. In pixels its edges are continuous coordinates: a box around the
// single pixel (i, j) is [i, j, i+1, j+1].
type Rect [4]float64

// Dx is the width.
func (r Rect) Dx() float64 { return r[2] - r[0] }

// Dy is the height.
func (r Rect) Dy() float64 { return r[3] - r[1] }

// Area is width times height (0 for an empty box).
func (r Rect) Area() float64 { return max(r.Dx(), 0) * max(r.Dy(), 0) }

// Union is the smallest box holding both.
func (r Rect) Union(o Rect) Rect {
	return Rect{min(r[0], o[0]), min(r[1], o[1]), max(r[2], o[2]), max(r[3], o[3])}
}

// Intersection is the area the two boxes share.
func (r Rect) Intersection(o Rect) float64 {
	return max(min(r[2], o[2])-max(r[0], o[0]), 0) * max(min(r[3], o[3])-max(r[1], o[1]), 0)
}

// IoU is the intersection over the union of the two areas (0 when both
// are empty).
func (r Rect) IoU(o Rect) float64 {
	in := r.Intersection(o)
	u := r.Area() + o.Area() - in
	if u <= 0 {
		return 0
	}
	return in / u
}

// Gap is the Chebyshev distance between the two boxes: the larger of the
// horizontal and vertical gaps, 0 when they touch or overlap.
func (r Rect) Gap(o Rect) float64 {
	dx := max(o[0]-r[2], r[0]-o[2], 0)
	dy := max(o[1]-r[3], r[1]-o[3], 0)
	return max(dx, dy)
}

// Quadrant is a lesion's quadrant of the retina.
//
// Geometry (quadrantOf): the dividing lines cross at the fovea. One is the
// disc–fovea axis (the line through the disc centre and the fovea, which
// approximates the horizontal raphe): points on the image-upper side of it
// are superior, the others inferior. The other is the perpendicular to
// that axis through the fovea (the vertical meridian): points on the disc's
// side of it are nasal (the disc lies nasal to the fovea), the others
// temporal. Points exactly on a line count as superior and temporal.
// With the fovea but no disc, the axis is taken as horizontal and the nasal
// side comes from the laterality: in a standard (not mirrored) photograph
// of a RIGHT eye the disc, and so the nasal side, is on the viewer's right;
// of a LEFT eye, on the left (internal/disc's Laterality has the sources).
// Without the fovea, or with the disc and fovea more above each other than
// side by side (more than 60° from horizontal: a misplaced landmark or a
// rotated photo), the quadrant is unknown. "Superior" assumes the photo is
// upright, as fundus cameras store it.
type Quadrant int

// The quadrants; QuadrantUnknown is the zero value. Arrays indexed by
// Quadrant have NumQuadrants entries, unknown included.
const (
	QuadrantUnknown Quadrant = iota
	SuperiorTemporal
	SuperiorNasal
	InferiorTemporal
	InferiorNasal
	NumQuadrants
)

var quadrantNames = [NumQuadrants]string{"unknown", "superior_temporal", "superior_nasal", "inferior_temporal", "inferior_nasal"}

// String returns e.g. "superior_nasal", or "unknown".
func (q Quadrant) String() string {
	if q >= 0 && q < NumQuadrants {
		return quadrantNames[q]
	}
	return fmt.Sprintf("Quadrant(%d)", int(q))
}

// MarshalText writes String, so a Quadrant is a readable JSON value.
func (q Quadrant) MarshalText() ([]byte, error) {
	if q < 0 || q >= NumQuadrants {
		return nil, fmt.Errorf("quadrant %d out of range", int(q))
	}
	return []byte(quadrantNames[q]), nil
}

// Superior reports whether q is one of the two superior quadrants.
func (q Quadrant) Superior() bool { return q == SuperiorTemporal || q == SuperiorNasal }

// Nasal reports whether q is one of the two nasal quadrants.
func (q Quadrant) Nasal() bool { return q == SuperiorNasal || q == InferiorNasal }

// eye is a parsed laterality.
type eye int

const (
	eyeUnknown eye = iota
	eyeRight
	eyeLeft
)

// parseEye reads "right"/"od" and "left"/"os" (any case); anything else is
// unknown.
func parseEye(s string) eye {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "right", "od":
		return eyeRight
	case "left", "os":
		return eyeLeft
	}
	return eyeUnknown
}

// minHorizontal is how horizontal the disc–fovea axis must be (|dx| over
// its length) for quadrants to be assigned; the same rule as
// internal/disc's laterality.
const minHorizontal = 0.5

// quadrantOf is p's quadrant (see Quadrant for the geometry). disc may be
// nil; fovea nil gives QuadrantUnknown.
func quadrantOf(p Point, disc, fovea *Point, e eye) Quadrant {
	if fovea == nil {
		return QuadrantUnknown
	}
	var ux, uy float64 // unit vector from the disc towards the fovea: temporal
	switch {
	case disc != nil:
		dx, dy := fovea.X-disc.X, fovea.Y-disc.Y
		d := math.Hypot(dx, dy)
		if d == 0 || math.Abs(dx) < minHorizontal*d {
			return QuadrantUnknown
		}
		ux, uy = dx/d, dy/d
	case e == eyeRight:
		ux = -1 // disc on the viewer's right: temporal is to the left
	case e == eyeLeft:
		ux = 1
	default:
		return QuadrantUnknown
	}
	// The normal of the axis that points up the image (negative y).
	nx, ny := uy, -ux
	if ny > 0 {
		nx, ny = -nx, -ny
	}
	vx, vy := p.X-fovea.X, p.Y-fovea.Y
	superior := vx*nx+vy*ny >= 0
	nasal := vx*ux+vy*uy < 0
	switch {
	case superior && nasal:
		return SuperiorNasal
	case superior:
		return SuperiorTemporal
	case nasal:
		return InferiorNasal
	}
	return InferiorTemporal
}

// Options are what Detect and Measure know beyond the photo. Every field is
// optional; the zero value gives objects without distances or quadrants,
// areas in pixels only, and the default boxes.
type Options struct {
	// Disc is the optic disc centre and DiscRadiusPx its radius, in
	// original pixels. Distances in disc diameters need the radius (and
	// the point they are measured from).
	Disc         *Point
	DiscRadiusPx float64
	// Fovea is the fovea centre, original pixels.
	Fovea *Point
	// Eye is the laterality, "right" or "left" ("od"/"os" too, any case);
	// anything else means unknown. Quadrants use it only when the disc is
	// not given (see Quadrant).
	Eye string
	// UmPerPx is the calibration, micrometres per original pixel; 0: none,
	// and areas are in pixels only.
	UmPerPx float64
	// Boxes tunes the RetinalGPT boxes.
	Boxes BoxOptions
}

// Lesion is one connected lesion of one type. Coordinates, lengths and
// areas are in original-photo pixels.
type Lesion struct {
	Kind Kind `json:"kind"`
	// AreaPx is the area in original pixels: the working-grid pixels times
	// the original pixels each covers (Transform.Scale squared).
	AreaPx float64 `json:"area_px"`
	// AreaUm2 is AreaPx in square micrometres under Options.UmPerPx; nil
	// when uncalibrated.
	AreaUm2  *float64 `json:"area_um2,omitempty"`
	Centroid Point    `json:"centroid"`
	// Box is the bounding box of the lesion's grid pixels, clipped to the
	// photo.
	Box      Rect    `json:"box_px"`
	MeanProb float64 `json:"mean_probability"`
	MaxProb  float64 `json:"max_probability"`
	// FoveaDistanceDD and DiscDistanceDD are the distances from the fovea
	// and from the disc centre to the lesion's nearest pixel centre, in
	// disc diameters (2 x Options.DiscRadiusPx): 0.5 from the disc centre
	// is the disc margin, < 1 from the fovea is within one disc diameter
	// of the macula centre (IDRiD's DME grade 2 for exudates). nil when
	// the point or the disc radius is not given.
	FoveaDistanceDD *float64 `json:"fovea_distance_dd,omitempty"`
	DiscDistanceDD  *float64 `json:"disc_distance_dd,omitempty"`
	// Quadrant is the centroid's quadrant; QuadrantUnknown without the
	// landmarks it needs.
	Quadrant Quadrant `json:"quadrant"`
	// GridPx is the lesion's size in working-grid pixels.
	GridPx int `json:"grid_px"`
}

// Result is what Detect found.
type Result struct {
	*Maps
	Model string // name@version of the model, when it came from Detect
	// Lesions holds every object, grouped by Kind (in Kinds order), each
	// group largest probability mass (area x mean probability) first.
	Lesions []Lesion
	// Counts is the number of objects per type.
	Counts [NumKinds]int
	// QuadrantCounts is the number of objects per type and quadrant (index
	// QuadrantUnknown counts those without one): what the 4-2-1 rule of
	// severe NPDR needs.
	QuadrantCounts [NumKinds][NumQuadrants]int
	// Boxes are RetinalGPT's boxes per type (see MakeBoxes).
	Boxes [NumKinds][]Box
}

// OfKind returns the lesions of type k.
func (r *Result) OfKind(k Kind) []Lesion {
	i := slices.IndexFunc(r.Lesions, func(l Lesion) bool { return l.Kind == k })
	if i < 0 {
		return nil
	}
	return r.Lesions[i : i+r.Counts[k]]
}

// Measure finds the lesion objects and boxes in probability maps: per
// type, the 8-connected components of the pixels at or above the
// threshold inside the FOV.
func Measure(m *Maps, opt Options) (*Result, error) {
	n := m.Grid.Width * m.Grid.Height
	if len(m.InFOV) != n {
		return nil, fmt.Errorf("measure lesions: FOV raster has %d pixels, grid %dx%d", len(m.InFOV), m.Grid.Width, m.Grid.Height)
	}
	if !(m.Grid.Transform.Scale > 0) {
		return nil, fmt.Errorf("measure lesions: grid scale %v", m.Grid.Transform.Scale)
	}
	for _, k := range Kinds {
		if len(m.Prob[k]) != n {
			return nil, fmt.Errorf("measure lesions: %s map has %d pixels, grid %dx%d", k, len(m.Prob[k]), m.Grid.Width, m.Grid.Height)
		}
	}
	if opt.Disc != nil && opt.Fovea != nil && *opt.Disc == *opt.Fovea {
		return nil, fmt.Errorf("measure lesions: disc and fovea at the same point (%.1f, %.1f)", opt.Disc.X, opt.Disc.Y)
	}
	r := &Result{Maps: m}
	e := parseEye(opt.Eye)
	for _, k := range Kinds {
		objs := components(m, k, opt, e)
		r.Counts[k] = len(objs)
		for _, o := range objs {
			r.QuadrantCounts[k][o.Quadrant]++
		}
		r.Lesions = append(r.Lesions, objs...)
		r.Boxes[k] = MakeBoxes(objs, m.Width, m.Height, 2*m.FOV.Radius, opt.Boxes)
	}
	return r, nil
}

// stats accumulates one component.
type stats struct {
	n              int
	sumX, sumY     float64 // of grid pixel centres
	sumP, maxP     float64
	x0, y0, x1, y1 int     // grid bounding box, inclusive
	fovea2, disc2  float64 // smallest squared distance, original px
}

// components labels type k's mask and measures each component.
func components(m *Maps, k Kind, opt Options, e eye) []Lesion {
	mask := m.Mask(k)
	labels, count := imgproc.Label(mask, true)
	if count == 0 {
		return nil
	}
	st := make([]stats, count+1)
	for i := range st {
		st[i] = stats{x0: math.MaxInt, y0: math.MaxInt, x1: -1, y1: -1, fovea2: math.Inf(1), disc2: math.Inf(1)}
	}
	w, t := m.Grid.Width, m.Grid.Transform
	prob := m.Prob[k]
	for j := range m.Grid.Height {
		for i := range w {
			l := labels[j*w+i]
			if l == 0 {
				continue
			}
			s := &st[l]
			p := float64(prob[j*w+i])
			s.n++
			s.sumX += float64(i) + 0.5
			s.sumY += float64(j) + 0.5
			s.sumP += p
			s.maxP = max(s.maxP, p)
			s.x0, s.y0, s.x1, s.y1 = min(s.x0, i), min(s.y0, j), max(s.x1, i), max(s.y1, j)
			if opt.Fovea != nil || opt.Disc != nil {
				x, y := t.ToOriginal(float64(i)+0.5, float64(j)+0.5)
				if opt.Fovea != nil {
					s.fovea2 = min(s.fovea2, sq(x-opt.Fovea.X)+sq(y-opt.Fovea.Y))
				}
				if opt.Disc != nil {
					s.disc2 = min(s.disc2, sq(x-opt.Disc.X)+sq(y-opt.Disc.Y))
				}
			}
		}
	}
	px := t.Scale * t.Scale // original pixels per grid pixel
	dd := 2 * opt.DiscRadiusPx
	out := make([]Lesion, 0, count)
	for _, s := range st[1:] {
		cx, cy := t.ToOriginal(s.sumX/float64(s.n), s.sumY/float64(s.n))
		bx0, by0 := t.ToOriginal(float64(s.x0), float64(s.y0))
		bx1, by1 := t.ToOriginal(float64(s.x1+1), float64(s.y1+1))
		l := Lesion{
			Kind:     k,
			AreaPx:   float64(s.n) * px,
			Centroid: Point{cx, cy},
			Box:      Rect{max(bx0, 0), max(by0, 0), min(bx1, float64(m.Width)), min(by1, float64(m.Height))},
			MeanProb: s.sumP / float64(s.n),
			MaxProb:  s.maxP,
			GridPx:   s.n,
		}
		if opt.UmPerPx > 0 && !math.IsInf(opt.UmPerPx, 0) {
			a := l.AreaPx * opt.UmPerPx * opt.UmPerPx
			l.AreaUm2 = &a
		}
		if dd > 0 && !math.IsInf(dd, 0) {
			if opt.Fovea != nil {
				v := math.Sqrt(s.fovea2) / dd
				l.FoveaDistanceDD = &v
			}
			if opt.Disc != nil {
				v := math.Sqrt(s.disc2) / dd
				l.DiscDistanceDD = &v
			}
		}
		l.Quadrant = quadrantOf(l.Centroid, opt.Disc, opt.Fovea, e)
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b Lesion) int { return compareMass(a.AreaPx*a.MeanProb, b.AreaPx*b.MeanProb) })
	return out
}

// compareMass orders larger first.
func compareMass(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func sq(v float64) float64 { return v * v }
