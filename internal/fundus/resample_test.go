package fundus

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// transformOracle is what Normalize did before resampleInto: the general
// x/image/draw Catmull-Rom transform, black where the pixel's centre maps
// outside src, premultiplication undone.
func transformOracle(size int, t Transform, src *image.NRGBA) *image.NRGBA {
	rgba := image.NewRGBA(image.Rect(0, 0, size, size))
	s2d := f64.Aff3{1 / t.Scale, 0, -t.OffsetX / t.Scale, 0, 1 / t.Scale, -t.OffsetY / t.Scale}
	draw.CatmullRom.Transform(rgba, s2d, src, src.Rect, draw.Src, nil)
	dst := opaqueBlack(size)
	for y := range size {
		_, oy := t.ToOriginal(0, float64(y)+0.5)
		for x := range size {
			ox, _ := t.ToOriginal(float64(x)+0.5, 0)
			if !(image.Point{int(math.Floor(ox)), int(math.Floor(oy))}).In(src.Rect) {
				continue
			}
			i := rgba.PixOffset(x, y)
			p := rgba.Pix[i : i+4]
			if a := uint32(p[3]); a == 0xff {
				copy(dst.Pix[i:i+4], p)
			} else {
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = 0, 0, 0
				if a > 0 {
					dst.Pix[i] = uint8(uint32(p[0]) * 0xff / a)
					dst.Pix[i+1] = uint8(uint32(p[1]) * 0xff / a)
					dst.Pix[i+2] = uint8(uint32(p[2]) * 0xff / a)
				}
				dst.Pix[i+3] = p[3]
			}
		}
	}
	return dst
}

// The separable resampler must give Transform's pixels: the same filter,
// weights and clamping, summed in another order. Where a sum lands exactly
// on a truncation step (common when enlarging by simple ratios, whose
// weights are exact binary fractions) the two can fall on either side, so
// a value may be one level apart; colours are compared premultiplied by
// alpha, as both compute them, because undoing the premultiplication of a
// nearly transparent pixel magnifies that level up to 255 times.
func TestResampleMatchesTransform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	noise := func(w, h int, opaque bool) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		if opaque {
			for i := 3; i < len(img.Pix); i += 4 {
				img.Pix[i] = 0xff
			}
		}
		return img
	}
	smooth := noise(701, 463, true) // a photo-like gradient with texture
	for y := range 463 {
		for x := range 701 {
			i := smooth.PixOffset(x, y)
			smooth.Pix[i] = uint8(60 + x*150/701 + int(smooth.Pix[i])%8)
			smooth.Pix[i+1] = uint8(30 + y*90/463 + int(smooth.Pix[i+1])%8)
			smooth.Pix[i+2] = uint8(10 + int(smooth.Pix[i+2])%16)
		}
	}
	offset := noise(300, 200, true).SubImage(image.Rect(17, 9, 300, 200)).(*image.NRGBA)
	for _, tc := range []struct {
		name string
		src  *image.NRGBA
		size int
		t    Transform
	}{
		{"shrink 2.7x, square past the left edge", noise(701, 463, true), 256, Transform{Scale: 701.0 / 256, OffsetX: -3.7, OffsetY: -1.5}},
		{"shrink 1.9x, past the top", smooth, 384, Transform{Scale: 1.9, OffsetX: 12.25, OffsetY: -130}},
		{"enlarge 2x", smooth, 1024, Transform{Scale: 0.5, OffsetX: 0, OffsetY: -1.5}},
		{"enlarge 1.2x, translucent", noise(400, 300, false), 480, Transform{Scale: 400.0 / 480, OffsetX: 0, OffsetY: -50}},
		{"source rect not at the origin", offset, 200, Transform{Scale: 1.5, OffsetX: 0, OffsetY: -40}},
		{"entirely outside", smooth, 64, Transform{Scale: 1, OffsetX: 2000, OffsetY: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := transformOracle(tc.size, tc.t, tc.src)
			got := image.NewNRGBA(image.Rect(0, 0, tc.size, tc.size))
			resampleInto(got, tc.t, tc.src)
			premul := func(p []uint8, i int) int {
				if i%4 == 3 {
					return int(p[i])
				}
				return int(p[i]) * int(p[i|3]) / 0xff
			}
			differ, worst := 0, 0
			for i := range want.Pix {
				if d := premul(got.Pix, i) - premul(want.Pix, i); d != 0 {
					differ++
					worst = max(worst, d, -d)
				}
			}
			t.Logf("%d of %d values differ, by at most %d", differ, len(want.Pix), worst)
			if worst > 2 || differ > len(want.Pix)/200 {
				t.Errorf("%d of %d values differ from Transform's, by up to %d: want at most 1 in 200, by 1 (2 after premultiplying)", differ, len(want.Pix), worst)
			}
		})
	}
}

func BenchmarkResample(b *testing.B) {
	src := image.NewNRGBA(image.Rect(0, 0, 2144, 1424))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	t := Transform{Scale: 1712.0 / 1024, OffsetX: 216, OffsetY: -144}
	b.Run("separable", func(b *testing.B) {
		dst := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
		for b.Loop() {
			resampleInto(dst, t, src)
		}
	})
	b.Run("x/image Transform", func(b *testing.B) {
		for b.Loop() {
			transformOracle(1024, t, src)
		}
	})
}
