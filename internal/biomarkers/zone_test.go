package biomarkers

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

// A disc of radius discR at (cx, cy) on a size×size image: zone B is the
// ring from 60 to 90 px.
const (
	size  = 512
	cx    = 256.3
	cy    = 255.8
	discR = 30.0
)

var zoneB = Ring{X: cx, Y: cy, Inner: 2 * discR, Outer: 3 * discR}

// radial is a straight vessel leaving the disc at angle a (radians), from
// r0 to r1 px from its centre.
func radial(kind synth.VesselKind, a, r0, r1, w float64) synth.VesselSpec {
	c, s := math.Cos(a), math.Sin(a)
	return synth.VesselSpec{Kind: kind, Width: w, Points: []synth.Point{pt(cx+r0*c, cy+r0*s), pt(cx+r1*c, cy+r1*s)}}
}

// radialVessels spreads the arteries and veins evenly around the disc,
// alternating, each from 1.2 to 4.5 disc radii.
func radialVessels(arteries, veins []float64) []synth.VesselSpec {
	var vs []synth.VesselSpec
	n := len(arteries) + len(veins)
	k := 0
	for i := 0; i < max(len(arteries), len(veins)); i++ {
		for _, e := range []struct {
			kind synth.VesselKind
			ws   []float64
		}{{synth.Artery, arteries}, {synth.Vein, veins}} {
			if i < len(e.ws) {
				a := 0.1 + 2*math.Pi*float64(k)/float64(n)
				vs = append(vs, radial(e.kind, a, 1.2*discR, 4.5*discR, e.ws[i]))
				k++
			}
		}
	}
	return vs
}

