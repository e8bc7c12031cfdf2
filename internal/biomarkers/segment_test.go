package biomarkers

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

func TestStraightVessel(t *testing.T) {
	tests := []struct {
		name  string
		angle float64 // radians from the x axis
	}{
		{"horizontal", 0},
		{"shallow", 0.05},
		{"oblique", 0.3},
		{"diagonal", math.Pi / 4},
		{"steep", 1.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s := math.Cos(tc.angle), math.Sin(tc.angle)
			f := vesselFundus(t, 256, 0, synth.VesselSpec{
				Points: []synth.Point{pt(128-90*c, 128.3-90*s), pt(128+90*c, 128.3+90*s)}, Width: 5})
			m, err := Measure(f.VesselMask, f.FOVMask)
			if err != nil {
				t.Fatal(err)
			}
			if m.SegmentCount != 1 {
				t.Fatalf("%d segments, want 1", m.SegmentCount)
			}
			sm := m.Segments[0]
			if math.Abs(sm.DistanceTortuosity-1) > 0.01 {
				t.Errorf("distance tortuosity %.4f, want 1±0.01", sm.DistanceTortuosity)
			}
			// 1e-5 /px² is the squared curvature of a 316 px radius: far
			// below any vessel bend (an arc of radius 100 px gives 1e-4).
			if sm.CurvatureTortuosityPerPx2 > 1e-5 {
				t.Errorf("curvature tortuosity %.2e /px², want ≈ 0", sm.CurvatureTortuosityPerPx2)
			}
			if sm.TortuosityDensityPerPx > 1e-4 {
				t.Errorf("tortuosity density %.2e, want ≈ 0", sm.TortuosityDensityPerPx)
			}
			// Thinning stops the skeleton up to half a width short of each
			// round cap, so the length lies between the drawn length less
			// one width and the drawn length.
			if L, w := f.Segments[0].Length, 5.0; sm.LengthPx < L-w || sm.LengthPx > L+0.5 {
				t.Errorf("length %.2f, want in [%.2f, %.2f]", sm.LengthPx, L-w, L)
			}
		})
	}
}

func TestArcCurvature(t *testing.T) {
	for _, r := range []float64{30, 60, 100} {
		mask := arcMask(256, 128, 128, r, 4, -2.5, 1.0)
		m, err := Measure(mask, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.SegmentCount != 1 {
			t.Fatalf("R %v: %d segments, want 1", r, m.SegmentCount)
		}
		sm := m.Segments[0]
		if got := sm.MeanCurvaturePerPx * r; math.Abs(got-1) > 0.05 {
			t.Errorf("R %v: mean curvature %.5f = %.3f/R, want 1/R ±5%%", r, sm.MeanCurvaturePerPx, got)
		}
		if got := math.Sqrt(sm.CurvatureTortuosityPerPx2) * r; math.Abs(got-1) > 0.05 {
			t.Errorf("R %v: sqrt(squared curvature) = %.3f/R, want 1/R ±5%%", r, got)
		}
		// 3.5 rad of arc; thinning eats back up to about one width at
		// each square-cut end (its corners become the skeleton's end).
		if L := 3.5 * r; sm.LengthPx < L-3*4 || sm.LengthPx > L {
			t.Errorf("R %v: length %.1f, want in [%.1f, %.1f]", r, sm.LengthPx, L-12, L)
		}
		if math.Abs(sm.WidthPx-4) > 0.25 {
			t.Errorf("R %v: width %.3f, want 4±0.25", r, sm.WidthPx)
		}
	}
}

func TestTortuosityDensityFormula(t *testing.T) {
	// An S of two semicircles of radius r: one inflection, each half has
	// arc πr and chord 2r, so TD = (1/2)·(1/2πr)·2·(π/2 − 1).
	const r = 40.0
	var p []vec
	for s := 0.0; s <= 2*math.Pi*r; s += 1 {
		if s <= math.Pi*r {
			a := math.Pi - s/r
			p = append(p, vec{100 + r*math.Cos(a), 100 - r*math.Sin(a)})
		} else {
			a := math.Pi + (s-math.Pi*r)/r
			p = append(p, vec{100 + 2*r + r*math.Cos(a), 100 - r*math.Sin(a)})
		}
	}
	k, _ := fitCurvatures(p, DefaultCurvatureSigmaPx)
	td, n := tortuosityDensity(p, k)
	want := 0.5 / (2 * math.Pi * r) * 2 * (math.Pi/2 - 1)
	if n != 1 || math.Abs(td-want) > 0.03*want {
		t.Errorf("TD %.6f with %d inflections, want %.6f with 1", td, n, want)
	}
	// A single arc has no inflection and so no tortuosity density.
	k, _ = fitCurvatures(p[:len(p)/2], DefaultCurvatureSigmaPx)
	if td, n := tortuosityDensity(p[:len(p)/2], k); td != 0 || n != 0 {
		t.Errorf("single arc: TD %v, %d inflections, want 0, 0", td, n)
	}
}

func TestSineInflections(t *testing.T) {
	// A sine vessel of 3 full periods has 5 interior inflections.
	var pts []synth.Point
	for x := 20.0; x <= 236.0; x += 3 {
		pts = append(pts, synth.Point{X: x, Y: 128 + 15*math.Sin(2*math.Pi*(x-20)/72)})
	}
	f := vesselFundus(t, 256, 0, synth.VesselSpec{Points: pts, Width: 4})
	m, err := Measure(f.VesselMask, f.FOVMask)
	if err != nil {
		t.Fatal(err)
	}
	sm := m.Segments[longest(m)]
	if sm.Inflections != 5 {
		t.Errorf("%d inflections, want 5", sm.Inflections)
	}
	if sm.TortuosityDensityPerPx <= 0 || sm.DistanceTortuosity < 1.1 {
		t.Errorf("TD %v, DT %v: want clearly tortuous", sm.TortuosityDensityPerPx, sm.DistanceTortuosity)
	}
	if d := math.Abs(sm.DistanceTortuosity - f.Segments[0].DistanceTortuosity); d > 0.02 {
		t.Errorf("distance tortuosity %.4f, truth %.4f", sm.DistanceTortuosity, f.Segments[0].DistanceTortuosity)
	}
}

func pt(x, y float64) synth.Point { return synth.Point{X: x, Y: y} }

// blur returns a Gaussian-blurred copy of m with sigma px plus Gaussian
// noise of sd grey levels, a stand-in for a soft probability map.
func blur(m *image.Gray, sigma, sd float64, seed uint64) *image.Gray {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	k, rad := gaussian(sigma)
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 0.0
			for i, kv := range k {
				if xx := x + i - rad; xx >= 0 && xx < w {
					v += kv * float64(m.Pix[y*m.Stride+xx])
				}
			}
			tmp[y*w+x] = v
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 0.0
			for i, kv := range k {
				if yy := y + i - rad; yy >= 0 && yy < h {
					v += kv * tmp[yy*w+x]
				}
			}
			v += sd * rng.NormFloat64()
			out.Pix[y*w+x] = uint8(math.Max(0, math.Min(255, math.Round(v))))
		}
	}
	return out
}

