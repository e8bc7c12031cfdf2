package synth

import (
	"fmt"
	"image"
)

// Point is a position in pixels (see the package doc for the +0.5 pixel
// centre convention).
type Point struct{ X, Y float64 }

// Circle is a circle with centre (X, Y) and radius R, in pixels.
type Circle struct{ X, Y, R float64 }

// Ellipse is an axis-aligned ellipse with centre (X, Y), horizontal radius RX
// and vertical radius RY, in pixels.
type Ellipse struct{ X, Y, RX, RY float64 }

// VesselKind says whether a vessel is an artery or a vein.
type VesselKind int

// Vessel kinds. Artery is the zero value.
const (
	Artery VesselKind = iota
	Vein
)

// String returns "artery" or "vein".
func (k VesselKind) String() string {
	switch k {
	case Artery:
		return "artery"
	case Vein:
		return "vein"
	}
	return fmt.Sprintf("VesselKind(%d)", int(k))
}

func (k VesselKind) valid() bool { return k == Artery || k == Vein }

// LesionKind is the kind of a retinal lesion.
type LesionKind int

// Lesion kinds. Microaneurysm is the zero value; the kinds run contiguously
// from Microaneurysm to SoftExudate so callers can loop over them in order.
const (
	Microaneurysm LesionKind = iota
	Haemorrhage
	HardExudate
	SoftExudate
)

// numLesionKinds is one past the last valid LesionKind.
const numLesionKinds = int(SoftExudate) + 1

// String returns the lesion kind in lower case, e.g. "hard exudate".
func (k LesionKind) String() string {
	switch k {
	case Microaneurysm:
		return "microaneurysm"
	case Haemorrhage:
		return "haemorrhage"
	case HardExudate:
		return "hard exudate"
	case SoftExudate:
		return "soft exudate"
	}
	return fmt.Sprintf("LesionKind(%d)", int(k))
}

func (k LesionKind) valid() bool { return k >= 0 && int(k) < numLesionKinds }

// Spec describes the fundus to draw. The zero value is valid and gives the
// default 512×512 image with the default vessel tree. Zero fields take the
// documented defaults; negative or non-finite values are errors.
type Spec struct {
	// Size is the width and height of the square image; 0 means DefaultSize.
	// It must lie in [MinSize, MaxSize].
	Size int
	// Seed makes the output deterministic: the same Spec gives identical
	// pixels. It drives the additive noise, the faint background texture and
	// the jitter of the default vessel tree, each from its own stream, so
	// changing Noise does not move the vessels.
	Seed int64
	// FOVRadius is the radius of the circular field of view centred at
	// (Size/2, Size/2), at most Size; 0 means 0.47*Size. Everything outside
	// it is black.
	FOVRadius float64
	// Disc is the optic disc. The zero Circle means the default: radius
	// 0.075*Size, centre 0.3*Size left of the image centre (both scale with
	// FOVRadius when it is smaller than the default). A disc left of the
	// macula is a left eye in the usual display convention. A non-zero Disc
	// must have R in (0, Size/4] and its centre inside the image and the
	// field of view.
	Disc Circle
	// CupRatio is the vertical cup-to-disc ratio, in (0, 1); 0 means 0.4.
	// The cup is an ellipse with vertical radius CupRatio*Disc.R and
	// horizontal radius 0.9 times that, shifted 0.05*Disc.R temporally.
	CupRatio float64
	// Fovea is the centre of the macula. The zero Point means 2.5 disc
	// diameters temporal to the disc centre (towards the image centre) and
	// 0.3 disc radii below it. A non-zero Fovea must lie inside the image.
	Fovea Point
	// Vessels become Fundus.Segments in order. nil means the default tree
	// (see Generate); a non-nil empty slice means no vessels at all.
	Vessels []VesselSpec
	// Lesions are drawn in order under the vessels; nil means none.
	Lesions []LesionSpec
	// Noise is the standard deviation of additive Gaussian pixel noise on
	// the 0..255 scale, independent per channel; 0 means none.
	Noise float64
	// Blur is the sigma, in pixels, of a Gaussian blur of the whole image;
	// 0 means none. It must not exceed Size/4.
	Blur float64
	// Brightness multiplies the image (before noise); 0 means 1.
	Brightness float64
}