// measureCalibre draws the vessels, labels them from synth's artery and
// vein masks, lets edit (if not nil) change the map, and measures zone B.
func measureCalibre(t *testing.T, opt CalibreOptions, edit func(*AVMap, *synth.Fundus), vs ...synth.VesselSpec) *Calibre {
	t.Helper()
	f := vesselFundus(t, size, 0, vs...)
	av := avFromSynth(f)
	if edit != nil {
		edit(av, f)
	}
	m, err := MeasureAV(f.VesselMask, f.FOVMask, av, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := MeasureCalibre(m, zoneB, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bounds is the range of f over widths each off by up to ±tol: the
// summary formulas grow with every width, so it bounds the result of
// widths measured within tol of the drawn ones.
func bounds(f func([]float64) (float64, error), ws []float64, scale, tol float64) (lo, hi float64) {
	shift := func(d float64) float64 {
		s := make([]float64, len(ws))
		for i, w := range ws {
			s[i] = (w + d) * scale
		}
		v, _ := f(s)
		return v
	}
	return shift(-tol), shift(tol)
}

// widthTol is how far a profile width of a straight vessel in a binary
// mask may be from the drawn width (see TestWidth).
const widthTol = 0.25

// TestCalibreKnownWidths draws straight arteries and veins of known widths
// across zone B and checks CRAE, CRVE and AVR of both variants against the
// formulas applied to the drawn widths, and the vessel counts, warnings
// and reasons.
func TestCalibreKnownWidths(t *testing.T) {
	six := []float64{7, 6.5, 6, 5.5, 5, 4.5}
	sixV := []float64{9, 8.5, 8, 7.5, 7, 6.5}
	tests := []struct {
		name            string
		arteries, veins []float64
		umPerPx         float64
		warnings        []string // substrings expected in Zone.Warnings
		absent          string   // substring expected in Knudtson.Absent
	}{
		{"six and six", six, sixV, 0, nil, ""},
		{"narrower extras left out", append(slices.Clone(six), 3, 2.5), append(slices.Clone(sixV), 3), 0, nil, ""},
		{"fewer than six", []float64{6, 5, 4, 3.5}, []float64{8, 7, 6}, 0,
			[]string{"CRAE from 4 arterioles (6 wanted)", "CRVE from 3 venules (6 wanted)"}, ""},
		{"Hubbard in µm", six, sixV, 12, nil, ""},
		{"no veins", []float64{6, 5, 4}, nil, 0, []string{"CRAE from 3 arterioles"}, "CRVE: no venule crosses the zone"},
		{"no arteries", nil, []float64{8, 7}, 0, []string{"CRVE from 2 venules"}, "CRAE: no arteriole crosses the zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := measureCalibre(t, CalibreOptions{UmPerPx: tc.umPerPx}, nil, radialVessels(tc.arteries, tc.veins)...)
			nA, nV := min(len(tc.arteries), 6), min(len(tc.veins), 6)
			// Every drawn vessel is found once, in the zone and on every circle.
			if len(c.Zone.Arteries) != len(tc.arteries) || len(c.Zone.Veins) != len(tc.veins) {
				t.Errorf("zone: %d arteries and %d veins, drew %d and %d", len(c.Zone.Arteries), len(c.Zone.Veins), len(tc.arteries), len(tc.veins))
			}
			if len(c.Circles) != DefaultCalibreCircles || c.Circles[0].RadiusPx != zoneB.Inner || c.Circles[4].RadiusPx != zoneB.Outer {
				t.Fatalf("circles %+v, want %d from %v to %v px", c.Circles, DefaultCalibreCircles, zoneB.Inner, zoneB.Outer)
			}
			for _, cc := range c.Circles {
				if len(cc.Arteries) != len(tc.arteries) || len(cc.Veins) != len(tc.veins) {
					t.Errorf("circle %.1f: %d arteries and %d veins, drew %d and %d", cc.RadiusPx, len(cc.Arteries), len(cc.Veins), len(tc.arteries), len(tc.veins))
				}
			}
			for _, e := range []struct {
				name string
				e    CalibreEstimate
			}{{"zone", c.Zone}, {"circles", c.MultiCircle}} {
				if e.e.ArteriesUsed != nA || e.e.VeinsUsed != nV {
					t.Errorf("%s: used %d arteries and %d veins, want %d and %d", e.name, e.e.ArteriesUsed, e.e.VeinsUsed, nA, nV)
				}
				checkEquivalents(t, e.name+" Knudtson", e.e.Knudtson, CRAEKnudtson, CRVEKnudtson, tc.arteries, tc.veins, 1)
				if tc.umPerPx > 0 {
					checkEquivalents(t, e.name+" Hubbard", e.e.Hubbard, CRAEHubbard, CRVEHubbard, tc.arteries, tc.veins, tc.umPerPx)
				} else if e.e.Hubbard.CRAE != nil || e.e.Hubbard.CRVE != nil || !strings.Contains(e.e.Hubbard.Absent, "calibration") {
					t.Errorf("%s: Hubbard %+v without calibration, want absent with the reason", e.name, e.e.Hubbard)
				}
				if tc.absent != "" && !strings.Contains(e.e.Knudtson.Absent, strings.Fields(tc.absent)[0]) {
					t.Errorf("%s: absent %q, want it to name %q", e.name, e.e.Knudtson.Absent, tc.absent)
				}
				if tc.absent == "" && e.e.Knudtson.Absent != "" {
					t.Errorf("%s: absent %q, want nothing absent", e.name, e.e.Knudtson.Absent)
				}
			}
			if tc.absent != "" && !strings.Contains(c.Zone.Knudtson.Absent, tc.absent) {
				t.Errorf("zone: absent %q, want %q", c.Zone.Knudtson.Absent, tc.absent)
			}
			for _, w := range tc.warnings {
				if !slices.ContainsFunc(c.Zone.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("zone warnings %q lack %q", c.Zone.Warnings, w)
				}
			}
			if tc.warnings == nil && (len(c.Zone.Warnings) > 0 || len(c.MultiCircle.Warnings) > 0) {
				t.Errorf("warnings %q / %q with six of each", c.Zone.Warnings, c.MultiCircle.Warnings)
			}
		})
	}
}

// checkEquivalents checks CRAE and CRVE against the formulas on the drawn
// widths (absent when none were drawn), and AVR against their ratio.
func checkEquivalents(t *testing.T, name string, e Equivalents, crae, crve func([]float64) (float64, error), art, vein []float64, scale float64) {
	t.Helper()
	for _, q := range []struct {
		what string
		got  *float64
		f    func([]float64) (float64, error)
		ws   []float64
	}{{"CRAE", e.CRAE, crae, art}, {"CRVE", e.CRVE, crve, vein}} {
		switch {
		case len(q.ws) == 0 && q.got != nil:
			t.Errorf("%s %s = %v with no vessels drawn", name, q.what, *q.got)
		case len(q.ws) == 0:
		case q.got == nil:
			t.Errorf("%s %s absent (%s)", name, q.what, e.Absent)
		default:
			want, _ := q.f(scaled(q.ws, scale))
			lo, hi := bounds(q.f, q.ws, scale, widthTol)
			if *q.got < lo || *q.got > hi {
				t.Errorf("%s %s = %.3f, want %.3f (%.3f..%.3f from widths ±%v px)", name, q.what, *q.got, want, lo, hi, widthTol)
			}
		}
	}
	switch {
	case e.CRAE != nil && e.CRVE != nil:
		if e.AVR == nil || math.Abs(*e.AVR - *e.CRAE / *e.CRVE) > 1e-9 {
			t.Errorf("%s AVR %v, want CRAE/CRVE", name, e.AVR)
		}
	case e.AVR != nil:
		t.Errorf("%s AVR %v without both CRAE and CRVE", name, *e.AVR)
	}
}

func scaled(ws []float64, s float64) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w * s
	}
	return out
}

