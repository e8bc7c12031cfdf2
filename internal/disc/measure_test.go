package disc

import (
	"image"
	"image/color"
	"math"
	"slices"
	"testing"
)

// ellipse is an axis-aligned ellipse with centre (X, Y) and semi-axes A
// (horizontal) and B (vertical), in pixels.
type ellipse struct{ X, Y, A, B float64 }

// draw sets the pixels of r whose centres lie inside e.
func (e ellipse) draw(r image.Rectangle) *image.Gray {
	m := image.NewGray(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dx, dy := (float64(x)+0.5-e.X)/e.A, (float64(y)+0.5-e.Y)/e.B
			if dx*dx+dy*dy <= 1 {
				m.SetGray(x, y, grayOn)
			}
		}
	}
	return m
}

var grayOn = color.Gray{255}

// chord is the length of the ray o + t*d, t >= 0, inside e.
func (e ellipse) chord(o Point, dx, dy float64) float64 {
	px, py := (o.X-e.X)/e.A, (o.Y-e.Y)/e.B
	qx, qy := dx/e.A, dy/e.B
	a, b, c := qx*qx+qy*qy, 2*(px*qx+py*qy), px*px+py*py-1
	disc := b*b - 4*a*c
	if disc <= 0 {
		return 0
	}
	t1, t2 := (-b-math.Sqrt(disc))/(2*a), (-b+math.Sqrt(disc))/(2*a)
	return math.Max(0, t2-math.Max(t1, 0))
}

// analyticRim is Rim's definition evaluated on the ellipses themselves:
// per sector, the mean over the same 90 rays of (chord in disc - chord in
// cup) from the disc's centre.
func analyticRim(disc, cup ellipse) (right, superior, left, inferior float64) {
	var sum [4]float64
	o := Point{disc.X, disc.Y}
	for k := range 360 {
		th := (float64(k) + 0.5) * math.Pi / 180
		dx, dy := math.Cos(th), -math.Sin(th)
		sum[((k+45)/90)%4] += disc.chord(o, dx, dy) - cup.chord(o, dx, dy)
	}
	return sum[0] / 90, sum[1] / 90, sum[2] / 90, sum[3] / 90
}

