package quality

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// randomNonFundus draws one image of a family with random parameters
// (colours, geometry, size, noise), so that the refusal rate is measured
// over many images rather than the 18 hand-made ones.
type nonFundusFamily struct {
	name string
	draw func(r *rand.Rand) *image.NRGBA
	// knownGap marks a family the gate does not refuse yet: measured and
	// logged, left out of the 99% requirement (docs/quality.md).
	knownGap bool
}

func randomColour(r *rand.Rand) (float64, float64, float64) {
	return r.Float64() * 255, r.Float64() * 255, r.Float64() * 255
}

// fundusLike is a random colour in the range of fundus photographs'
// fields (orange to red-brown): the hard case for the colour criteria.
func fundusLike(r *rand.Rand) (float64, float64, float64) {
	return 150 + 100*r.Float64(), 50 + 70*r.Float64(), 10 + 50*r.Float64()
}

func inCircle(x, y, cx, cy, rad float64) bool { return math.Hypot(x-cx, y-cy) <= rad }

func nonFundusFamilies() []nonFundusFamily {
	return []nonFundusFamily{
		{name: "uniform colour", draw: func(r *rand.Rand) *image.NRGBA {
			c := rgb(randomColour(r))
			return uniformImage(c)
		}},
		{name: "linear gradient", draw: func(r *rand.Rand) *image.NRGBA {
			r0, g0, b0 := randomColour(r)
			r1, g1, b1 := randomColour(r)
			a := r.Float64() * 2 * math.Pi
			return paint(800, 600, func(x, y float64) color.NRGBA {
				t := 0.5 + ((x-400)*math.Cos(a)+(y-300)*math.Sin(a))/1000
				return rgb(r0+(r1-r0)*t, g0+(g1-g0)*t, b0+(b1-b0)*t)
			})
		}},
		{name: "shaded disc on black", draw: func(r *rand.Rand) *image.NRGBA {
			cr, cg, cb := fundusLike(r)
			rad := 200 + 100*r.Float64()
			return paint(800, 700, func(x, y float64) color.NRGBA {
				d := math.Hypot(x-400, y-350) / rad
				if d > 1 {
					return rgb(0, 0, 0)
				}
				t := 1 - 0.6*d*d
				return rgb(cr*t, cg*t, cb*t)
			})
		}},
		{name: "coloured noise", draw: func(r *rand.Rand) *image.NRGBA {
			s := 20 + 100*r.Float64()
			cr, cg, cb := randomColour(r)
			return paint(640, 480, func(x, y float64) color.NRGBA {
				return rgb(cr+s*r.NormFloat64(), cg+s*r.NormFloat64(), cb+s*r.NormFloat64())
			})
		}},
		{name: "noise disc on black", draw: func(r *rand.Rand) *image.NRGBA {
			cr, cg, cb := fundusLike(r)
			s := 10 + 60*r.Float64()
			return paint(800, 600, func(x, y float64) color.NRGBA {
				if !inCircle(x, y, 400, 300, 280) {
					return rgb(0, 0, 0)
				}
				return rgb(cr+s*r.NormFloat64(), cg+s*r.NormFloat64(), cb+s*r.NormFloat64())
			})
		}},
		{name: "text page", draw: func(r *rand.Rand) *image.NRGBA { return textPage(r.Uint64()) }},
		{name: "checkerboard", draw: func(r *rand.Rand) *image.NRGBA {
			p := 4 + r.Float64()*60
			c0, c1 := rgb(randomColour(r)), rgb(randomColour(r))
			return paint(700, 700, func(x, y float64) color.NRGBA {
				if (int(x/p)+int(y/p))%2 == 0 {
					return c0
				}
				return c1
			})
		}},
		{name: "grey OCT-like scan", draw: func(r *rand.Rand) *image.NRGBA { return octScan(r.Uint64()) }},
		{name: "face", draw: func(r *rand.Rand) *image.NRGBA { return withNoise(face(r.IntN(2) == 0), 6*r.Float64(), r.Uint64()) }},
		{name: "round face on black", draw: func(r *rand.Rand) *image.NRGBA {
			return withNoise(roundFace(), 10*r.Float64(), r.Uint64())
		}},
		{name: "flat fundus-coloured disc", draw: func(r *rand.Rand) *image.NRGBA {
			return withNoise(paint(800, 600, func(x, y float64) color.NRGBA {
				if !inCircle(x, y, 400, 300, 270) {
					return rgb(0, 0, 0)
				}
				return rgb(fundusLike(r))
			}), 4*r.Float64(), r.Uint64())
		}},
		{name: "outdoor scene", draw: func(r *rand.Rand) *image.NRGBA { return scene(r.Uint64()) }},
		{name: "scene in a circle on black", draw: func(r *rand.Rand) *image.NRGBA {
			s := scene(r.Uint64())
			return paint(800, 600, func(x, y float64) color.NRGBA {
				if !inCircle(x, y, 400, 300, 280) {
					return rgb(0, 0, 0)
				}
				return s.NRGBAAt(int(x), int(y))
			})
		}},
		// An endoscopy-like view: a pink-red textured lumen in a circle on
		// black, with smooth folds and specular highlights. The geometry
		// and colour of a fundus photograph; folds are wide and soft, not
		// a branching network of thin dark lines. A known gap: no
		// criterion separates it from the real photos whose vessels the
		// gate cannot see (TestVesselNetworkSurvey).
		{name: "endoscopy-like", knownGap: true, draw: func(r *rand.Rand) *image.NRGBA {
			cr, cg, cb := 200+40*r.Float64(), 90+50*r.Float64(), 80+40*r.Float64()
			phase := r.Float64() * 10
			type spot struct{ x, y, s float64 }
			spots := make([]spot, 6+r.IntN(10))
			for i := range spots {
				spots[i] = spot{150 + 500*r.Float64(), 100 + 400*r.Float64(), 3 + 6*r.Float64()}
			}
			return paint(800, 600, func(x, y float64) color.NRGBA {
				if !inCircle(x, y, 400, 300, 280) {
					return rgb(0, 0, 0)
				}
				d := math.Hypot(x-400, y-300) / 280
				fold := 0.75 + 0.25*math.Sin(d*18+phase+2*math.Sin(math.Atan2(y-300, x-400)*3))
				t := (1 - 0.5*d) * fold
				for _, s := range spots {
					if math.Hypot(x-s.x, y-s.y) < s.s {
						return rgb(255, 250, 245)
					}
				}
				n := 4 * r.NormFloat64()
				return rgb(cr*t+n, cg*t+n, cb*t+n)
			})
		}},
	}
}

