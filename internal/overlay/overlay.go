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
}

// Point is in photo pixels.
type Point struct{ X, Y float64 }

// Circle is in photo pixels.
type Circle struct{ X, Y, R float64 }

// Colours chosen to stay visible on orange-red fundus backgrounds.
var (
	VesselColor = color.NRGBA{0, 255, 170, 255}
	FOVColor    = color.NRGBA{255, 235, 59, 255}
	DiscColor   = color.NRGBA{0, 176, 255, 255}
	FoveaColor  = color.NRGBA{255, 64, 129, 255}
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