// Synthetic disc and cup masks with known answers. Centres on pixel
// corners and whole semi-axes make the spans exact (2B rows, 2A columns),
// so the CDRs are exact fractions; rim widths are compared with the
// ellipses' own geometry within half a pixel (the masks are pixelated).
func TestMeasureSynthetic(t *testing.T) {
	frame := image.Rect(20, 30, 220, 230) // not at the origin, as crop masks are not
	for _, tc := range []struct {
		name       string
		disc, cup  ellipse
		eye        Eye
		vcdr, hcdr float64
		holds      bool
		known      bool
		violations []string
	}{
		{
			name: "concentric circles", disc: ellipse{120, 130, 40, 40}, cup: ellipse{120, 130, 20, 20},
			eye: EyeRight, vcdr: 0.5, hcdr: 0.5, holds: true, known: true,
		},
		{
			// Tall disc, tall cup: vertical rims 70-40 = 30, horizontal
			// 60-20 = 40 on the axes, so N > S: the rule fails at S >= N.
			name: "concentric ellipses", disc: ellipse{120, 130, 60, 70}, cup: ellipse{120, 130, 20, 40},
			eye: EyeLeft, vcdr: 40.0 / 70, hcdr: 20.0 / 60, known: true,
			violations: []string{"superior < nasal"},
		},
		{
			// A wide cup sitting high and towards the viewer's left: in a
			// right eye that is temporal, so I > S > N > T.
			name: "ISNT holds, right eye", disc: ellipse{120, 130, 50, 50}, cup: ellipse{116, 128, 34, 14},
			eye: EyeRight, vcdr: 14.0 / 50, hcdr: 34.0 / 50, holds: true, known: true,
		},
		{
			// The same photo read as a left eye: the thin side is nasal.
			name: "same masks, left eye", disc: ellipse{120, 130, 50, 50}, cup: ellipse{116, 128, 34, 14},
			eye: EyeLeft, vcdr: 14.0 / 50, hcdr: 34.0 / 50, known: true,
			violations: []string{"nasal < temporal"},
		},
		{
			// A cup pushed down towards the inferior margin (a thin
			// inferior rim, as in glaucomatous notching).
			name: "inferior thinning", disc: ellipse{120, 130, 50, 50}, cup: ellipse{120, 145, 22, 30},
			eye: EyeRight, vcdr: 30.0 / 50, hcdr: 22.0 / 50, known: true,
			violations: []string{"inferior < superior"},
		},
		{
			name: "laterality unknown", disc: ellipse{120, 130, 40, 40}, cup: ellipse{120, 130, 20, 20},
			eye: EyeUnknown, vcdr: 0.5, hcdr: 0.5,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, c := tc.disc.draw(frame), tc.cup.draw(frame)
			m := Measure(d, c, tc.eye)
			if m.Disc.Height != int(2*tc.disc.B) || m.Disc.Width != int(2*tc.disc.A) ||
				m.Cup.Height != int(2*tc.cup.B) || m.Cup.Width != int(2*tc.cup.A) {
				t.Fatalf("disc %+v cup %+v, want %vx%v and %vx%v", m.Disc, m.Cup, 2*tc.disc.B, 2*tc.disc.A, 2*tc.cup.B, 2*tc.cup.A)
			}
			// The ellipses have whole-pixel centres and axes, so their
			// pixels span exactly centre ± axis.
			for _, b := range []struct {
				got image.Rectangle
				e   ellipse
			}{{m.Disc.Box, tc.disc}, {m.Cup.Box, tc.cup}} {
				if want := image.Rect(int(b.e.X-b.e.A), int(b.e.Y-b.e.B), int(b.e.X+b.e.A), int(b.e.Y+b.e.B)); b.got != want {
					t.Errorf("box %v, want %v", b.got, want)
				}
			}
			if m.VerticalCDR != tc.vcdr || m.HorizontalCDR != tc.hcdr {
				t.Errorf("CDR vertical %v horizontal %v, want %v %v", m.VerticalCDR, m.HorizontalCDR, tc.vcdr, tc.hcdr)
			}
			// Pixel counts of a pixelated ellipse are within a perimeter's
			// worth of pi*A*B; the area ratio follows.
			for _, p := range []struct {
				got int
				e   ellipse
			}{{m.Disc.Area, tc.disc}, {m.Cup.Area, tc.cup}} {
				if want := math.Pi * p.e.A * p.e.B; math.Abs(float64(p.got)-want) > 0.02*want {
					t.Errorf("area %d px, want about %.0f", p.got, want)
				}
			}
			if want := float64(m.Cup.Area) / float64(m.Disc.Area); m.AreaCDR != want {
				t.Errorf("area CDR %v, want %v", m.AreaCDR, want)
			}
			if math.Abs(m.Centre.X-tc.disc.X) > 1e-9 || math.Abs(m.Centre.Y-tc.disc.Y) > 1e-9 {
				t.Errorf("centre %v, want (%v, %v)", m.Centre, tc.disc.X, tc.disc.Y)
			}
			if r := m.RadiusPx(); r != (tc.disc.A+tc.disc.B)/2 {
				t.Errorf("radius %v, want %v", r, (tc.disc.A+tc.disc.B)/2)
			}
			right, sup, left, inf := analyticRim(tc.disc, tc.cup)
			for _, s := range []struct {
				name      string
				got, want float64
			}{{"superior", m.Rim.Superior, sup}, {"inferior", m.Rim.Inferior, inf}, {"left", m.Rim.Left, left}, {"right", m.Rim.Right, right}} {
				if math.Abs(s.got-s.want) > 0.5 {
					t.Errorf("%s rim %.3f px, want %.3f +- 0.5", s.name, s.got, s.want)
				}
			}
			t.Logf("rims I %.2f S %.2f left %.2f right %.2f px", m.Rim.Inferior, m.Rim.Superior, m.Rim.Left, m.Rim.Right)
			holds, known, violations := m.Rim.ISNT()
			if holds != tc.holds || known != tc.known || !slices.Equal(violations, tc.violations) {
				t.Errorf("ISNT holds %v known %v violations %q, want %v %v %q (rims I %.2f S %.2f left %.2f right %.2f)",
					holds, known, violations, tc.holds, tc.known, tc.violations, m.Rim.Inferior, m.Rim.Superior, m.Rim.Left, m.Rim.Right)
			}
		})
	}
}

func TestMeasureEmpty(t *testing.T) {
	r := image.Rect(0, 0, 10, 10)
	if m := Measure(image.NewGray(r), nil, EyeRight); m.Disc.Area != 0 || m.VerticalCDR != 0 {
		t.Fatalf("empty disc measured %+v", m)
	}
	// A disc without a cup: CDRs 0, the rim is the whole radius.
	m := Measure(ellipse{5, 5, 4, 4}.draw(r), nil, EyeRight)
	if m.VerticalCDR != 0 || m.AreaCDR != 0 || math.Abs(m.Rim.Superior-4) > 0.5 {
		t.Fatalf("disc without cup: %+v", m)
	}
}

func TestNasalTemporal(t *testing.T) {
	r := Rim{Left: 1, Right: 2}
	for _, tc := range []struct {
		eye         Eye
		nasal, temp float64
		ok          bool
	}{
		{EyeRight, 2, 1, true},
		{EyeLeft, 1, 2, true},
		{EyeUnknown, 0, 0, false},
	} {
		r.Eye = tc.eye
		n, ok1 := r.Nasal()
		tm, ok2 := r.Temporal()
		if n != tc.nasal || tm != tc.temp || ok1 != tc.ok || ok2 != tc.ok {
			t.Errorf("%v: nasal %v temporal %v (%v %v)", tc.eye, n, tm, ok1, ok2)
		}
	}
}
