package disc

import (
	"image"
	"math"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// Crop is the square of the original photograph the disc/cup model sees:
// [X0, X0+Side) x [Y0, Y0+Side) in original pixels (continuous
// coordinates), resampled to Size x Size. Crop pixel i samples the
// original at X0 + (i + 0.5) * Side / Size, as train/disccup/train.py's
// resample_square does.
type Crop struct {
	X0, Y0, Side float64
	Size         int
}

// CropAround is the crop of side sideOverRadius * radius centred on c.
func CropAround(c Point, radius, sideOverRadius float64, size int) Crop {
	side := sideOverRadius * radius
	return Crop{X0: c.X - side/2, Y0: c.Y - side/2, Side: side, Size: size}
}

// Centre is the crop's centre in original pixels.
func (c Crop) Centre() Point { return Point{c.X0 + c.Side/2, c.Y0 + c.Side/2} }

// ToOriginal maps crop coordinates (continuous) to original ones.
func (c Crop) ToOriginal(u, v float64) Point {
	s := c.Side / float64(c.Size)
	return Point{c.X0 + u*s, c.Y0 + v*s}
}

// Bounds is the crop's square in whole original pixels, clipped to r: the
// pixels whose centres can lie inside it.
func (c Crop) Bounds(r image.Rectangle) image.Rectangle {
	return image.Rect(int(math.Floor(c.X0)), int(math.Floor(c.Y0)),
		int(math.Ceil(c.X0+c.Side)), int(math.Ceil(c.Y0+c.Side))).Intersect(r)
}

// inner is the whole pixels whose centres lie inside the crop square:
// the pixels the model's output covers.
func (c Crop) inner() image.Rectangle {
	return image.Rect(int(math.Ceil(c.X0-0.5)), int(math.Ceil(c.Y0-0.5)),
		int(math.Floor(c.X0+c.Side-0.5))+1, int(math.Floor(c.Y0+c.Side-0.5))+1)
}

// cutOut resamples the crop from src with x/image/draw's BiLinear kernel,
// which widens its support when shrinking (as PIL's BILINEAR resize with a
// box does in training): every crop pixel averages the source pixels under
// it. The source is first copied onto an opaque black canvas that extends
// past the photo wherever the crop or the kernel does, so pixels beyond the
// photo count as black, exactly as train.py pads its canvas, instead of
// being left out of the weights.
func cutOut(src *image.NRGBA, c Crop) *image.NRGBA {
	scale := c.Side / float64(c.Size) // source pixels per crop pixel
	pad := int(math.Ceil(math.Max(scale, 1))) + 2
	region := image.Rect(int(math.Floor(c.X0))-pad, int(math.Floor(c.Y0))-pad,
		int(math.Ceil(c.X0+c.Side))+pad, int(math.Ceil(c.Y0+c.Side))+pad)
	canvas := image.NewNRGBA(region)
	for i := 3; i < len(canvas.Pix); i += 4 {
		canvas.Pix[i] = 0xff
	}
	if in := region.Intersect(src.Bounds()); !in.Empty() {
		for y := in.Min.Y; y < in.Max.Y; y++ {
			s, d := src.PixOffset(in.Min.X, y), canvas.PixOffset(in.Min.X, y)
			copy(canvas.Pix[d:d+4*in.Dx()], src.Pix[s:s+4*in.Dx()])
			// The model never saw translucent pixels: count any as opaque.
			for i := d + 3; i < d+4*in.Dx(); i += 4 {
				canvas.Pix[i] = 0xff
			}
		}
	}
	// s2d maps original (canvas) coordinates to crop coordinates.
	k := float64(c.Size) / c.Side
	s2d := f64.Aff3{k, 0, -c.X0 * k, 0, k, -c.Y0 * k}
	rgba := image.NewRGBA(image.Rect(0, 0, c.Size, c.Size))
	draw.BiLinear.Transform(rgba, s2d, canvas, canvas.Bounds(), draw.Src, nil)
	// Opaque in, opaque out: premultiplied and straight alpha hold the
	// same bytes.
	return &image.NRGBA{Pix: rgba.Pix, Stride: rgba.Stride, Rect: rgba.Rect}
}
