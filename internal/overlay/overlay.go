// Package overlay draws analysis results on top of the photograph.
//
// It takes plain images and geometry (no Report, no models), so the CLI,
// the server and the dataset builder draw the same pictures. It imports
// only the standard library.
package overlay

import (
	"image"
	"image/color"
	"math"
)

// Layers selects what to draw; nil or zero fields are skipped.
type Layers struct {
	Vessels *image.Gray // 255 = vessel, same size as the photo
	FOV     *Circle
	// Disc and Fovea are landmark centres, drawn as a ring with a centre dot.
	Disc, Fovea *Point
	// DiscMask and CupMask are the optic disc and cup (non-zero inside), in
	// photo pixels: their Rect may be any part of the photo. Their
	// outlines are drawn.
	DiscMask, CupMask *image.Gray
	// ZoneB and ZoneC are the measurement rings around the disc, drawn as
	// their inner and outer circles.
	ZoneB, ZoneC *Ring
}

// Point is in photo pixels.
type Point struct{ X, Y float64 }

// Circle is in photo pixels.
type Circle struct{ X, Y, R float64 }

// Ring is the area between two circles around (X, Y), in photo pixels.
type Ring struct{ X, Y, Inner, Outer float64 }

// Colours chosen to stay visible on orange-red fundus backgrounds.
var (
	VesselColor = color.NRGBA{0, 255, 170, 255}
	FOVColor    = color.NRGBA{255, 235, 59, 255}
	DiscColor   = color.NRGBA{0, 176, 255, 255}
	FoveaColor  = color.NRGBA{255, 64, 129, 255}
	CupColor    = color.NRGBA{255, 255, 255, 255}
	ZoneBColor  = color.NRGBA{124, 77, 255, 255}
	ZoneCColor  = color.NRGBA{224, 64, 251, 255}
)

// Draw returns a copy of photo with the layers blended in.
func Draw(photo *image.NRGBA, l Layers) *image.NRGBA {
	out := image.NewNRGBA(photo.Bounds())
	copy(out.Pix, photo.Pix)
	b := out.Bounds()
	if l.Vessels != nil && l.Vessels.Bounds() == b {
		const alpha = 0.6
		for i, v := range l.Vessels.Pix {
			if v == 0 {
				continue
			}
			p := out.Pix[4*i : 4*i+4]
			p[0] = blend(p[0], VesselColor.R, alpha)
			p[1] = blend(p[1], VesselColor.G, alpha)
			p[2] = blend(p[2], VesselColor.B, alpha)
		}
	}
	// Line width and marker size scale with the photo so they read at any size.
	side := float64(max(b.Dx(), b.Dy()))
	width := math.Max(1.5, side/600)
	if l.FOV != nil {
		ring(out, *l.FOV, width, FOVColor)
	}
	// Zone C first: zone B's circles, drawn over it, share its inner one.
	if z := l.ZoneC; z != nil {
		ring(out, Circle{z.X, z.Y, z.Inner}, width, ZoneCColor)
		ring(out, Circle{z.X, z.Y, z.Outer}, width, ZoneCColor)
	}
	if z := l.ZoneB; z != nil {
		ring(out, Circle{z.X, z.Y, z.Inner}, width, ZoneBColor)
		ring(out, Circle{z.X, z.Y, z.Outer}, width, ZoneBColor)
	}
	outline(out, l.DiscMask, width, DiscColor)
	outline(out, l.CupMask, width, CupColor)
	for _, m := range []struct {
		p   *Point
		col color.NRGBA
	}{{l.Disc, DiscColor}, {l.Fovea, FoveaColor}} {
		if m.p == nil {
			continue
		}
		ring(out, Circle{m.p.X, m.p.Y, side / 40}, width, m.col)
		dot(out, Circle{m.p.X, m.p.Y, 1.5 * width}, m.col)
	}
	return out
}

func blend(a, b uint8, alpha float64) uint8 {
	return uint8(math.Round(float64(a)*(1-alpha) + float64(b)*alpha))
}

// outline draws the boundary of mask (its set pixels with a 4-neighbour
// unset or outside it) as a line about width wide.
func outline(img *image.NRGBA, mask *image.Gray, width float64, col color.NRGBA) {
	if mask == nil {
		return
	}
	b := mask.Rect
	set := func(x, y int) bool {
		return image.Pt(x, y).In(b) && mask.Pix[mask.PixOffset(x, y)] != 0
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if set(x, y) && (!set(x-1, y) || !set(x+1, y) || !set(x, y-1) || !set(x, y+1)) {
				dot(img, Circle{float64(x) + 0.5, float64(y) + 0.5, width / 2}, col)
			}
		}
	}
}

// ring draws an anti-aliased circle outline.
func ring(img *image.NRGBA, c Circle, width float64, col color.NRGBA) {
	paint(img, c, width, col, func(dist float64) float64 { return width/2 + 0.5 - math.Abs(dist-c.R) })
}

// dot draws an anti-aliased filled circle.
func dot(img *image.NRGBA, c Circle, col color.NRGBA) {
	paint(img, c, 0, col, func(dist float64) float64 { return c.R + 0.5 - dist })
}

// paint blends col into the pixels around c with the coverage that cover
// gives for a pixel centre's distance from c's centre.
func paint(img *image.NRGBA, c Circle, width float64, col color.NRGBA, cover func(dist float64) float64) {
	b := img.Bounds()
	x0, x1 := max(b.Min.X, int(c.X-c.R-width)), min(b.Max.X, int(c.X+c.R+width)+1)
	y0, y1 := max(b.Min.Y, int(c.Y-c.R-width)), min(b.Max.Y, int(c.Y+c.R+width)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			a := math.Min(1, math.Max(0, cover(math.Hypot(float64(x)+0.5-c.X, float64(y)+0.5-c.Y))))
			if a <= 0 {
				continue
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = blend(img.Pix[i], col.R, a)
			img.Pix[i+1] = blend(img.Pix[i+1], col.G, a)
			img.Pix[i+2] = blend(img.Pix[i+2], col.B, a)
		}
	}
}
