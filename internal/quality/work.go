package quality

import (
	"image"
	"image/color"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// Working resolutions. Every measure is taken at a fixed scale relative to
// the field of view, so that a 400-pixel copy and a 4288-pixel original of
// the same photograph give the same numbers, and so that the cost does not
// grow with the photo (one pass over its pixels, then small images).
const (
	// fieldSide is the side of the square around the field of view in
	// which the quality measures are taken: the FOV diameter becomes 320
	// pixels, a little under the 400-pixel copies of the EyeQ-graded
	// photographs the thresholds were calibrated on.
	fieldSide = 320
	// frameSide bounds the longest side of the low-resolution copy of the
	// whole photo used for the surround and whole-frame statistics.
	frameSide = 160
)

// planes is an RGB image as three float32 planes (0..255), row-major; valid
// marks the pixels that come from the photograph (the rest lies beyond its
// edge, where a clipped field of view continues).
type planes struct {
	w, h    int
	r, g, b []float32
	valid   []bool
}

func newPlanes(w, h int) *planes {
	n := w * h
	return &planes{w: w, h: h, r: make([]float32, n), g: make([]float32, n), b: make([]float32, n), valid: make([]bool, n)}
}

// reduce box-averages img over k x k blocks (the last row and column of
// blocks may be partial). It is the only pass over the full-resolution
// pixels; the common decoder outputs are read directly.
func reduce(img image.Image, k int) *planes {
	bounds := img.Bounds()
	W, H := bounds.Dx(), bounds.Dy()
	w, h := (W+k-1)/k, (H+k-1)/k
	sr := make([]uint32, w)
	sg := make([]uint32, w)
	sb := make([]uint32, w)
	p := newPlanes(w, h)
	rowRGB := rowReader(img)
	row := make([]uint8, 3*W)
	nrgba, _ := img.(*image.NRGBA)
	for j := range h {
		clear(sr)
		clear(sg)
		clear(sb)
		y0, y1 := j*k, min((j+1)*k, H)
		for y := y0; y < y1; y++ {
			// Sum each block of k pixels of the row; NRGBA (what
			// fundus.Load gives) is read in place.
			src, step := row, 3
			if nrgba != nil {
				src, step = nrgba.Pix[nrgba.PixOffset(bounds.Min.X, bounds.Min.Y+y):], 4
			} else {
				rowRGB(y, row)
			}
			for i := range w {
				x0, x1 := i*k, min((i+1)*k, W)
				var r, g, b uint32
				for o := x0 * step; o < x1*step; o += step {
					r += uint32(src[o])
					g += uint32(src[o+1])
					b += uint32(src[o+2])
				}
				sr[i] += r
				sg[i] += g
				sb[i] += b
			}
		}
		for i := range w {
			n := float32((min((i+1)*k, W) - i*k) * (y1 - y0))
			o := j*w + i
			p.r[o], p.g[o], p.b[o] = float32(sr[i])/n, float32(sg[i])/n, float32(sb[i])/n
			p.valid[o] = true
		}
	}
	return p
}

// rowReader returns a function filling dst with the 8-bit RGB values of
// row y (0-based from the top of the bounds). Alpha is ignored: decoded
// photographs are opaque.
func rowReader(img image.Image) func(y int, dst []uint8) {
	b := img.Bounds()
	W := b.Dx()
	switch s := img.(type) {
	case *image.NRGBA:
		return func(y int, dst []uint8) {
			src := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range W {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	case *image.RGBA:
		return func(y int, dst []uint8) {
			src := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range W {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	case *image.Gray:
		return func(y int, dst []uint8) {
			src := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range W {
				v := src[x]
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.YCbCr:
		return func(y int, dst []uint8) {
			for x := range W {
				yi := s.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := s.COffset(b.Min.X+x, b.Min.Y+y)
				dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
			}
		}
	}
	return func(y int, dst []uint8) {
		for x := range W {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
		}
	}
}

// areaWeights returns, for n output samples covering the source interval
// [x0, x0+n*step) of a source of length size, the source indices and
// overlap weights of each output sample; weights over source positions
// outside [0, size) are dropped, and valid[u] says whether at least half of
// the sample's footprint lies inside.
func areaWeights(n int, x0, step float64, size int) (idx [][]int, wt [][]float32, valid []bool) {
	idx, wt, valid = make([][]int, n), make([][]float32, n), make([]bool, n)
	for u := range n {
		a, b := x0+float64(u)*step, x0+float64(u+1)*step
		inside := 0.0
		for s := int(math.Floor(a)); float64(s) < b; s++ {
			ov := min(b, float64(s+1)) - max(a, float64(s))
			if ov <= 0 || s < 0 || s >= size {
				continue
			}
			idx[u] = append(idx[u], s)
			wt[u] = append(wt[u], float32(ov))
			inside += ov
		}
		for i := range wt[u] {
			wt[u][i] /= float32(inside)
		}
		valid[u] = inside >= 0.5*(b-a)
	}
	return idx, wt, valid
}

// resampleSquare area-averages the square [x0, x0+side) x [y0, y0+side) of
// src (in src pixels, possibly reaching beyond it) to n x n.
func resampleSquare(src *planes, x0, y0, side float64, n int) *planes {
	step := side / float64(n)
	xi, xw, xv := areaWeights(n, x0, step, src.w)
	yi, yw, yv := areaWeights(n, y0, step, src.h)
	// Horizontal pass over the rows the square touches.
	tmp := [3][]float32{make([]float32, src.h*n), make([]float32, src.h*n), make([]float32, src.h*n)}
	rows := make([]bool, src.h)
	for v := range n {
		for _, s := range yi[v] {
			rows[s] = true
		}
	}
	for y := range src.h {
		if !rows[y] {
			continue
		}
		o := y * src.w
		for u := range n {
			var r, g, b float32
			for k, s := range xi[u] {
				w := xw[u][k]
				r += w * src.r[o+s]
				g += w * src.g[o+s]
				b += w * src.b[o+s]
			}
			tmp[0][y*n+u], tmp[1][y*n+u], tmp[2][y*n+u] = r, g, b
		}
	}
	out := newPlanes(n, n)
	for v := range n {
		for u := range n {
			var r, g, b float32
			for k, s := range yi[v] {
				w := yw[v][k]
				r += w * tmp[0][s*n+u]
				g += w * tmp[1][s*n+u]
				b += w * tmp[2][s*n+u]
			}
			o := v*n + u
			out.r[o], out.g[o], out.b[o] = r, g, b
			out.valid[o] = xv[u] && yv[v]
		}
	}
	return out
}

// views are the two working images of one photo: the whole frame at low
// resolution, and the square around the field of view at fieldSide (nil
// without a field of view). frameScale and the field's origin and step map
// them back to original pixels.
type views struct {
	frame      *planes
	frameScale float64 // original pixels per frame pixel
	field      *planes
	fieldR     float64 // FOV radius in field pixels (fieldSide/2)
}

// makeViews reduces img once by an integer factor that keeps the FOV
// diameter at least fieldSide, then derives both views from the reduced
// copy.
func makeViews(img image.Image, fov *fundus.FOV) views {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	k := 1
	if fov != nil {
		k = max(1, int(2*fov.Radius/fieldSide))
	} else {
		k = max(1, max(W, H)/(2*fieldSide))
	}
	red := reduce(img, k)
	var v views
	// The frame view: a further integer reduction of the reduced copy.
	k2 := max(1, (max(red.w, red.h)+frameSide-1)/frameSide)
	v.frame = reducePlanes(red, k2)
	v.frameScale = float64(k * k2)
	if fov != nil {
		x0 := (fov.CX - float64(b.Min.X) - fov.Radius) / float64(k)
		y0 := (fov.CY - float64(b.Min.Y) - fov.Radius) / float64(k)
		v.field = resampleSquare(red, x0, y0, 2*fov.Radius/float64(k), fieldSide)
		v.fieldR = fieldSide / 2
	}
	return v
}

// reducePlanes box-averages p over k x k blocks.
func reducePlanes(p *planes, k int) *planes {
	if k == 1 {
		return p
	}
	w, h := (p.w+k-1)/k, (p.h+k-1)/k
	out := newPlanes(w, h)
	for j := range h {
		for i := range w {
			var r, g, b float32
			n := 0
			for y := j * k; y < min((j+1)*k, p.h); y++ {
				for x := i * k; x < min((i+1)*k, p.w); x++ {
					o := y*p.w + x
					r += p.r[o]
					g += p.g[o]
					b += p.b[o]
					n++
				}
			}
			o := j*w + i
			out.r[o], out.g[o], out.b[o] = r/float32(n), g/float32(n), b/float32(n)
			out.valid[o] = true
		}
	}
	return out
}
