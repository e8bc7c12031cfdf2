package fundus

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTransformRoundTrip(t *testing.T) {
	tests := []struct {
		name           string
		tr             Transform
		ax, ay, ox, oy float64 // a known pair: analysis (ax, ay) is original (ox, oy)
	}{
		{"identity", Transform{Scale: 1}, 3.5, 4.5, 3.5, 4.5},
		{"crop", Transform{Scale: 1, OffsetX: -20, OffsetY: 35}, 0, 0, -20, 35},
		{"shrink 1708 to 512", Transform{Scale: 1708.0 / 512, OffsetX: 142.5, OffsetY: -143.25}, 256, 256, 142.5 + 854, -143.25 + 854},
		{"enlarge", Transform{Scale: 0.25, OffsetX: 10, OffsetY: 20}, 4, 8, 11, 22},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ox, oy := tc.tr.ToOriginal(tc.ax, tc.ay)
			if !near(ox, tc.ox, 1e-9) || !near(oy, tc.oy, 1e-9) {
				t.Errorf("ToOriginal(%g, %g) = (%g, %g), want (%g, %g)", tc.ax, tc.ay, ox, oy, tc.ox, tc.oy)
			}
			for _, p := range [][2]float64{{0, 0}, {0.5, 0.5}, {511.5, 3}, {-7, 1e4}} {
				x, y := tc.tr.ToAnalysis(tc.tr.ToOriginal(p[0], p[1]))
				if !near(x, p[0], 1e-9) || !near(y, p[1], 1e-9) {
					t.Errorf("round trip of %v gave (%g, %g)", p, x, y)
				}
			}
		})
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// withDot returns a synthetic fundus with a pure blue square of side 2*half+1
// centred on pixel (px, py).
func withDot(s discSpec, px, py, half int) *Image {
	pix := syntheticFundus(s)
	for y := py - half; y <= py+half; y++ {
		for x := px - half; x <= px+half; x++ {
			pix.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 255})
		}
	}
	return &Image{Pix: pix, Name: "dot.png", Width: s.w, Height: s.h}
}

func TestNormalizeMapsDot(t *testing.T) {
	spec := discSpec{w: 800, h: 600, cx: 400.3, cy: 300.7, r: 250, background: 4, bright: 200, seed: 3}
	const px, py = 470, 250
	tests := []struct {
		name string
		size int
		half int // dot half-side in original pixels; larger when shrinking
	}{
		{"native", 0, 0},
		{"shrink to 256", 256, 2},
		{"enlarge to 1024", 1024, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Normalize(withDot(spec, px, py, tc.half), tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if n.Image.Rect != image.Rect(0, 0, n.Size, n.Size) || n.Mask.Rect != n.Image.Rect {
				t.Fatalf("image %v, mask %v, size %d", n.Image.Rect, n.Mask.Rect, n.Size)
			}
			if tc.size > 0 && n.Size != tc.size {
				t.Errorf("Size = %d, want %d", n.Size, tc.size)
			}
			if tc.size <= 0 {
				if want := int(math.Round(2 * n.FOV.Radius)); n.Size != want || n.Transform.Scale != 1 {
					t.Errorf("native: Size %d Scale %g, want %d and 1", n.Size, n.Transform.Scale, want)
				}
			}
			ax, ay := n.Transform.ToAnalysis(px+0.5, py+0.5)
			want := image.Pt(int(math.Floor(ax)), int(math.Floor(ay)))
			got := bluest(n.Image)
			if d := got.Sub(want); d.X*d.X+d.Y*d.Y > 1 {
				t.Errorf("dot at analysis %v, want %v (from original (%d, %d))", got, want, px, py)
			}
			if tc.size <= 0 {
				if c := n.Image.NRGBAAt(want.X, want.Y); c != (color.NRGBA{0, 0, 255, 255}) {
					t.Errorf("native crop changed the dot pixel: %v", c)
				}
			}
		})
	}
}

// bluest returns the pixel where blue most exceeds red.
func bluest(img *image.NRGBA) image.Point {
	best, bestScore := image.Point{}, -1<<30
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			if s := int(c.B) - int(c.R); s > bestScore {
				best, bestScore = image.Pt(x, y), s
			}
		}
	}
	return best
}

// A disc cropped at top and bottom: the square reaches past the image, which
// must come out black and outside the mask.
func TestNormalizeCroppedPadsBlack(t *testing.T) {
	spec := discSpec{w: 1072, h: 712, cx: 500, cy: 355, r: 427, background: 3, bright: 200, seed: 4}
	for _, size := range []int{0, 256} {
		n, err := Normalize(&Image{Pix: syntheticFundus(spec), Name: "crop.png", Width: spec.w, Height: spec.h}, size)
		if err != nil {
			t.Fatal(err)
		}
		if !n.FOV.ClippedTop || !n.FOV.ClippedBottom {
			t.Fatalf("size %d: FOV %+v not clipped", size, n.FOV)
		}
		maskArea := 0
		for y := range n.Size {
			for x := range n.Size {
				ox, oy := n.Transform.ToOriginal(float64(x)+0.5, float64(y)+0.5)
				inImage := ox >= 0 && ox < float64(spec.w) && oy >= 0 && oy < float64(spec.h)
				wantMask := inImage && n.FOV.Contains(ox, oy)
				if gotMask := n.Mask.GrayAt(x, y).Y == 255; gotMask != wantMask {
					t.Fatalf("size %d: mask at (%d, %d) = %v, want %v", size, x, y, gotMask, wantMask)
				}
				if wantMask {
					maskArea++
				}
				if !inImage && n.Image.NRGBAAt(x, y) != (color.NRGBA{0, 0, 0, 255}) {
					t.Fatalf("size %d: padding at (%d, %d) = %v, want opaque black", size, x, y, n.Image.NRGBAAt(x, y))
				}
			}
		}
		// The mask covers the visible part of the disc: Coverage of the
		// inscribed circle's area.
		r := float64(n.Size) / 2
		if want := n.FOV.Coverage * math.Pi * r * r; math.Abs(float64(maskArea)-want) > 0.01*want {
			t.Errorf("size %d: mask area %d, want about %.0f", size, maskArea, want)
		}
	}
}

