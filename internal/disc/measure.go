package disc

import (
	"fmt"
	"image"
	"math"
)

// Extent is the size of a mask in the pixels it is drawn in.
type Extent struct {
	// Height and Width are the rows and columns the mask spans (last - first
	// + 1), as train.py's rows_spanned and AutoMorph's Disc_height.
	Height, Width int
	Area          int // pixels set
	// Box bounds the set pixels (Max exclusive); empty when none is set.
	Box image.Rectangle
}

// Measures are the optic disc and cup measures of a pair of masks, in the
// masks' pixels (original photo pixels for a Segmentation).
type Measures struct {
	// Centre is the disc mask's centroid (continuous coordinates).
	Centre Point
	Disc   Extent
	Cup    Extent
	// VerticalCDR, HorizontalCDR and AreaCDR are the cup-to-disc ratios of
	// the heights, widths and areas (unitless); 0 without a cup.
	VerticalCDR, HorizontalCDR, AreaCDR float64
	Rim                                 Rim
}

// RadiusPx is the disc radius the zones and the disc-diameter calibration
// use: a quarter of height + width.
func (m Measures) RadiusPx() float64 { return float64(m.Disc.Height+m.Disc.Width) / 4 }

// EquivalentRadiusPx is the radius of the circle with the disc's area.
func (m Measures) EquivalentRadiusPx() float64 { return math.Sqrt(float64(m.Disc.Area) / math.Pi) }

// Rim is the neuroretinal rim's width (disc minus cup) in four 90° sectors
// centred on the vertical and horizontal axes through the disc centroid,
// in pixels. Each sector's width is the mean over 90 rays, one per degree,
// of the length of the ray, from the centroid to beyond the disc's edge,
// that lies in the disc but not in the cup; for concentric disc and cup it
// is the distance between their edges, and an eccentric cup is handled
// the same way. Superior is up in the photograph, inferior down.
type Rim struct {
	Superior, Inferior float64
	// Left and Right are the viewer's left and right sectors; which is
	// nasal depends on the eye.
	Left, Right float64
	Eye         Eye
}

// Nasal is the nasal sector's width; ok is false when the eye is unknown.
// The disc lies nasal to the fovea, on the viewer's right in a right eye
// (see Laterality).
func (r Rim) Nasal() (width float64, ok bool) {
	switch r.Eye {
	case EyeRight:
		return r.Right, true
	case EyeLeft:
		return r.Left, true
	}
	return 0, false
}

// Temporal is the temporal sector's width; ok is false when the eye is
// unknown.
func (r Rim) Temporal() (width float64, ok bool) {
	switch r.Eye {
	case EyeRight:
		return r.Left, true
	case EyeLeft:
		return r.Right, true
	}
	return 0, false
}

// ISNT checks the ISNT rule (Jonas et al. 1988; Harizman et al. 2006): in
// a normal disc the rim is widest Inferiorly, then Superiorly, Nasally and
// Temporally (I >= S >= N >= T). known is false when the eye, and so which
// side is nasal, is unknown; violations name each broken inequality, e.g.
// "inferior < superior".
func (r Rim) ISNT() (holds, known bool, violations []string) {
	n, ok := r.Nasal()
	if !ok {
		return false, false, nil
	}
	t, _ := r.Temporal()
	for _, p := range []struct {
		a, b   float64
		an, bn string
	}{{r.Inferior, r.Superior, "inferior", "superior"}, {r.Superior, n, "superior", "nasal"}, {n, t, "nasal", "temporal"}} {
		if p.a < p.b-isntSlack {
			violations = append(violations, fmt.Sprintf("%s < %s", p.an, p.bn))
		}
	}
	return len(violations) == 0, true, violations
}

// isntSlack lets equal widths pass the rule's >= despite floating-point
// summation order, in pixels.
const isntSlack = 1e-6

// rayStep is the sampling step along a rim ray, in pixels.
const rayStep = 0.25

// Measure computes Measures of a disc mask and a cup mask (non-zero =
// inside; cup may be nil) drawn in the same pixels; the masks may have any
// bounds, and the cup is taken as is (Segment already keeps it within the
// disc). eye says which side is nasal. An empty disc gives zero Measures.
func Measure(disc, cup *image.Gray, eye Eye) Measures {
	m := Measures{Rim: Rim{Eye: eye}}
	var sx, sy float64
	m.Disc = extent(disc, func(x, y int) { sx += float64(x) + 0.5; sy += float64(y) + 0.5 })
	if m.Disc.Area == 0 {
		return m
	}
	m.Centre = Point{sx / float64(m.Disc.Area), sy / float64(m.Disc.Area)}
	if cup != nil {
		m.Cup = extent(cup, func(int, int) {})
	}
	m.VerticalCDR = float64(m.Cup.Height) / float64(m.Disc.Height)
	m.HorizontalCDR = float64(m.Cup.Width) / float64(m.Disc.Width)
	m.AreaCDR = float64(m.Cup.Area) / float64(m.Disc.Area)
	m.Rim = rim(disc, cup, m.Centre, eye)
	return m
}

// extent measures the set pixels of m, calling each for every one.
func extent(m *image.Gray, each func(x, y int)) Extent {
	var e Extent
	if m == nil {
		return e
	}
	b := m.Bounds()
	x0, y0, x1, y1 := b.Max.X, b.Max.Y, b.Min.X-1, b.Min.Y-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[(y-b.Min.Y)*m.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			if row[x-b.Min.X] == 0 {
				continue
			}
			e.Area++
			x0, x1 = min(x0, x), max(x1, x)
			y0, y1 = min(y0, y), max(y1, y)
			each(x, y)
		}
	}
	if e.Area > 0 {
		e.Height, e.Width = y1-y0+1, x1-x0+1
		e.Box = image.Rect(x0, y0, x1+1, y1+1)
	}
	return e
}

// rim measures the rim along one ray per degree from c (see Rim).
func rim(disc, cup *image.Gray, c Point, eye Eye) Rim {
	b := disc.Bounds()
	reach := 0.0 // beyond every disc pixel
	for _, q := range []Point{{float64(b.Min.X), float64(b.Min.Y)}, {float64(b.Max.X), float64(b.Min.Y)},
		{float64(b.Min.X), float64(b.Max.Y)}, {float64(b.Max.X), float64(b.Max.Y)}} {
		reach = math.Max(reach, Distance(c, q))
	}
	in := func(m *image.Gray, x, y float64) bool {
		if m == nil {
			return false
		}
		p := image.Point{int(math.Floor(x)), int(math.Floor(y))}
		if !p.In(m.Rect) {
			return false
		}
		return m.Pix[m.PixOffset(p.X, p.Y)] != 0
	}
	var sum [4]float64 // right, superior, left, inferior
	for k := range 360 {
		theta := (float64(k) + 0.5) * math.Pi / 180 // counter-clockwise from the viewer's right
		dx, dy := math.Cos(theta), -math.Sin(theta) // y grows downwards
		length := 0.0
		for t := rayStep / 2; t < reach; t += rayStep {
			x, y := c.X+t*dx, c.Y+t*dy
			if in(disc, x, y) && !in(cup, x, y) {
				length += rayStep
			}
		}
		sum[((k+45)/90)%4] += length
	}
	return Rim{Right: sum[0] / 90, Superior: sum[1] / 90, Left: sum[2] / 90, Inferior: sum[3] / 90, Eye: eye}
}
