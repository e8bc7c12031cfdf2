package fundus

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// MaxNormalizedSize bounds Normalize's size argument: an 8192 x 8192 result
// already takes 256 MiB, and no model needs more.
const MaxNormalizedSize = 8192

// Normalized is a photograph cropped to the square around its field of view
// and resampled for analysis, with the mapping back to the original.
type Normalized struct {
	Image     *image.NRGBA // Size x Size: the FOV's bounding square (centre ± radius), cropped from the original, areas outside the original image padded black, resized to Size x Size
	Size      int
	FOV       FOV         // in original pixels
	Mask      *image.Gray // Size x Size: 255 inside the circle AND inside the original image, else 0
	Transform Transform
}

// Normalize finds the FOV, takes the square of side 2*Radius centred on it
// (padding with opaque black where it leaves the image), and resizes it to
// size x size with Catmull-Rom resampling, widened when shrinking so every
// source pixel contributes (resample.go: golang.org/x/image/draw's filter,
// computed separably). size <= 0 means
// "keep the square's native side, no resampling": the side is rounded to an
// integer and the square snapped to whole pixels, so the result is a plain
// crop and Transform.Scale is exactly 1. size may not exceed
// MaxNormalizedSize.
func Normalize(img *Image, size int) (*Normalized, error) {
	if img == nil || img.Pix == nil {
		return nil, errors.New("normalize: nil image")
	}
	if size > MaxNormalizedSize {
		return nil, fmt.Errorf("normalize %s: size %d exceeds %d", img.Name, size, MaxNormalizedSize)
	}
	fov, err := DetectFOV(img.Pix)
	if err != nil {
		return nil, fmt.Errorf("normalize %s: %w", img.Name, err)
	}
	return NormalizeFOV(img, fov, size), nil
}

// NormalizeFOV is Normalize with a field of view already found, so that
// several analysis sizes of one photo share one detection. size must be at
// most MaxNormalizedSize (Normalize checks it).
func NormalizeFOV(img *Image, fov FOV, size int) *Normalized {
	src := img.Pix
	var n *Normalized
	if size <= 0 {
		n = crop(src, fov)
	} else {
		n = resample(src, fov, size)
	}
	n.FOV = fov
	n.Mask = fovMask(n.Size, n.Transform, fov, src.Rect)
	return n
}

// crop cuts the native-resolution square out of src.
func crop(src *image.NRGBA, fov FOV) *Normalized {
	side := max(1, int(math.Round(2*fov.Radius)))
	x0 := int(math.Round(fov.CX - float64(side)/2))
	y0 := int(math.Round(fov.CY - float64(side)/2))
	dst := opaqueBlack(side)
	r := image.Rect(x0, y0, x0+side, y0+side).Intersect(src.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		s := src.PixOffset(r.Min.X, y)
		d := dst.PixOffset(r.Min.X-x0, y-y0)
		copy(dst.Pix[d:d+4*r.Dx()], src.Pix[s:s+4*r.Dx()])
	}
	return &Normalized{
		Image:     dst,
		Size:      side,
		Transform: Transform{Scale: 1, OffsetX: float64(x0), OffsetY: float64(y0)},
	}
}

// resample maps the square [CX-R, CX+R) x [CY-R, CY+R) onto size x size.
func resample(src *image.NRGBA, fov FOV, size int) *Normalized {
	t := Transform{
		Scale:   2 * fov.Radius / float64(size),
		OffsetX: fov.CX - fov.Radius,
		OffsetY: fov.CY - fov.Radius,
	}
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	resampleInto(dst, t, src)
	return &Normalized{Image: dst, Size: size, Transform: t}
}

func opaqueBlack(side int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img
}

// fovMask marks the analysis pixels whose centres lie inside the circle and
// inside the original image.
func fovMask(size int, t Transform, fov FOV, bounds image.Rectangle) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			ox, oy := t.ToOriginal(float64(x)+0.5, float64(y)+0.5)
			inImage := ox >= float64(bounds.Min.X) && ox < float64(bounds.Max.X) &&
				oy >= float64(bounds.Min.Y) && oy < float64(bounds.Max.Y)
			if inImage && fov.Contains(ox, oy) {
				m.Pix[y*m.Stride+x] = 0xff
			}
		}
	}
	return m
}

// ResampleToOriginal is the inverse: given a Size x Size float32 map (row-major) in analysis coordinates, return a map of the original Width x Height by bilinear sampling through Transform (values outside the square are 0).
//
// Each original pixel takes the value at its centre; within the outer half
// analysis pixel of the square, where bilinear sampling has no neighbour,
// the edge value is held. It returns nil if len(m) != Size*Size or the size
// is not positive.
func (n *Normalized) ResampleToOriginal(m []float32, origW, origH int) []float32 {
	s := n.Size
	if s <= 0 || len(m) != s*s || origW <= 0 || origH <= 0 {
		return nil
	}
	// The transform is separable: precompute taps per column and per row.
	type tap struct {
		i0, i1 int
		w1     float32
		ok     bool
	}
	taps := func(count int, toAnalysis func(float64) float64) []tap {
		out := make([]tap, count)
		for i := range out {
			u := toAnalysis(float64(i) + 0.5)
			if u < 0 || u >= float64(s) {
				continue
			}
			f := u - 0.5
			i0 := int(math.Floor(f))
			w1 := f - float64(i0)
			out[i] = tap{i0: min(max(i0, 0), s-1), i1: min(max(i0+1, 0), s-1), w1: float32(w1), ok: true}
		}
		return out
	}
	xs := taps(origW, func(x float64) float64 { u, _ := n.Transform.ToAnalysis(x, 0); return u })
	ys := taps(origH, func(y float64) float64 { _, v := n.Transform.ToAnalysis(0, y); return v })
	out := make([]float32, origW*origH)
	for y, ty := range ys {
		if !ty.ok {
			continue
		}
		r0, r1 := m[ty.i0*s:(ty.i0+1)*s], m[ty.i1*s:(ty.i1+1)*s]
		row := out[y*origW : (y+1)*origW]
		for x, tx := range xs {
			if !tx.ok {
				continue
			}
			top := r0[tx.i0] + (r0[tx.i1]-r0[tx.i0])*tx.w1
			bot := r1[tx.i0] + (r1[tx.i1]-r1[tx.i0])*tx.w1
			row[x] = top + (bot-top)*ty.w1
		}
	}
	return out
}