// TestCalibreForkAndCrossing checks that the zone counts vessels, not
// segments: an artery forking inside zone B counts once (its trunk), and
// an artery crossed by a vein inside zone B counts once, at its own width
// (profiles across the crossing are left out).
func TestCalibreForkAndCrossing(t *testing.T) {
	// Fork: a trunk of width 7 along angle 0 to 75 px, where it splits
	// into daughters of 5 and 4.5 px at ±0.35 rad.
	fork := synth.Point{X: cx + 75, Y: cy}
	daughter := func(a, w float64) synth.VesselSpec {
		return synth.VesselSpec{Kind: synth.Artery, Width: w, Points: []synth.Point{fork, pt(fork.X+70*math.Cos(a), fork.Y+70*math.Sin(a))}}
	}
	// Crossing: an artery of width 6 along angle π/2 and a vein of width 5
	// across it at 75 px, perpendicular, its ends still inside zone B. As
	// RITE's annotators do, the map marks a blob around the crossing as
	// crossing, vein pixels beyond the artery's edges included, so the
	// artery tree bulges there.
	crossing := []synth.VesselSpec{
		radial(synth.Artery, math.Pi/2, 36, 135, 6),
		{Kind: synth.Vein, Width: 5, Points: []synth.Point{pt(cx-40, cy+75), pt(cx+40, cy+75)}},
	}
	blob := func(av *AVMap, f *synth.Fundus) {
		for y := 0; y < av.H; y++ {
			for x := 0; x < av.W; x++ {
				if f.VesselMask.Pix[y*av.W+x] != 0 && math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-(cy+75)) < 9 {
					av.Set(x, y, AVCrossing)
				}
			}
		}
	}
	tests := []struct {
		name            string
		vessels         []synth.VesselSpec
		edit            func(*AVMap, *synth.Fundus)
		arteries, veins []float64 // widths the zone should find
		// arteries on the innermost and outermost circles
		innerArteries, outerArteries int
	}{
		{"fork", []synth.VesselSpec{
			radial(synth.Artery, 0, 36, 75, 7), daughter(0.35, 5), daughter(-0.35, 4.5),
			radial(synth.Vein, math.Pi, 36, 135, 8),
		}, nil, []float64{7}, []float64{8}, 1, 2},
		{"crossing", crossing, blob, []float64{6}, []float64{5}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := measureCalibre(t, CalibreOptions{}, tc.edit, tc.vessels...)
			for _, q := range []struct {
				what string
				got  []VesselWidth
				want []float64
			}{{"arteries", c.Zone.Arteries, tc.arteries}, {"veins", c.Zone.Veins, tc.veins}} {
				if len(q.got) != len(q.want) {
					t.Errorf("zone %s: %+v, want widths %v", q.what, q.got, q.want)
					continue
				}
				for i, w := range q.want {
					// Next to a fork the trunk is measured over fewer
					// points; allow a little more than for a free vessel.
					if math.Abs(q.got[i].WidthPx-w) > 2*widthTol {
						t.Errorf("zone %s %d: width %.2f, want %.2f±%.2f", q.what, i, q.got[i].WidthPx, w, 2*widthTol)
					}
				}
			}
			first, last := c.Circles[0], c.Circles[len(c.Circles)-1]
			if len(first.Arteries) != tc.innerArteries || len(last.Arteries) != tc.outerArteries {
				t.Errorf("arteries on the inner and outer circles: %d and %d, want %d and %d",
					len(first.Arteries), len(last.Arteries), tc.innerArteries, tc.outerArteries)
			}
			// The middle circle runs through the crossing: the artery is
			// measured beside it, at its own width.
			if mid := c.Circles[2]; tc.name == "crossing" {
				if len(mid.Arteries) != 1 || math.Abs(mid.Arteries[0].WidthPx-6) > 2*widthTol {
					t.Errorf("circle %.1f through the crossing: arteries %+v, want one of width 6", mid.RadiusPx, mid.Arteries)
				}
			}
		})
	}
}

func TestMeasureCalibreErrors(t *testing.T) {
	f := vesselFundus(t, 128, 0, synth.VesselSpec{Points: []synth.Point{pt(20, 64), pt(108, 64)}, Width: 4})
	m, err := MeasureAV(f.VesselMask, f.FOVMask, avFromSynth(f), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		av   *AVMeasures
		ring Ring
		opt  CalibreOptions
		want string
	}{
		{"nil", nil, zoneB, CalibreOptions{}, "incomplete"},
		{"no trees", &AVMeasures{All: m.All}, zoneB, CalibreOptions{}, "incomplete"},
		{"inverted ring", m, Ring{X: 64, Y: 64, Inner: 30, Outer: 20}, CalibreOptions{}, "ring"},
		{"NaN ring", m, Ring{X: math.NaN(), Y: 64, Inner: 20, Outer: 30}, CalibreOptions{}, "ring"},
		{"negative µm", m, Ring{X: 64, Y: 64, Inner: 20, Outer: 30}, CalibreOptions{UmPerPx: -1}, "µm"},
	}
	for _, tc := range tests {
		if _, err := MeasureCalibre(tc.av, tc.ring, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
