package fundus

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// gradient is a small opaque test image whose every pixel differs.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), uint8((x + y) * 7), 255})
		}
	}
	return img
}

// encode runs one of the registered encoders over img.
func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	case "tiff":
		err = tiff.Encode(&buf, img, &tiff.Options{Compression: tiff.Deflate})
	case "bmp":
		err = bmp.Encode(&buf, img)
	default:
		t.Fatalf("no encoder for %q", format)
	}
	if err != nil {
		t.Fatalf("encode %s: %v", format, err)
	}
	return buf.Bytes()
}

// discSpec describes a synthetic fundus photograph: a reddish disc with
// vignetting, a few dark "vessels" and noise on a near-black background.
type discSpec struct {
	w, h       int
	cx, cy, r  float64
	background uint8
	bright     float64 // red level at the disc centre
	seed       uint64
}

func syntheticFundus(s discSpec) *image.NRGBA {
	rng := rand.New(rand.NewPCG(s.seed, 7))
	img := image.NewNRGBA(image.Rect(0, 0, s.w, s.h))
	for y := range s.h {
		for x := range s.w {
			px, py := float64(x)+0.5, float64(y)+0.5
			d := math.Hypot(px-s.cx, py-s.cy)
			noise := rng.Float64()*6 - 3
			bg := float64(s.background) + noise
			// Anti-aliased edge over about one pixel.
			in := math.Min(math.Max(s.r-d+0.5, 0), 1)
			// Vignetting: the periphery is at 40% of the centre.
			lvl := s.bright * (1 - 0.6*(d/s.r)*(d/s.r))
			// Two dark vessels crossing the disc.
			if math.Abs(py-s.cy-0.3*(px-s.cx)) < 3 || math.Abs(px-s.cx+0.2*(py-s.cy)) < 2 {
				lvl *= 0.6
			}
			r := bg*(1-in) + (lvl+noise)*in
			g := bg*(1-in) + (0.45*lvl+noise)*in
			b := bg*(1-in) + (0.25*lvl+noise)*in
			img.SetNRGBA(x, y, color.NRGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(math.Min(math.Max(math.Round(v), 0), 255)) }