func TestNormalizeNoFOV(t *testing.T) {
	img := &Image{Pix: image.NewNRGBA(image.Rect(0, 0, 50, 40)), Name: "black.png", Width: 50, Height: 40}
	_, err := Normalize(img, 128)
	checkFileError(t, err, "black.png", ErrNoFOV)
	if _, err := Normalize(nil, 128); err == nil {
		t.Error("Normalize(nil) succeeded")
	}
	disc := syntheticFundus(discSpec{w: 64, h: 64, cx: 32, cy: 32, r: 28, background: 2, bright: 200})
	_, err = Normalize(&Image{Pix: disc, Name: "big.png"}, MaxNormalizedSize+1)
	if err == nil || !strings.Contains(err.Error(), "big.png") {
		t.Errorf("oversized Normalize: error %v", err)
	}
}

func TestResampleToOriginal(t *testing.T) {
	spec := discSpec{w: 640, h: 480, cx: 330, cy: 235, r: 260, background: 5, bright: 190, seed: 5}
	img := &Image{Pix: syntheticFundus(spec), Name: "r.png", Width: spec.w, Height: spec.h}
	for _, size := range []int{0, 200, 700} {
		n, err := Normalize(img, size)
		if err != nil {
			t.Fatal(err)
		}
		s := n.Size
		// A linear map is reproduced exactly by bilinear sampling.
		f := func(x, y float64) float64 { return 0.5*x - 0.25*y + 3 }
		lin := make([]float32, s*s)
		mask := make([]float32, s*s)
		for j := range s {
			for i := range s {
				lin[j*s+i] = float32(f(n.Transform.ToOriginal(float64(i)+0.5, float64(j)+0.5)))
				mask[j*s+i] = float32(n.Mask.Pix[j*n.Mask.Stride+i]) / 255
			}
		}
		back := n.ResampleToOriginal(lin, spec.w, spec.h)
		if len(back) != spec.w*spec.h {
			t.Fatalf("size %d: got %d values, want %d", size, len(back), spec.w*spec.h)
		}
		for y := range spec.h {
			for x := range spec.w {
				u, v := n.Transform.ToAnalysis(float64(x)+0.5, float64(y)+0.5)
				got := float64(back[y*spec.w+x])
				switch {
				case u < 0 || v < 0 || u >= float64(s) || v >= float64(s):
					if got != 0 {
						t.Fatalf("size %d: (%d, %d) outside the square = %g, want 0", size, x, y, got)
					}
				case u >= 0.5 && v >= 0.5 && u <= float64(s)-0.5 && v <= float64(s)-0.5:
					if want := f(float64(x)+0.5, float64(y)+0.5); math.Abs(got-want) > 1e-3*math.Max(1, math.Abs(want)) {
						t.Fatalf("size %d: (%d, %d) = %g, want %g", size, x, y, got, want)
					}
				}
			}
		}
		// The analysis mask, mapped back, is the circle in the original.
		backMask := n.ResampleToOriginal(mask, spec.w, spec.h)
		inter, union := 0, 0
		for y := range spec.h {
			for x := range spec.w {
				a := backMask[y*spec.w+x] >= 0.5
				b := n.FOV.Contains(float64(x)+0.5, float64(y)+0.5)
				if a && b {
					inter++
				}
				if a || b {
					union++
				}
			}
		}
		if iou := float64(inter) / float64(union); iou < 0.99 {
			t.Errorf("size %d: mask mapped back has IoU %.4f with the circle", size, iou)
		}
		if n.ResampleToOriginal(lin[1:], spec.w, spec.h) != nil || n.ResampleToOriginal(lin, 0, spec.h) != nil {
			t.Errorf("size %d: bad input did not return nil", size)
		}
	}
}

func TestLoadMaskAndRaster(t *testing.T) {
	// A colour-coded mask: red, dark grey and white pixels.
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(img.Pix, []uint8{255, 0, 0, 255, 100, 100, 100, 255, 255, 255, 255, 255})
	path := filepath.Join(t.TempDir(), "mask.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, img)
	f.Close()
	m, err := LoadMask(path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Pix; got[0] != 255 || got[1] != 0 || got[2] != 255 {
		t.Errorf("mask %v, want [255 0 255]", got)
	}

	// A circle of radius 2 centred on a 4x4 image covers the 12 pixels whose
	// centres are within 2 of (2,2): all but the corners.
	r := FOV{CX: 2, CY: 2, Radius: 2}.Raster(4, 4)
	n := 0
	for _, in := range r {
		if in {
			n++
		}
	}
	if n != 12 || r[0] || r[3] || !r[5] {
		t.Errorf("raster %v (%d set), want all but the 4 corners", r, n)
	}
}
