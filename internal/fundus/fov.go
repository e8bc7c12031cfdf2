package fundus

import (
	"fmt"
	"image"
	"math"
)

// FOV is the circular field of view of a fundus photo, in original-image pixels.
type FOV struct {
	CX, CY, Radius float64
	// Clipped says the circle extends past the image edge on that side (cameras that crop the FOV at top and bottom).
	ClippedTop, ClippedBottom, ClippedLeft, ClippedRight bool
	// Coverage is the fraction of the circle's area that lies inside the image.
	Coverage float64
}

// Contains reports whether the point (x, y), in continuous original-image
// coordinates, lies inside the circle. It does not check the image bounds,
// which FOV does not know: where the FOV is clipped, points inside the
// circle may lie outside the image. To test pixel (i, j), pass its centre
// (i+0.5, j+0.5).
func (f FOV) Contains(x, y float64) bool {
	dx, dy := x-f.CX, y-f.CY
	return dx*dx+dy*dy <= f.Radius*f.Radius
}

// Raster returns, for each pixel of a w x h image (row-major), whether its
// centre lies inside the circle; pixels beyond the image do not exist, so
// the result is the FOV clipped to the image.
func (f FOV) Raster(w, h int) []bool {
	out := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out[y*w+x] = f.Contains(float64(x)+0.5, float64(y)+0.5)
		}
	}
	return out
}

// Tuning of DetectFOV. The work size keeps detection to a few milliseconds
// on 3-megapixel photographs while leaving about 250 pixels of radius, enough
// for a sub-pixel fit once mapped back.
const (
	fovWorkSide = 512
	// The threshold sits this far from the background level towards the
	// bright level. Low enough to keep the dim crescent some eyes show at
	// the rim (about 25/255 over a black background in CHASE_DB1; 0.25 cut
	// it off), high enough to keep out haze and flare beyond the rim (0.06
	// let it in on some IDRiD photographs).
	fovThresholdFraction = 0.1
	fovMinContrast       = 15   // grey levels between background and field
	fovMaxBackground     = 100  // brighter corners mean no black surround
	fovMinNoiseMargin    = 10   // grey levels above the background, at least
	fovMinAreaFraction   = 0.02 // of the image, for the bright region
	clipTolerancePx      = 1.0  // a circle this close past an edge is not clipped
)

// DetectFOV finds the circular field of view: the bright disc on a black
// background (or, failing that, the coloured disc on a white one). It
// returns an error wrapping ErrNoFOV when there is no such disc (an
// all-black image, a tiny bright spot, a background that is neither dark
// nor white).
//
// The method: downscale to about 512 pixels on the longest side taking
// max(R,G,B) per pixel; threshold between the background level (the image
// corners) and the bright level (90th percentile of the pixels clearly above
// the background); keep the largest connected region and fill its holes;
// then fit a circle to the region's row-wise left/right and column-wise
// top/bottom sub-pixel edge crossings, ignoring crossings on the image
// border. Fitting the boundary rather than taking the bounding box is what
// makes cropped fields of view work: when the camera cuts the disc at top
// and bottom, the left and right arcs still determine the full circle.
//
// DetectFOV assumes a fundus photograph. Any bright region with a roughly
// round edge gets its best-fitting circle: photographs stretched to a new
// aspect ratio (common in some public collections) get a compromise circle,
// and a field of view whose rim fades into the background on one side comes
// out a little small on that side.
func DetectFOV(img *image.NRGBA) (FOV, error) {
	if img == nil || img.Rect.Empty() {
		return FOV{}, fmt.Errorf("detect field of view: %w: empty image", ErrNoFOV)
	}
	g := downscale(img, fovWorkSide, false)
	bg := g.backgroundLevel()
	if bg > fovMaxBackground {
		// Some collections pad photographs with white (29 of the 938
		// cataract images in the four-class ODIR/EyePACS set).
		g = downscale(img, fovWorkSide, true)
		if bg = g.backgroundLevel(); bg > fovMaxBackground {
			return FOV{}, fmt.Errorf("detect field of view: %w: background is neither dark nor white", ErrNoFOV)
		}
	}
	hi := g.brightLevel(0.90, bg+fovMinContrast)
	if hi < 0 {
		return FOV{}, fmt.Errorf("detect field of view: %w: no region brighter than the background (level %.0f)", ErrNoFOV, bg)
	}
	t := max(bg+fovThresholdFraction*(hi-bg), bg+fovMinNoiseMargin)
	region, _ := g.largestRegion(t)
	area := g.fillHoles(region)
	if float64(area) < fovMinAreaFraction*float64(g.w*g.h) {
		return FOV{}, fmt.Errorf("detect field of view: %w: bright region covers only %.1f%% of the image", ErrNoFOV, 100*float64(area)/float64(g.w*g.h))
	}
	c, ok := fitFOVCircle(g.spans(region, t, false), g.spans(region, t, true))
	if !ok {
		return FOV{}, fmt.Errorf("detect field of view: %w: bright region has no circular edge", ErrNoFOV)
	}
	// A nearly straight edge fits a huge circle; no camera frames its field
	// of view so that less than half of the diameter fits across the image.
	if c.r > float64(max(g.w, g.h)) {
		return FOV{}, fmt.Errorf("detect field of view: %w: edge of the bright region is too straight for a field of view", ErrNoFOV)
	}
	// The fitted circle must account for the region it came from; a
	// crescent or a ragged blob gives a circle whose area disagrees.
	circleArea := coverage(c.x, c.y, c.r, float64(g.w), float64(g.h)) * math.Pi * c.r * c.r
	if ratio := float64(area) / circleArea; ratio < 0.6 || ratio > 1.25 {
		return FOV{}, fmt.Errorf("detect field of view: %w: bright region is not a disc (area ratio %.2f)", ErrNoFOV, ratio)
	}
	return makeFOV(c.x*g.scale, c.y*g.scale, c.r*g.scale, img.Rect), nil
}

// makeFOV fills in clipping and coverage for a circle given relative to the
// image's top-left corner, and moves it into the image's coordinates.
func makeFOV(cx, cy, r float64, bounds image.Rectangle) FOV {
	w, h := float64(bounds.Dx()), float64(bounds.Dy())
	return FOV{
		CX:            cx + float64(bounds.Min.X),
		CY:            cy + float64(bounds.Min.Y),
		Radius:        r,
		ClippedTop:    cy-r < -clipTolerancePx,
		ClippedBottom: cy+r > h+clipTolerancePx,
		ClippedLeft:   cx-r < -clipTolerancePx,
		ClippedRight:  cx+r > w+clipTolerancePx,
		Coverage:      coverage(cx, cy, r, w, h),
	}
}

// coverage is the fraction of the circle's area inside [0,w]x[0,h],
// integrated numerically over x (exact enough: 2048 strips).
func coverage(cx, cy, r, w, h float64) float64 {
	if r <= 0 {
		return 0
	}
	const strips = 2048
	x0, x1 := max(cx-r, 0), min(cx+r, w)
	if x1 <= x0 {
		return 0
	}
	dx := (x1 - x0) / strips
	inside := 0.0
	for i := range strips {
		x := x0 + (float64(i)+0.5)*dx
		s := math.Sqrt(max(r*r-(x-cx)*(x-cx), 0))
		inside += max(min(cy+s, h)-max(cy-s, 0), 0) * dx
	}
	return min(inside/(math.Pi*r*r), 1)
}