func TestWidth(t *testing.T) {
	tests := []struct {
		name  string
		width float64
		pts   []synth.Point
	}{
		{"4 curved", 4, []synth.Point{pt(30, 60), pt(120, 110), pt(220, 150)}},
		{"7 curved", 7, []synth.Point{pt(30, 60), pt(120, 110), pt(220, 150)}},
		{"10 curved", 10, []synth.Point{pt(30, 60), pt(120, 110), pt(220, 150)}},
		{"4.5 oblique", 4.5, []synth.Point{pt(40, 200), pt(210, 70)}},
		{"7.3 oblique", 7.3, []synth.Point{pt(40, 200), pt(210, 70)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := vesselFundus(t, 256, 8, synth.VesselSpec{Points: tc.pts, Width: tc.width})
			m, err := Measure(f.VesselMask, f.FOVMask)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Segments[longest(m)].WidthPx; math.Abs(got-tc.width) > 0.25 {
				t.Errorf("mask width %.3f, want %.2f±0.25", got, tc.width)
			}
			// The same from a blurred, noisy soft map: the half-level
			// crossing of a blurred edge stays on the edge.
			prof := blur(f.VesselMask, 1.5, 12, 7)
			m, err = MeasureWith(f.VesselMask, f.FOVMask, Options{Profile: prof})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Segments[longest(m)].WidthPx; math.Abs(got-tc.width) > 0.25 {
				t.Errorf("profile width %.3f, want %.2f±0.25", got, tc.width)
			}
		})
	}
}

func TestBranchingAngle(t *testing.T) {
	// A parent of width 8 splitting into two width-5 daughters at ±35°.
	o := synth.Point{X: 120, Y: 128}
	d := func(a float64) synth.Point {
		return synth.Point{X: o.X + 100*math.Cos(a), Y: o.Y + 100*math.Sin(a)}
	}
	const half = 35 * math.Pi / 180
	f := vesselFundus(t, 256, 0,
		synth.VesselSpec{Points: []synth.Point{pt(20, 128), o}, Width: 8},
		synth.VesselSpec{Points: []synth.Point{o, d(half)}, Width: 5},
		synth.VesselSpec{Points: []synth.Point{o, d(-half)}, Width: 5},
	)
	m, err := Measure(f.VesselMask, f.FOVMask)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Bifurcations) != 1 {
		t.Fatalf("%d bifurcations, want 1", len(m.Bifurcations))
	}
	bf := m.Bifurcations[0]
	if w := m.Segments[bf.Parent].WidthPx; math.Abs(w-8) > 0.5 {
		t.Errorf("parent width %.2f, want 8", w)
	}
	// The junction blob pulls the skeleton in over about one parent
	// width; measured beyond that the angle is within a few degrees.
	if math.Abs(bf.AngleDeg-70) > 5 {
		t.Errorf("branching angle %.1f°, want 70±5°", bf.AngleDeg)
	}
}
