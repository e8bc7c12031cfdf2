package quality

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// Synthetic degradations of real photographs. Each takes the photo and
// its field of view (found on the clean photo) and a severity, and returns
// a new image; severity 0 returns a copy.

type degradation struct {
	name   string
	levels []float64
	apply  func(src *image.NRGBA, fov fundus.FOV, level float64) *image.NRGBA
}

var degradations = []degradation{
	// Gaussian blur, sigma as a percentage of the FOV radius (1% of an
	// IDRiD radius is about 7 pixels of the 2144-pixel copy).
	{"blur", []float64{0, 0.5, 1, 2, 4}, func(src *image.NRGBA, fov fundus.FOV, s float64) *image.NRGBA {
		return gaussianBlur(src, s/100*fov.Radius)
	}},
	// Exposure: every channel multiplied by the level.
	{"darken", []float64{1, 0.5, 0.3, 0.15, 0.07}, func(src *image.NRGBA, fov fundus.FOV, f float64) *image.NRGBA {
		return mapPixels(src, func(x, y int, c [3]float64) [3]float64 { return [3]float64{c[0] * f, c[1] * f, c[2] * f} })
	}},
	// Haze (media opacity, cataract): inside the FOV, blend towards light
	// grey by the level.
	{"haze", []float64{0, 0.3, 0.5, 0.7, 0.85}, func(src *image.NRGBA, fov fundus.FOV, a float64) *image.NRGBA {
		return mapPixels(src, func(x, y int, c [3]float64) [3]float64 {
			if !fov.Contains(float64(x)+0.5, float64(y)+0.5) {
				return c
			}
			for i := range c {
				c[i] = (1-a)*c[i] + a*190
			}
			return c
		})
	}},
	// Partial field (a lid or lashes): black over the top share of the
	// FOV's height.
	{"partial field", []float64{0, 0.15, 0.3, 0.45, 0.6}, func(src *image.NRGBA, fov fundus.FOV, f float64) *image.NRGBA {
		cut := fov.CY - fov.Radius + 2*f*fov.Radius
		return mapPixels(src, func(x, y int, c [3]float64) [3]float64 {
			if float64(y)+0.5 < cut {
				return [3]float64{}
			}
			return c
		})
	}},
	// Sensor noise: additive Gaussian, sigma in grey levels, at the
	// photo's own resolution.
	{"noise", []float64{0, 8, 16, 32, 64}, func(src *image.NRGBA, fov fundus.FOV, s float64) *image.NRGBA {
		r := rand.New(rand.NewPCG(7, 7))
		return mapPixels(src, func(x, y int, c [3]float64) [3]float64 {
			for i := range c {
				c[i] += s * r.NormFloat64()
			}
			return c
		})
	}},
}

func mapPixels(src *image.NRGBA, f func(x, y int, c [3]float64) [3]float64) *image.NRGBA {
	b := src.Bounds()
	dst := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := src.PixOffset(x, y)
			c := f(x-b.Min.X, y-b.Min.Y, [3]float64{float64(src.Pix[i]), float64(src.Pix[i+1]), float64(src.Pix[i+2])})
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = clamp8(c[0]), clamp8(c[1]), clamp8(c[2]), 255
		}
	}
	return dst
}

// gaussianBlur approximates a Gaussian of the given sigma by three box
// blurs in each direction (edges clamp).
func gaussianBlur(src *image.NRGBA, sigma float64) *image.NRGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	ch := [3][]float64{}
	for k := range ch {
		ch[k] = make([]float64, w*h)
	}
	for y := range h {
		for x := range w {
			i := src.PixOffset(b.Min.X+x, b.Min.Y+y)
			for k := range 3 {
				ch[k][y*w+x] = float64(src.Pix[i+k])
			}
		}
	}
	if sigma > 0 {
		// Three boxes of radius r have variance 3*((2r+1)^2-1)/12.
		r := max(1, int(math.Round((math.Sqrt(4*sigma*sigma+1)-1)/2)))
		for k := range ch {
			for range 3 {
				boxPass(ch[k], w, h, r, 1, w)
				boxPass(ch[k], h, w, r, w, 1)
			}
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		dst.Pix[4*i], dst.Pix[4*i+1], dst.Pix[4*i+2], dst.Pix[4*i+3] = clamp8(ch[0][i]), clamp8(ch[1][i]), clamp8(ch[2][i]), 255
	}
	return dst
}

// boxPass blurs lines of length n (stride step between samples, lines
// lineStride apart) with a box of radius r, clamping at the ends.
func boxPass(v []float64, n, lines, r, step, lineStride int) {
	buf := make([]float64, n)
	for l := range lines {
		o := l * lineStride
		at := func(i int) float64 { return v[o+max(0, min(n-1, i))*step] }
		sum := 0.0
		for i := -r; i <= r; i++ {
			sum += at(i)
		}
		for i := range n {
			buf[i] = sum / float64(2*r+1)
			sum += at(i+r+1) - at(i-r)
		}
		for i := range n {
			v[o+i*step] = buf[i]
		}
	}
}

// degradationPhotos are good real photos: the bundled sample always, and
// one from each shared dataset when ../shared is present.
func degradationPhotos(t *testing.T) map[string]*image.NRGBA {
	t.Helper()
	photos := map[string]*image.NRGBA{}
	img, err := fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	photos["sample IDRiD_055 (1072x712)"] = img.Pix
	root := filepath.Join("..", "..", "..", "shared", "datasets")
	for name, path := range map[string]string{
		"DRIVE 01_test": "drive/test/images/01_test.tif",
		"CHASE 05L":     "chase_db1/images/Image_05L.jpg",
		"Drishti 008":   "drishti_gs1/images/drishtiGS_008.jpg",
	} {
		img, err := fundus.Load(filepath.Join(root, path), fundus.Limits{})
		if err != nil {
			t.Logf("%s: not available (%v)", name, err)
			continue
		}
		photos[name] = img.Pix
	}
	return photos
}

// Every degradation must lower the grade monotonically, from good on the
// clean photo to reject at the strongest level.
func TestDegradationsMonotone(t *testing.T) {
	if testing.Short() {
		t.Skip("degrades full-size photos")
	}
	for name, src := range degradationPhotos(t) {
		fov, err := fundus.DetectFOV(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, d := range degradations {
			t.Run(name+"/"+d.name, func(t *testing.T) {
				prev := Good
				var trace []Grade
				for i, level := range d.levels {
					img := d.apply(src, fov, level)
					a := assessNRGBA(img)
					g := a.Quality.Grade
					trace = append(trace, g)
					if i == 0 && g != Good {
						t.Errorf("clean photo graded %v: %v", g, a.Quality.Reasons)
					}
					if g < prev {
						t.Errorf("level %g: grade %v after %v (not monotone)", level, g, prev)
					}
					prev = g
					if i == len(d.levels)-1 && g != Reject {
						t.Errorf("strongest level %g graded %v, want reject: %v", level, g, a.Quality.Reasons)
					}
					if g > Good && len(a.Quality.Reasons) == 0 {
						t.Errorf("level %g: %v without a reason", level, g)
					}
					if testing.Verbose() {
						t.Logf("level %g: %v (fundus %v) p=%.2f %q", level, g, a.Modality.IsFundus, a.Quality.Probabilities, a.Quality.Reasons)
					}
				}
			})
		}
	}
}
