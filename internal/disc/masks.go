package disc

import (
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/imgproc"
)

// pasteBack maps a Size x Size map of the crop (row-major) onto the
// original pixels of r, which should lie within c.Bounds: each pixel takes
// the bilinear value at its centre; within the outer half crop pixel,
// where bilinear sampling has no neighbour, the edge value is held; pixels
// whose centre lies outside the crop square get 0. This is train.py's
// paste_back (grid_sample, align_corners=False, padding_mode="border",
// then zero outside the box), which produced the cross-validated figures.
func pasteBack(m []float32, c Crop, r image.Rectangle) []float32 {
	s := c.Size
	type tap struct {
		i0, i1 int
		w1     float32
		ok     bool
	}
	taps := func(lo, hi int, x0 float64) []tap {
		out := make([]tap, hi-lo)
		for k := range out {
			d := float64(lo+k) + 0.5 - x0 // distance into the crop, original px
			if d < 0 || d > c.Side {
				continue
			}
			f := math.Min(math.Max(d/c.Side*float64(s)-0.5, 0), float64(s-1))
			i0 := int(math.Floor(f))
			out[k] = tap{i0: i0, i1: min(i0+1, s-1), w1: float32(f - float64(i0)), ok: true}
		}
		return out
	}
	xs := taps(r.Min.X, r.Max.X, c.X0)
	ys := taps(r.Min.Y, r.Max.Y, c.Y0)
	w := r.Dx()
	out := make([]float32, w*r.Dy())
	for y, ty := range ys {
		if !ty.ok {
			continue
		}
		r0, r1 := m[ty.i0*s:(ty.i0+1)*s], m[ty.i1*s:(ty.i1+1)*s]
		row := out[y*w : (y+1)*w]
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

// threshold is the mask of p >= t (and, when within is given, inside it)
// over r, 255 inside.
func threshold(p []float32, t float64, r image.Rectangle, within *image.Gray) *image.Gray {
	m := image.NewGray(r)
	for i, v := range p {
		if float64(v) >= t && (within == nil || within.Pix[i] != 0) {
			m.Pix[i] = 255
		}
	}
	return m
}

// largestFilled keeps the largest 8-connected component of m (the first in
// raster order on a tie, as scipy's argmax over ndimage.label does) and
// fills its holes: background not 4-connected to the border of m, as
// scipy's binary_fill_holes with its default cross structure. m must start
// its Pix at its Rect.Min with Stride == width (image.NewGray). It returns
// a new mask; an empty m gives an empty mask.
func largestFilled(m *image.Gray) *image.Gray {
	r := m.Rect
	w, h := r.Dx(), r.Dy()
	out := image.NewGray(r)
	labels, n := imgproc.Label(m, true)
	if n == 0 {
		return out
	}
	sizes := make([]int, n+1)
	for _, l := range labels {
		sizes[l]++
	}
	best := 1
	for l := 2; l <= n; l++ {
		if sizes[l] > sizes[best] {
			best = l
		}
	}
	bg := image.NewGray(r)
	for i, l := range labels {
		if l == int32(best) {
			out.Pix[i] = 255
		} else {
			bg.Pix[i] = 255
		}
	}
	holes, nh := imgproc.Label(bg, false)
	if nh == 0 {
		return out
	}
	outside := make([]bool, nh+1)
	for x := range w {
		outside[holes[x]] = true
		outside[holes[(h-1)*w+x]] = true
	}
	for y := range h {
		outside[holes[y*w]] = true
		outside[holes[y*w+w-1]] = true
	}
	for i, l := range holes {
		if l != 0 && !outside[l] {
			out.Pix[i] = 255
		}
	}
	return out
}

// meanOver is the mean of p over the pixels set in m (0 for none).
func meanOver(p []float32, m *image.Gray) float64 {
	var sum float64
	n := 0
	for i, v := range m.Pix {
		if v != 0 {
			sum += float64(p[i])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