// VesselSpec is one vessel to draw.
type VesselSpec struct {
	Kind VesselKind
	// Points are the control points of the centreline in pixels, inside the
	// image. The centreline is the centripetal Catmull-Rom spline through
	// them (consecutive duplicates are ignored): it passes through every
	// point, and two points give a straight line. At least two distinct
	// points are needed and the ends must be at least 1 px apart.
	Points []Point
	// Width is the constant vessel diameter in pixels, in (0, Size/4]. The
	// drawn cross-section is a raised cosine that reaches half its depth at
	// Width/2 from the centreline and vanishes at Width, so the full width at
	// half depth is exactly Width, matching VesselMask.
	Width float64
}

// LesionSpec is one lesion to draw: a disc of the given radius, whose centre
// must lie inside the image and the field of view. Microaneurysms are meant to have radius
// 1-3 px but any radius in (0, Size/4] is accepted.
type LesionSpec struct {
	Kind   LesionKind
	Center Point
	Radius float64
}

// Segment is the ground truth for one drawn vessel.
type Segment struct {
	Kind VesselKind
	// Centerline is the drawn centreline, sampled at most 0.5 px apart, in
	// path order from the first control point to the last. Masks are exact
	// with respect to this polyline. It is not clipped to the field of view.
	Centerline []Point
	Width      float64
	// Length is the arc length of Centerline in pixels.
	Length float64
	// Chord is the distance between the ends of Centerline.
	Chord float64
	// DistanceTortuosity is Length/Chord (1 for a straight vessel).
	DistanceTortuosity float64
}

// Lesion is the ground truth for one drawn lesion.
type Lesion struct {
	Kind   LesionKind
	Center Point
	Radius float64
	// Box is the tight bounding box x0, y0, x1, y1 (x1 and y1 exclusive) of
	// the lesion's own pixels; all zero when Area is 0.
	Box [4]int
	// Area is the number of pixels whose centre lies within Radius of Center
	// and inside the field of view. Overlapping lesions of one kind share
	// pixels in LesionMasks, so the mask can hold fewer pixels than the sum
	// of their areas.
	Area int
}

// Fundus is a generated image and its ground truth. All masks are the size
// of Image and hold 0 or 255. Every mask but FOVMask is clipped to the field
// of view, so the masks describe exactly what is visible: outside the FOV
// Image is black and every other mask is 0.
type Fundus struct {
	// Image is opaque (alpha 255 everywhere).
	Image *image.NRGBA
	// VesselMask is 255 where a pixel centre lies within Width/2 of some
	// vessel's centreline; it is the union of ArteryMask and VeinMask, which
	// may overlap where vessels cross.
	VesselMask           *image.Gray
	ArteryMask, VeinMask *image.Gray
	// FOVMask is 255 where a pixel centre lies within FOV.
	FOVMask *image.Gray
	// FOV is the resolved field of view, centred at (Size/2, Size/2).
	FOV Circle
	// Disc and Cup are the resolved optic disc and cup; Cup.RY/Disc.R is
	// the vertical cup-to-disc ratio.
	Disc     Circle
	Cup      Ellipse
	DiscMask *image.Gray
	CupMask  *image.Gray
	Fovea    Point
	// Segments holds one entry per drawn vessel, in drawing order.
	Segments []Segment
	// Lesions holds one entry per LesionSpec, in order.
	Lesions []Lesion
	// LesionMasks has an entry for every lesion kind, empty when no lesion
	// of that kind was drawn.
	LesionMasks map[LesionKind]*image.Gray
}