// rescale gives the image a random photo-like size, so that nothing
// depends on the generators' fixed sizes.
func rescale(img *image.NRGBA, r *rand.Rand) *image.NRGBA {
	s := 0.5 + 1.5*r.Float64()
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, max(64, int(float64(b.Dx())*s)), max(64, int(float64(b.Dy())*s))))
	draw.BiLinear.Scale(out, out.Bounds(), img, b, draw.Src, nil)
	return out
}

// TestNonFundusRandomized measures the modality gate over 20 random
// images of each family (260 outside the known gap): at least 99% must be
// refused. The per-family counts are logged (go test -v) for
// docs/quality.md.
func TestNonFundusRandomized(t *testing.T) {
	if testing.Short() {
		t.Skip("280 generated images")
	}
	const perFamily = 20
	r := rand.New(rand.NewPCG(2026, 11))
	total, refused := 0, 0
	for _, f := range nonFundusFamilies() {
		n := 0
		for i := range perFamily {
			img := rescale(f.draw(r), r)
			a := assessNRGBA(img)
			if !f.knownGap {
				total++
			}
			if !a.Modality.IsFundus && !a.Accept() {
				n++
				continue
			}
			if !f.knownGap {
				t.Logf("%s #%d (%dx%d) accepted: modality score %.3f", f.name, i, img.Rect.Dx(), img.Rect.Dy(), a.Modality.Score)
			}
		}
		if f.knownGap {
			t.Logf("%-28s %d of %d refused (known gap, not counted)", f.name, n, perFamily)
			continue
		}
		refused += n
		t.Logf("%-28s %d of %d refused", f.name, n, perFamily)
	}
	t.Logf("all families: %d of %d refused (%.1f%%)", refused, total, 100*float64(refused)/float64(total))
	if refused*100 < total*99 {
		t.Errorf("%d of %d generated non-fundus images refused, want ≥ 99%%", refused, total)
	}
}
