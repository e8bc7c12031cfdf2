package disc

import (
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// Eye is which eye a photograph shows.
type Eye int

const (
	EyeUnknown Eye = iota
	EyeRight       // OD, oculus dexter
	EyeLeft        // OS, oculus sinister
)

func (e Eye) String() string {
	switch e {
	case EyeRight:
		return "right"
	case EyeLeft:
		return "left"
	}
	return "unknown"
}

// minHorizontal is how horizontal the disc–fovea line must be, as
// |dx|/distance, before the side of the disc says which eye it is. In the
// 413 IDRiD training labels it is at least 0.94; 0.5 (within 60° of the
// horizontal) leaves room for tilted photos while refusing to guess when
// the two points lie one above the other (a misplaced landmark, or an image
// rotated by 90°).
const minHorizontal = 0.5

// Laterality tells a right eye from a left one in a standard (not
// mirrored) colour fundus photograph, seen as the camera sees the retina:
// the disc lies nasal to the fovea, and for a RIGHT eye the nasal side is
// the viewer's RIGHT, so a disc to the right of the fovea means a right eye
// and a disc to the left a left eye. (Gray's/Dartmouth anatomy atlas, fig.
// 46-9, "Right fundus oculi in vivo: the optic disc is on the right side of
// each photograph (i.e., medially) ... the macula lateral (on the left
// side)"; Wikipedia, "Fundus (eye)".) It returns EyeUnknown when the two
// points coincide or lie more above each other than side by side.
// Photographs that a device stores mirrored (some indirect ophthalmoscopes)
// get the opposite answer; nothing in the pixels can tell.
func Laterality(disc, fovea Point) Eye {
	dx := disc.X - fovea.X
	d := Distance(disc, fovea)
	if d == 0 || math.Abs(dx) < minHorizontal*d {
		return EyeUnknown
	}
	if dx > 0 {
		return EyeRight
	}
	return EyeLeft
}

// Field is what a photograph's field of view is centred on.
type Field int

const (
	FieldOther  Field = iota // neither landmark near the centre (peripheral or unusual fields)
	FieldMacula              // macula-centred: the fovea near the centre of the field of view
	FieldDisc                // disc-centred: the optic disc near the centre
)

func (f Field) String() string {
	switch f {
	case FieldMacula:
		return "macula-centred"
	case FieldDisc:
		return "disc-centred"
	}
	return "other"
}

// Field-type thresholds, as distances from the FOV centre in units of the
// FOV radius. Measured on the data at hand (labels against
// fundus.DetectFOV): the disc-centred Drishti-GS1 training photos have the
// disc at 0.01–0.27 (median 0.13); the IDRiD photos, which are centred on
// the posterior pole a little temporal of... the macula, have the fovea at
// 0.005–0.59 (median 0.24, 95th percentile 0.36) and the disc at 0.28–0.89
// (5th percentile 0.45).
const (
	discCentredMax   = 0.30
	maculaCentredMax = 0.40
)

// FieldType classifies the field from the landmarks and the field of view
// (all in the same pixels): disc-centred when the disc is within 0.30 FOV
// radii of the FOV centre and nearer to it than the fovea; macula-centred
// when the fovea is within 0.40 radii and nearer than the disc; otherwise
// other. A zero or negative radius gives FieldOther.
func FieldType(disc, fovea Point, fov fundus.FOV) Field {
	if fov.Radius <= 0 {
		return FieldOther
	}
	c := Point{fov.CX, fov.CY}
	dd, df := Distance(disc, c)/fov.Radius, Distance(fovea, c)/fov.Radius
	switch {
	case dd <= discCentredMax && dd < df:
		return FieldDisc
	case df <= maculaCentredMax && df < dd:
		return FieldMacula
	}
	return FieldOther
}

// Distance is the Euclidean distance between two points, in their pixels.
func Distance(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// Annulus is the ring of points whose distance from Centre lies in
// [Inner, Outer].
type Annulus struct {
	Centre       Point
	Inner, Outer float64
}

// Contains reports whether p lies in the ring.
func (a Annulus) Contains(p Point) bool {
	d := Distance(a.Centre, p)
	return d >= a.Inner && d <= a.Outer
}

// ZoneB is the ring where CRAE, CRVE and AVR are measured (Knudtson et al.
// 2003; zone B of the ARIC protocol): from half a disc diameter to one disc
// diameter beyond the disc margin, i.e. 2r to 3r from the disc centre for a
// disc of radius r.
func ZoneB(disc Point, r float64) Annulus { return Annulus{Centre: disc, Inner: 2 * r, Outer: 3 * r} }

// ZoneC is the extended ring of SIVA and VAMPIRE: from half a disc diameter
// to two disc diameters beyond the margin, 2r to 5r from the centre.
func ZoneC(disc Point, r float64) Annulus { return Annulus{Centre: disc, Inner: 2 * r, Outer: 5 * r} }

// Mask rasterizes the ring over r: 255 where a pixel's centre (x+0.5,
// y+0.5) lies in the ring, in the same pixels as Centre and the radii (map
// them first to draw the ring on another frame). Intersect it with the
// field of view before measuring in it.
func (a Annulus) Mask(r image.Rectangle) *image.Gray {
	m := image.NewGray(r)
	in2, out2 := a.Inner*a.Inner, a.Outer*a.Outer
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dy := float64(y) + 0.5 - a.Centre.Y
		row := m.Pix[(y-r.Min.Y)*m.Stride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			dx := float64(x) + 0.5 - a.Centre.X
			if d2 := dx*dx + dy*dy; d2 >= in2 && d2 <= out2 {
				row[x-r.Min.X] = 255
			}
		}
	}
	return m
}
