package disc

import (
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func TestLaterality(t *testing.T) {
	for _, tc := range []struct {
		name        string
		disc, fovea Point
		want        Eye
	}{
		{"disc right of fovea: right eye", Point{1600, 620}, Point{1000, 690}, EyeRight},
		{"disc left of fovea: left eye", Point{520, 600}, Point{1120, 700}, EyeLeft},
		{"tilted 45 degrees still counts", Point{1100, 1100}, Point{1000, 1000}, EyeRight},
		{"same point", Point{5, 5}, Point{5, 5}, EyeUnknown},
		{"vertical line: refuse to guess", Point{1000, 400}, Point{1010, 1000}, EyeUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Laterality(tc.disc, tc.fovea); got != tc.want {
				t.Fatalf("Laterality(%v, %v) = %v, want %v", tc.disc, tc.fovea, got, tc.want)
			}
		})
	}
}

func TestFieldType(t *testing.T) {
	fov := fundus.FOV{CX: 1000, CY: 700, Radius: 850}
	for _, tc := range []struct {
		name        string
		disc, fovea Point
		fov         fundus.FOV
		want        Field
	}{
		// An IDRiD-like photo: fovea 0.12 R from the centre, disc 0.7 R.
		{"macula-centred", Point{1600, 650}, Point{1100, 720}, fov, FieldMacula},
		{"disc-centred", Point{1050, 700}, Point{1650, 750}, fov, FieldDisc},
		{"both far from centre", Point{1700, 300}, Point{1500, 1300}, fov, FieldOther},
		{"fovea at 0.45 R", Point{1800, 700}, Point{1000 + 0.45*850, 700}, fov, FieldOther},
		{"both close: the nearer wins", Point{1000 + 0.2*850, 700}, Point{1000 - 0.1*850, 700}, fov, FieldMacula},
		{"no field of view", Point{1, 1}, Point{2, 2}, fundus.FOV{}, FieldOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FieldType(tc.disc, tc.fovea, tc.fov); got != tc.want {
				t.Fatalf("FieldType = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestZones(t *testing.T) {
	c := Point{100, 200}
	const r = 10.0
	for _, tc := range []struct {
		name  string
		zone  Annulus
		p     Point
		inner float64
		outer float64
		in    bool
	}{
		{"B inner edge", ZoneB(c, r), Point{120, 200}, 20, 30, true},
		{"B outer edge", ZoneB(c, r), Point{100, 230}, 20, 30, true},
		{"B inside the disc margin ring", ZoneB(c, r), Point{115, 200}, 20, 30, false},
		{"B beyond", ZoneB(c, r), Point{131, 200}, 20, 30, false},
		{"C at 4r", ZoneC(c, r), Point{100 + 40/math.Sqrt2, 200 + 40/math.Sqrt2}, 20, 50, true},
		{"C beyond 5r", ZoneC(c, r), Point{151, 200}, 20, 50, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.zone.Inner != tc.inner || tc.zone.Outer != tc.outer || tc.zone.Centre != c {
				t.Fatalf("zone %+v, want centre %v radii %v..%v", tc.zone, c, tc.inner, tc.outer)
			}
			if got := tc.zone.Contains(tc.p); got != tc.in {
				t.Fatalf("Contains(%v) = %v, want %v", tc.p, got, tc.in)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	if d := Distance(Point{1, 2}, Point{4, 6}); d != 5 {
		t.Fatalf("Distance = %v, want 5", d)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{EyeRight.String(), "right"}, {EyeLeft.String(), "left"}, {EyeUnknown.String(), "unknown"},
		{FieldMacula.String(), "macula-centred"}, {FieldDisc.String(), "disc-centred"}, {FieldOther.String(), "other"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The zone mask holds exactly the pixels whose centres Contains accepts,
// and its area approaches the ring's.
func TestAnnulusMask(t *testing.T) {
	z := ZoneB(Point{60.3, 41.7}, 12)
	r := image.Rect(-5, -5, 140, 120)
	m := z.Mask(r)
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			in := m.GrayAt(x, y).Y != 0
			if in != z.Contains(Point{float64(x) + 0.5, float64(y) + 0.5}) {
				t.Fatalf("pixel (%d,%d): mask %v, Contains disagrees", x, y, in)
			}
			if in {
				n++
			}
		}
	}
	if want := math.Pi * (36*36 - 24*24); math.Abs(float64(n)-want) > 0.03*want {
		t.Errorf("zone B of a 12 px disc: %d px, want about %.0f", n, want)
	}
}
