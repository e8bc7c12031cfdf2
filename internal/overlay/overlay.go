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
}

// Circle is in photo pixels.
type Circle struct{ X, Y, R float64 }

// Colours chosen to stay visible on orange-red fundus backgrounds.
var (
	VesselColor = color.NRGBA{0, 255, 170, 255}
	FOVColor    = color.NRGBA{255, 235, 59, 255}
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
	if l.FOV != nil {
		// Line width scales with the photo so it reads at any size.
		width := math.Max(1.5, float64(max(b.Dx(), b.Dy()))/600)
		ring(out, *l.FOV, width, FOVColor)
	}
	return out
}

func blend(a, b uint8, alpha float64) uint8 {
	return uint8(math.Round(float64(a)*(1-alpha) + float64(b)*alpha))
}

// ring draws an anti-aliased circle outline.
func ring(img *image.NRGBA, c Circle, width float64, col color.NRGBA) {
	b := img.Bounds()
	x0, x1 := max(b.Min.X, int(c.X-c.R-width)), min(b.Max.X, int(c.X+c.R+width)+1)
	y0, y1 := max(b.Min.Y, int(c.Y-c.R-width)), min(b.Max.Y, int(c.Y+c.R+width)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			d := math.Abs(math.Hypot(float64(x)+0.5-c.X, float64(y)+0.5-c.Y) - c.R)
			a := math.Min(1, math.Max(0, width/2+0.5-d))
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
