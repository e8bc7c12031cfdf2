package fundus

import (
	"image"
	"math"
	"runtime"
	"sync"

	"golang.org/x/image/draw"
)

// resampleInto draws the square of src that t maps onto dst (t.Scale
// original pixels per dst pixel, offset t.OffsetX/Y) with Catmull-Rom
// resampling, the same filter and the same arithmetic as
// draw.CatmullRom.Transform with that axis-aligned transform: the kernel
// widened by the scale when shrinking, taps clipped to src and their
// weights renormalized, premultiplied float64 sums, results clamped to
// alpha and truncated to 16 then 8 bits. Pixels whose source centre falls
// outside src are opaque black.
//
// x/image/draw's Transform handles any affine map, so it computes the
// weights of every tap of every pixel and visits (taps per axis)^2 source
// pixels per output pixel: 64 for a 2144-wide photo shrunk to 1024. The
// map here is a scale and a shift, so the filter is separable: weights are
// computed once per row and per column, and each output row is one
// vertical pass over the source rows it needs and one horizontal pass,
// about 6x less work. The sums are grouped differently, so a pixel can
// differ from Transform's by one level where a sum lands within rounding
// error of a truncation step (TestResampleMatchesTransform bounds it).
func resampleInto(dst *image.NRGBA, t Transform, src *image.NRGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	cols := axisTaps(w, t.Scale, t.OffsetX, src.Rect.Min.X, src.Rect.Max.X)
	rows := axisTaps(h, t.Scale, t.OffsetY, src.Rect.Min.Y, src.Rect.Max.Y)
	// Only the source columns some output column reads.
	x0, x1 := src.Rect.Max.X, src.Rect.Min.X
	for _, c := range cols {
		if c.inside {
			x0, x1 = min(x0, c.first), max(x1, c.first+len(c.w))
		}
	}
	n := max(1, min(runtime.GOMAXPROCS(0), 8, h/64))
	var wg sync.WaitGroup
	for k := range n {
		y0, y1 := k*h/n, (k+1)*h/n
		wg.Go(func() {
			line := make([]float64, 4*max(0, x1-x0)) // one vertically filtered source row, premultiplied RGBA
			for y := y0; y < y1; y++ {
				out := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
				r := rows[y]
				if !r.inside || x1 <= x0 {
					blackRow(out)
					continue
				}
				clear(line)
				for j, wy := range r.w {
					if wy == 0 {
						continue
					}
					sp := src.Pix[(r.first+j-src.Rect.Min.Y)*src.Stride+(x0-src.Rect.Min.X)*4:]
					for i := 0; i < len(line); i += 4 {
						pa := uint32(sp[i+3]) * 0x101
						line[i] += float64(uint32(sp[i])*pa/0xff) * wy
						line[i+1] += float64(uint32(sp[i+1])*pa/0xff) * wy
						line[i+2] += float64(uint32(sp[i+2])*pa/0xff) * wy
						line[i+3] += float64(pa) * wy
					}
				}
				for x, c := range cols {
					o := out[4*x : 4*x+4 : 4*x+4]
					if !c.inside {
						o[0], o[1], o[2], o[3] = 0, 0, 0, 0xff
						continue
					}
					var pr, pg, pb, pa float64
					l := line[4*(c.first-x0):]
					for i, wx := range c.w {
						pr += l[4*i] * wx
						pg += l[4*i+1] * wx
						pb += l[4*i+2] * wx
						pa += l[4*i+3] * wx
					}
					setNRGBA(o, pr, pg, pb, pa)
				}
			}
		})
	}
	wg.Wait()
}

// tap is one output index's filter along an axis: weights for the source
// indices first, first+1, ...; inside is false when the output pixel's
// centre maps outside the source (it is then black).
type tap struct {
	first  int
	w      []float64
	inside bool
}

// axisTaps computes draw.CatmullRom's normalized weights for n output
// pixels along an axis, output i covering source coordinate
// offset + (i+0.5)*scale, source indices clipped to [lo, hi).
func axisTaps(n int, scale, offset float64, lo, hi int) []tap {
	k := draw.CatmullRom
	half, argScale := k.Support, 1.0
	if scale > 1 {
		half *= scale
		argScale = 1 / scale
	}
	taps := make([]tap, n)
	for i := range taps {
		s := offset + (float64(i)+0.5)*scale
		if f := int(math.Floor(s)); f < lo || f >= hi {
			continue
		}
		s -= 0.5
		first := max(lo, int(math.Floor(s-half)))
		last := min(hi, int(math.Ceil(s+half)))
		w := make([]float64, last-first)
		total := 0.0
		for j := range w {
			if d := math.Abs((s - float64(first+j)) * argScale); d < k.Support {
				w[j] = k.At(d)
			}
			total += w[j]
		}
		for j := range w {
			w[j] /= total
		}
		taps[i] = tap{first: first, w: w, inside: true}
	}
	return taps
}

// setNRGBA stores premultiplied 16-bit sums as a straight-alpha pixel,
// clamping as x/image/draw does (colour at most alpha, 0..0xffff).
func setNRGBA(o []uint8, pr, pg, pb, pa float64) {
	pr, pg, pb = min(pr, pa), min(pg, pa), min(pb, pa)
	r, g, b, a := to8(pr), to8(pg), to8(pb), to8(pa)
	if a == 0xff {
		o[0], o[1], o[2], o[3] = r, g, b, a
		return
	}
	// Translucent sources only: undo the premultiplication.
	o[0], o[1], o[2], o[3] = 0, 0, 0, a
	if a > 0 {
		o[0] = uint8(uint32(r) * 0xff / uint32(a))
		o[1] = uint8(uint32(g) * 0xff / uint32(a))
		o[2] = uint8(uint32(b) * 0xff / uint32(a))
	}
}

// to8 is x/image/draw's float-to-16-bit conversion (clamped, truncated)
// taken to 8 bits.
func to8(f float64) uint8 {
	switch {
	case f < 0:
		return 0
	case f > 0xffff:
		return 0xff
	}
	return uint8(uint32(f) >> 8)
}

func blackRow(p []uint8) {
	for i := 0; i < len(p); i += 4 {
		p[i], p[i+1], p[i+2], p[i+3] = 0, 0, 0, 0xff
	}
}
