package fundus

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// Drawing in bands must give the very pixels of one Transform call.
func TestTransformBandsMatchesOneCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	src := image.NewNRGBA(image.Rect(0, 0, 701, 463))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	for i := 3; i < len(src.Pix); i += 4 {
		src.Pix[i] = 0xff
	}
	for _, tc := range []struct {
		size  int
		scale float64
		ox    float64
	}{{256, 701.0 / 256, -3.7}, {384, 1.9, 12.25}, {1024, 0.5, 0}} {
		s2d := f64.Aff3{1 / tc.scale, 0, -tc.ox / tc.scale, 0, 1 / tc.scale, 1.5 / tc.scale}
		one := image.NewRGBA(image.Rect(0, 0, tc.size, tc.size))
		draw.CatmullRom.Transform(one, s2d, src, src.Rect, draw.Src, nil)
		for _, n := range []int{1, 2, 3, 8} {
			banded := image.NewRGBA(image.Rect(0, 0, tc.size, tc.size))
			transformBands(banded, s2d, src, n)
			if !bytes.Equal(one.Pix, banded.Pix) {
				t.Errorf("size %d, %d bands: pixels differ from one call", tc.size, n)
			}
		}
	}
}
