package biomarkers

import (
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

// vesselFundus draws the given vessels with synth on a size×size image.
func vesselFundus(t testing.TB, size int, noise float64, vs ...synth.VesselSpec) *synth.Fundus {
	t.Helper()
	f, err := synth.Generate(synth.Spec{Size: size, Vessels: vs, Noise: noise, FOVRadius: float64(size) / 2})
	if err != nil {
		t.Fatalf("synth: %v", err)
	}
	return f
}

// arcMask draws an annular sector of centre (cx, cy), centreline radius r,
// width w, spanning angles [a0, a1] radians, decided at pixel centres.
func arcMask(size int, cx, cy, r, w, a0, a1 float64) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			a := math.Atan2(dy, dx)
			if math.Abs(math.Hypot(dx, dy)-r) <= w/2 && a >= a0 && a <= a1 {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m
}

// longest returns the index of the longest measured segment.
func longest(m *Measures) int {
	best := -1
	for i, s := range m.Segments {
		if best < 0 || s.LengthPx > m.Segments[best].LengthPx {
			best = i
		}
	}
	return best
}

func rot90(m *image.Gray) *image.Gray {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// (x, y) -> (h-1-y, x): a clockwise quarter turn.
			out.Pix[x*out.Stride+h-1-y] = m.Pix[y*m.Stride+x]
		}
	}
	return out
}

func flipX(m *image.Gray) *image.Gray {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Pix[y*out.Stride+w-1-x] = m.Pix[y*m.Stride+x]
		}
	}
	return out
}

// avFromSynth is the A/V map of a synth fundus: artery, vein, and crossing
// where the two masks overlap.
func avFromSynth(f *synth.Fundus) *AVMap {
	b := f.VesselMask.Bounds()
	m := NewAVMap(b.Dx(), b.Dy())
	for i := range m.Pix {
		a, v := f.ArteryMask.Pix[i] != 0, f.VeinMask.Pix[i] != 0
		switch {
		case a && v:
			m.Pix[i] = AVCrossing
		case a:
			m.Pix[i] = AVArtery
		case v:
			m.Pix[i] = AVVein
		}
	}
	return m
}
