package synth

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"testing"
)

// generate is Generate for specs a test expects to be valid.
func generate(t testing.TB, s Spec) *Fundus {
	t.Helper()
	f, err := Generate(s)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", s, err)
	}
	return f
}

func count(m *image.Gray) int {
	n := 0
	for _, v := range m.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

// channel returns channel k (0 R, 1 G, 2 B) of pixel (x, y).
func channel(img *image.NRGBA, x, y, k int) float64 {
	return float64(img.Pix[img.PixOffset(x, y)+k])
}

// meanWhere averages channel k over the pixels for which keep is true.
func meanWhere(img *image.NRGBA, k int, keep func(x, y int) bool) float64 {
	var sum float64
	var n int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if keep(x, y) {
				sum += channel(img, x, y, k)
				n++
			}
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func set(m *image.Gray, x, y int) bool { return m.Pix[m.PixOffset(x, y)] != 0 }

// centreDist is the distance from pixel (x, y)'s centre to p.
func centreDist(x, y int, p Point) float64 {
	return math.Hypot(float64(x)+0.5-p.X, float64(y)+0.5-p.Y)
}

func TestDeterminism(t *testing.T) {
	base := Spec{Size: 256, Seed: 7, Noise: 5,
		Lesions: []LesionSpec{{Kind: Haemorrhage, Center: Point{150, 100}, Radius: 5}}}
	a, b := generate(t, base), generate(t, base)
	if !bytes.Equal(a.Image.Pix, b.Image.Pix) || !bytes.Equal(a.VesselMask.Pix, b.VesselMask.Pix) ||
		!bytes.Equal(a.LesionMasks[Haemorrhage].Pix, b.LesionMasks[Haemorrhage].Pix) {
		t.Fatal("same spec gave different output")
	}

	other := base
	other.Seed = 8
	if c := generate(t, other); bytes.Equal(a.Image.Pix, c.Image.Pix) {
		t.Error("different seeds with noise gave identical pixels")
	}

	// Noise has its own random stream: switching it off must not move the
	// vessel tree.
	quiet := base
	quiet.Noise = 0
	if q := generate(t, quiet); !bytes.Equal(a.VesselMask.Pix, q.VesselMask.Pix) {
		t.Error("changing Noise changed the vessel tree")
	}
}

func TestStraightVesselWidth(t *testing.T) {
	tests := []struct {
		y     float64 // centreline height
		width float64
		rows  int // vessel rows expected in a column far from the ends
	}{
		{100.5, 7, 7},  // centreline through pixel centres
		{100.25, 7, 7}, // off-centre: still no pixel centre at exactly 3.5
		{100, 4, 4},    // even width on a pixel boundary
		{300.5, 1, 1},
		{300.5, 15, 15},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("y=%v,w=%v", tc.y, tc.width), func(t *testing.T) {
			f := generate(t, Spec{Vessels: []VesselSpec{{
				Kind: Vein, Width: tc.width, Points: []Point{{60, tc.y}, {450, tc.y}},
			}}})
			for _, x := range []int{150, 256, 380} {
				rows := 0
				for y := range 512 {
					if set(f.VesselMask, x, y) {
						rows++
						if d := math.Abs(float64(y) + 0.5 - tc.y); d > tc.width/2 {
							t.Errorf("x=%d: row %d is %v from the centreline", x, y, d)
						}
					}
				}
				if rows != tc.rows {
					t.Errorf("x=%d: %d rows set, want %d", x, rows, tc.rows)
				}
			}
			if !bytes.Equal(f.VesselMask.Pix, f.VeinMask.Pix) || count(f.ArteryMask) != 0 {
				t.Error("a single vein should fill VeinMask only, identical to VesselMask")
			}
			s := f.Segments[0]
			if s.DistanceTortuosity != 1 && math.Abs(s.DistanceTortuosity-1) > 1e-12 {
				t.Errorf("DistanceTortuosity = %v, want 1", s.DistanceTortuosity)
			}
			if math.Abs(s.Length-390) > 1e-9 || math.Abs(s.Chord-390) > 1e-9 || s.Width != tc.width {
				t.Errorf("Length %v Chord %v Width %v, want 390 390 %v", s.Length, s.Chord, s.Width, tc.width)
			}
			for _, p := range s.Centerline {
				if p.Y != tc.y {
					t.Fatalf("centreline point %v left the line y=%v", p, tc.y)
				}
			}
		})
	}
}

func TestArcTortuosity(t *testing.T) {
	tests := []struct {
		centre Point
		radius float64
		from   float64 // start angle, degrees (y down)
		sweep  float64 // degrees
		points int
	}{
		{Point{256, 300}, 150, 200, 140, 12},
		{Point{256, 256}, 100, 0, 90, 7},
		{Point{200, 320}, 200, 240, 60, 5},
		{Point{256, 256}, 60, 30, 180, 13},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("r=%v,sweep=%v", tc.radius, tc.sweep), func(t *testing.T) {
			pts := make([]Point, tc.points)
			for i := range pts {
				a := (tc.from + tc.sweep*float64(i)/float64(tc.points-1)) * math.Pi / 180
				pts[i] = Point{tc.centre.X + tc.radius*math.Cos(a), tc.centre.Y + tc.radius*math.Sin(a)}
			}
			f := generate(t, Spec{Size: 512, Vessels: []VesselSpec{{Kind: Artery, Width: 5, Points: pts}}})
			s := f.Segments[0]
			theta := tc.sweep * math.Pi / 180
			wantLen := tc.radius * theta
			wantChord := 2 * tc.radius * math.Sin(theta/2)
			if rel := math.Abs(s.DistanceTortuosity/(wantLen/wantChord) - 1); rel > 0.01 {
				t.Errorf("DistanceTortuosity %v, analytic %v (%.2f%% off)", s.DistanceTortuosity, wantLen/wantChord, 100*rel)
			}
			if rel := math.Abs(s.Length/wantLen - 1); rel > 0.01 {
				t.Errorf("Length %v, analytic %v", s.Length, wantLen)
			}
			if math.Abs(s.Chord-wantChord) > 1e-9 {
				t.Errorf("Chord %v, want %v", s.Chord, wantChord)
			}
			if s.Centerline[0] != pts[0] || s.Centerline[len(s.Centerline)-1] != pts[len(pts)-1] {
				t.Error("centreline does not start and end at the end control points")
			}
			for i := 1; i < len(s.Centerline); i++ {
				if d := dist(s.Centerline[i-1], s.Centerline[i]); d > 0.5 {
					t.Fatalf("samples %d and %d are %v px apart", i-1, i, d)
				}
			}
			for _, p := range s.Centerline {
				if d := math.Abs(dist(p, tc.centre) - tc.radius); d > 0.05 {
					t.Fatalf("centreline point %v is %v px off the circle", p, d)
				}
			}
		})
	}
}

func TestDefaultTree(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"seed 0", Spec{}},
		{"seed 1", Spec{Seed: 1}},
		{"seed 42", Spec{Seed: 42}},
		{"disc on the right", Spec{Seed: 1, Disc: Circle{0.8 * 512, 256, 0.075 * 512}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := generate(t, tc.spec)
			if len(f.Segments) < 10 {
				t.Fatalf("%d segments, want >= 10", len(f.Segments))
			}
			for i, want := range []VesselKind{Artery, Vein, Artery, Vein} {
				if f.Segments[i].Kind != want {
					t.Errorf("arcade %d is %v, want %v", i, f.Segments[i].Kind, want)
				}
			}
			if f.Segments[1].Width <= f.Segments[0].Width {
				t.Errorf("vein width %v not above artery width %v", f.Segments[1].Width, f.Segments[0].Width)
			}

			var inFOV, vessel int
			for i, v := range f.FOVMask.Pix {
				if v != 0 {
					inFOV++
					if f.VesselMask.Pix[i] != 0 {
						vessel++
					}
				}
				if union := f.ArteryMask.Pix[i] | f.VeinMask.Pix[i]; union != f.VesselMask.Pix[i] {
					t.Fatalf("pixel %d: VesselMask is not ArteryMask ∪ VeinMask", i)
				}
			}
			if frac := float64(vessel) / float64(inFOV); frac < 0.05 || frac > 0.20 {
				t.Errorf("vessel fraction in FOV %.3f outside [0.05, 0.20]", frac)
			}

			arcades := f.Segments[:4]
			for i, s := range f.Segments {
				if s.Width <= 0 || s.DistanceTortuosity < 1 || s.Length <= 0 {
					t.Errorf("segment %d: implausible %+v", i, s)
				}
				for j, p := range s.Centerline {
					if !inCircle(p, f.FOV) {
						t.Fatalf("segment %d point %d %v outside the FOV", i, j, p)
					}
					if j > 0 && dist(s.Centerline[j-1], p) > 0.5 {
						t.Fatalf("segment %d: samples %d,%d more than 0.5 px apart", i, j-1, j)
					}
				}
				if i < 8 {
					continue
				}
				// Branches must start exactly on an arcade's centreline.
				best := math.Inf(1)
				for _, a := range arcades {
					for j := 1; j < len(a.Centerline); j++ {
						e := newEdge(a.Centerline[j-1], a.Centerline[j])
						best = min(best, e.dist2(s.Centerline[0].X, s.Centerline[0].Y))
					}
				}
				if best > 1e-12 {
					t.Errorf("branch %d starts %v px off every arcade", i, math.Sqrt(best))
				}
			}
		})
	}
}

// TestSmallImages checks that the defaults still work at the smallest
// sizes, where widths hit their 1 px floor.
func TestSmallImages(t *testing.T) {
	for _, size := range []int{MinSize, 48, 100} {
		f := generate(t, Spec{Size: size, Seed: 2})
		if len(f.Segments) < 4 || count(f.VesselMask) == 0 || count(f.DiscMask) == 0 || count(f.CupMask) == 0 {
			t.Errorf("size %d: %d segments, %d vessel px, %d disc px, %d cup px", size,
				len(f.Segments), count(f.VesselMask), count(f.DiscMask), count(f.CupMask))
		}
	}
}

func TestLesions(t *testing.T) {
	specs := []LesionSpec{
		{Microaneurysm, Point{200.5, 150.5}, 1.5},
		{Microaneurysm, Point{230, 150}, 3},
		{Haemorrhage, Point{300, 150}, 6},
		{Haemorrhage, Point{350.3, 200.7}, 12},
		{HardExudate, Point{200, 350}, 3},
		{HardExudate, Point{240.2, 350.9}, 5},
		{SoftExudate, Point{320, 360}, 8},
		{SoftExudate, Point{390, 300}, 14},
		{Haemorrhage, Point{256, 20}, 8}, // straddles the FOV edge
	}
	f := generate(t, Spec{Vessels: []VesselSpec{}, Lesions: specs})
	if len(f.Lesions) != len(specs) {
		t.Fatalf("%d lesions, want %d", len(f.Lesions), len(specs))
	}
	for i, l := range f.Lesions {
		sp := specs[i]
		t.Run(fmt.Sprintf("%d_%v_r%v", i, sp.Kind, sp.Radius), func(t *testing.T) {
			if l.Kind != sp.Kind || l.Center != sp.Center || l.Radius != sp.Radius {
				t.Fatalf("lesion %+v does not echo its spec %+v", l, sp)
			}
			mask := f.LesionMasks[l.Kind]
			// Every pixel of this lesion (kinds do not overlap here) lies in
			// the box, and each box edge touches one.
			own, inside := 0, 0
			x0, y0, x1, y1 := l.Box[0], l.Box[1], l.Box[2], l.Box[3]
			minX, minY, maxX, maxY := math.MaxInt, math.MaxInt, -1, -1
			for y := range 512 {
				for x := range 512 {
					if !set(mask, x, y) || centreDist(x, y, l.Center) > l.Radius+2 {
						continue
					}
					own++
					if x >= x0 && x < x1 && y >= y0 && y < y1 {
						inside++
					}
					minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
				}
			}
			if own != l.Area || inside != own {
				t.Errorf("Area %d, mask pixels %d, of which in Box %v: %d", l.Area, own, l.Box, inside)
			}
			if l.Box != [4]int{minX, minY, maxX + 1, maxY + 1} {
				t.Errorf("Box %v not tight, want %v", l.Box, [4]int{minX, minY, maxX + 1, maxY + 1})
			}

			edge := sp.Center.Y-sp.Radius < 30
			want := math.Pi * l.Radius * l.Radius
			switch {
			case edge && float64(l.Area) >= want:
				t.Errorf("lesion across the FOV edge not clipped: area %d", l.Area)
			case !edge && l.Radius >= 3 && math.Abs(float64(l.Area)/want-1) > 0.15:
				t.Errorf("area %d, want π r² = %.1f within 15%%", l.Area, want)
			}
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					if set(mask, x, y) && !set(f.FOVMask, x, y) {
						t.Fatalf("mask pixel (%d,%d) outside the FOV", x, y)
					}
				}
			}

			// Red lesions are darker and exudates brighter than their
			// surroundings, in the green channel that graders use.
			in := meanWhere(f.Image, 1, func(x, y int) bool {
				return set(mask, x, y) && centreDist(x, y, l.Center) <= l.Radius
			})
			ring := meanWhere(f.Image, 1, func(x, y int) bool {
				d := centreDist(x, y, l.Center)
				return d >= 2*l.Radius+4 && d <= 2*l.Radius+8 && set(f.FOVMask, x, y)
			})
			dark := l.Kind == Microaneurysm || l.Kind == Haemorrhage
			if dark && in > ring-15 || !dark && in < ring+15 {
				t.Errorf("green inside %.1f vs ring %.1f: wrong contrast for %v", in, ring, l.Kind)
			}
		})
	}
	for k := range numLesionKinds {
		if f.LesionMasks[LesionKind(k)] == nil {
			t.Errorf("no mask for %v", LesionKind(k))
		}
	}
}

func TestInvalidSpecs(t *testing.T) {
	line := []Point{{100, 100}, {200, 100}}
	tests := []struct {
		name string
		spec Spec
	}{
		{"negative size", Spec{Size: -1}},
		{"size too large", Spec{Size: MaxSize + 1}},
		{"size too small", Spec{Size: MinSize - 1}},
		{"negative FOV", Spec{FOVRadius: -1}},
		{"NaN FOV", Spec{FOVRadius: math.NaN()}},
		{"FOV beyond size", Spec{Size: 100, FOVRadius: 101}},
		{"cup ratio 1", Spec{CupRatio: 1}},
		{"negative cup ratio", Spec{CupRatio: -0.2}},
		{"negative noise", Spec{Noise: -1}},
		{"infinite noise", Spec{Noise: math.Inf(1)}},
		{"negative blur", Spec{Blur: -1}},
		{"huge blur", Spec{Size: 64, Blur: 17}},
		{"negative brightness", Spec{Brightness: -0.5}},
		{"negative disc radius", Spec{Disc: Circle{100, 256, -3}}},
		{"disc with zero radius", Spec{Disc: Circle{100, 256, 0}}},
		{"disc outside FOV", Spec{Disc: Circle{5, 5, 10}}},
		{"disc too large", Spec{Disc: Circle{256, 256, 200}}},
		{"fovea outside image", Spec{Fovea: Point{-5, 10}}},
		{"vessel with one point", Spec{Vessels: []VesselSpec{{Width: 3, Points: line[:1]}}}},
		{"vessel with repeated point", Spec{Vessels: []VesselSpec{{Width: 3, Points: []Point{{9, 9}, {9, 9}}}}}},
		{"vessel point left of image", Spec{Vessels: []VesselSpec{{Width: 3, Points: []Point{{-1, 100}, {200, 100}}}}}},
		{"vessel point below image", Spec{Vessels: []VesselSpec{{Width: 3, Points: []Point{{100, 100}, {200, 513}}}}}},
		{"vessel point NaN", Spec{Vessels: []VesselSpec{{Width: 3, Points: []Point{{math.NaN(), 100}, {200, 100}}}}}},
		{"vessel zero width", Spec{Vessels: []VesselSpec{{Points: line}}}},
		{"vessel NaN width", Spec{Vessels: []VesselSpec{{Width: math.NaN(), Points: line}}}},
		{"vessel unknown kind", Spec{Vessels: []VesselSpec{{Kind: 7, Width: 3, Points: line}}}},
		{"vessel closed loop", Spec{Vessels: []VesselSpec{{Width: 3, Points: []Point{{100, 100}, {200, 150}, {100.5, 100}}}}}},
		{"lesion zero radius", Spec{Lesions: []LesionSpec{{Kind: HardExudate, Center: Point{256, 256}}}}},
		{"lesion outside FOV", Spec{Lesions: []LesionSpec{{Kind: HardExudate, Center: Point{5, 5}, Radius: 3}}}},
		{"lesion in FOV but off image", Spec{FOVRadius: 400, Lesions: []LesionSpec{{Kind: HardExudate, Center: Point{-3, 256}, Radius: 3}}}},
		{"lesion unknown kind", Spec{Lesions: []LesionSpec{{Kind: -1, Center: Point{256, 256}, Radius: 3}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Generate(tc.spec)
			if err == nil || f != nil {
				t.Fatalf("Generate = %v, %v; want nil and an error", f, err)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %q does not wrap ErrInvalidSpec", err)
			}
		})
	}
}

func TestOutsideFOVBlack(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"default", Spec{}},
		{"blurred and noisy", Spec{Size: 256, Blur: 2, Noise: 20, Seed: 3}},
		{"saturated", Spec{Size: 256, Brightness: 3}},
		{"small FOV with lesion", Spec{Size: 256, FOVRadius: 90,
			Lesions: []LesionSpec{{Kind: SoftExudate, Center: Point{128, 45}, Radius: 10}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := generate(t, tc.spec)
			n := f.Image.Bounds().Dx()
			masks := []*image.Gray{f.VesselMask, f.ArteryMask, f.VeinMask, f.DiscMask, f.CupMask}
			for _, m := range f.LesionMasks {
				masks = append(masks, m)
			}
			for y := range n {
				for x := range n {
					i := f.Image.PixOffset(x, y)
					if f.Image.Pix[i+3] != 255 {
						t.Fatalf("pixel (%d,%d) not opaque", x, y)
					}
					inside := centreDist(x, y, Point{f.FOV.X, f.FOV.Y}) <= f.FOV.R
					if inside != set(f.FOVMask, x, y) {
						t.Fatalf("FOVMask wrong at (%d,%d)", x, y)
					}
					if inside {
						continue
					}
					if px := f.Image.Pix[i : i+3]; px[0]|px[1]|px[2] != 0 {
						t.Fatalf("pixel (%d,%d) outside the FOV is %v, want black", x, y, px)
					}
					for _, m := range masks {
						if set(m, x, y) {
							t.Fatalf("a truth mask is set at (%d,%d) outside the FOV", x, y)
						}
					}
				}
			}
			want := math.Pi * f.FOV.R * f.FOV.R
			if got := float64(count(f.FOVMask)); math.Abs(got/want-1) > 0.01 {
				t.Errorf("FOV has %v px, want π R² = %.0f", got, want)
			}
		})
	}
}

func TestDiscAndCup(t *testing.T) {
	tests := []struct {
		spec      Spec
		wantRatio float64
	}{
		{Spec{}, 0.4},
		{Spec{CupRatio: 0.3}, 0.3},
		{Spec{CupRatio: 0.75, Disc: Circle{380, 240, 45}}, 0.75}, // disc right of centre
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("cup=", tc.wantRatio), func(t *testing.T) {
			f := generate(t, tc.spec)
			d := f.Disc
			if got := f.Cup.RY / d.R; math.Abs(got-tc.wantRatio) > 1e-12 {
				t.Errorf("Cup.RY/Disc.R = %v, want %v", got, tc.wantRatio)
			}
			if want := math.Pi * d.R * d.R; math.Abs(float64(count(f.DiscMask))/want-1) > 0.03 {
				t.Errorf("disc mask has %d px, want about %.0f", count(f.DiscMask), want)
			}
			// The vertical cup-to-disc ratio read off the masks matches to
			// within a pixel row at each end.
			rows := func(m *image.Gray) int {
				r := 0
				for y := range 512 {
					for x := range 512 {
						if set(m, x, y) {
							r++
							break
						}
					}
				}
				return r
			}
			discRows, cupRows := rows(f.DiscMask), rows(f.CupMask)
			if got := float64(cupRows) / float64(discRows); math.Abs(got-tc.wantRatio) > 2/float64(discRows) {
				t.Errorf("mask vertical CDR %d/%d = %.3f, want %v", cupRows, discRows, got, tc.wantRatio)
			}
			for i, c := range f.CupMask.Pix {
				if c != 0 && f.DiscMask.Pix[i] == 0 {
					t.Fatal("cup pixel outside the disc")
				}
			}

			lum := func(keep func(x, y int) bool) float64 {
				var s float64
				for k := range 3 {
					s += meanWhere(f.Image, k, keep)
				}
				return s / 3
			}
			noVessel := func(x, y int) bool { return !set(f.VesselMask, x, y) }
			disc := lum(func(x, y int) bool { return set(f.DiscMask, x, y) && noVessel(x, y) })
			rim := lum(func(x, y int) bool { return set(f.DiscMask, x, y) && !set(f.CupMask, x, y) && noVessel(x, y) })
			cup := lum(func(x, y int) bool { return set(f.CupMask, x, y) && noVessel(x, y) })
			around := lum(func(x, y int) bool {
				r := centreDist(x, y, Point{d.X, d.Y})
				return r > 1.5*d.R && r < 3*d.R && set(f.FOVMask, x, y) && noVessel(x, y)
			})
			if disc < around+30 {
				t.Errorf("disc luminance %.1f not clearly above the surrounding %.1f", disc, around)
			}
			if cup < rim+10 {
				t.Errorf("cup luminance %.1f not above the rim's %.1f", cup, rim)
			}
		})
	}
}

func TestDefaultsResolved(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		disc      Circle
		temporal  float64 // sign of fovea.X - disc.X
		fovRadius float64
	}{
		{"zero spec", Spec{}, Circle{256 - 0.3*512, 256, 0.075 * 512}, 1, 0.47 * 512},
		{"size 1000", Spec{Size: 1000, Vessels: []VesselSpec{}}, Circle{200, 500, 75}, 1, 470},
		{"disc on the right", Spec{Disc: Circle{400, 250, 40}, Vessels: []VesselSpec{}}, Circle{400, 250, 40}, -1, 0.47 * 512},
		{"small FOV scales the disc", Spec{FOVRadius: 0.235 * 512, Vessels: []VesselSpec{}},
			Circle{256 - 0.15*512, 256, 0.0375 * 512}, 1, 0.235 * 512},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := generate(t, tc.spec)
			if !near(f.FOV.R, tc.fovRadius) || f.FOV.X != f.FOV.Y {
				t.Errorf("FOV %+v, want radius %v centred", f.FOV, tc.fovRadius)
			}
			d := f.Disc
			if !near(d.X, tc.disc.X) || !near(d.Y, tc.disc.Y) || !near(d.R, tc.disc.R) {
				t.Errorf("disc %+v, want %+v", d, tc.disc)
			}
			wantFovea := Point{d.X + tc.temporal*5*d.R, d.Y + 0.3*d.R}
			if !near(f.Fovea.X, wantFovea.X) || !near(f.Fovea.Y, wantFovea.Y) {
				t.Errorf("fovea %+v, want %+v", f.Fovea, wantFovea)
			}
			if (f.Cup.X-d.X)*tc.temporal <= 0 || !near(f.Cup.Y, d.Y) || !near(f.Cup.RY, 0.4*d.R) {
				t.Errorf("cup %+v not a 0.4 cup shifted temporally in %+v", f.Cup, d)
			}
		})
	}
	if f := generate(t, Spec{Vessels: []VesselSpec{}}); len(f.Segments) != 0 || count(f.VesselMask) != 0 {
		t.Error("an empty, non-nil Vessels should draw no vessels")
	}
}

// TestVesselProfile checks that arteries are lighter and redder than veins
// and that the drawn darkening halves at Width/2, the half-depth width the
// masks promise.
func TestVesselProfile(t *testing.T) {
	const w = 8
	f := generate(t, Spec{Vessels: []VesselSpec{
		{Kind: Artery, Width: w, Points: []Point{{130, 180.5}, {380, 180.5}}},
		{Kind: Vein, Width: w, Points: []Point{{130, 400.5}, {380, 400.5}}},
	}})
	type profile struct{ centre, half, bg [3]float64 }
	measure := func(y int) profile {
		var p profile
		for k := range 3 {
			for x := 230; x < 290; x++ {
				p.centre[k] += channel(f.Image, x, y, k) / 60
				p.half[k] += (channel(f.Image, x, y-w/2, k) + channel(f.Image, x, y+w/2, k)) / 120
				p.bg[k] += (channel(f.Image, x, y-w-4, k) + channel(f.Image, x, y+w+4, k)) / 120
			}
		}
		return p
	}
	art, vein := measure(180), measure(400)
	for k, name := range []string{"red", "green", "blue"} {
		for _, v := range []struct {
			kind string
			p    profile
		}{{"artery", art}, {"vein", vein}} {
			full := v.p.bg[k] - v.p.centre[k]
			if full <= 0 {
				t.Errorf("%s %s: centre %.1f not darker than background %.1f", v.kind, name, v.p.centre[k], v.p.bg[k])
				continue
			}
			if half := v.p.bg[k] - v.p.half[k]; math.Abs(half/full-0.5) > 0.05 {
				t.Errorf("%s %s: darkening at Width/2 is %.2f of the centre's, want 0.5", v.kind, name, half/full)
			}
		}
	}
	artContrast := 1 - art.centre[1]/art.bg[1]
	veinContrast := 1 - vein.centre[1]/vein.bg[1]
	if artContrast < 0.2 || veinContrast <= artContrast {
		t.Errorf("green contrast artery %.2f, vein %.2f: want veins darker, both visible", artContrast, veinContrast)
	}
	if art.centre[0]/art.bg[0] <= vein.centre[0]/vein.bg[0] {
		t.Error("arteries should keep more red than veins")
	}
}

func TestQualityControls(t *testing.T) {
	base := Spec{Size: 256, Seed: 5}
	clean := generate(t, base)
	fov := clean.FOVMask

	// sumSq is the energy of horizontal green differences inside the FOV,
	// which blur lowers.
	sumSq := func(img *image.NRGBA) float64 {
		var s float64
		for y := range 256 {
			for x := 1; x < 256; x++ {
				if set(fov, x, y) && set(fov, x-1, y) {
					s += math.Pow(channel(img, x, y, 1)-channel(img, x-1, y, 1), 2)
				}
			}
		}
		return s
	}
	tests := []struct {
		name  string
		mod   func(*Spec)
		check func(t *testing.T, f *Fundus)
	}{
		{"noise has the requested std", func(s *Spec) { s.Noise = 10 }, func(t *testing.T, f *Fundus) {
			var sum, sum2, n float64
			for i, v := range fov.Pix {
				for k := range 2 { // red and green stay clear of clamping
					if v != 0 {
						d := float64(f.Image.Pix[4*i+k]) - float64(clean.Image.Pix[4*i+k])
						sum, sum2, n = sum+d, sum2+d*d, n+1
					}
				}
			}
			mean, std := sum/n, math.Sqrt(sum2/n-sum*sum/(n*n))
			if math.Abs(mean) > 0.3 || math.Abs(std/10-1) > 0.05 {
				t.Errorf("noise mean %.2f std %.2f, want 0 and 10", mean, std)
			}
		}},
		{"blur smooths", func(s *Spec) { s.Blur = 2 }, func(t *testing.T, f *Fundus) {
			if a, b := sumSq(f.Image), sumSq(clean.Image); a > 0.5*b {
				t.Errorf("gradient energy %.0f blurred vs %.0f sharp", a, b)
			}
			if !bytes.Equal(f.VesselMask.Pix, clean.VesselMask.Pix) {
				t.Error("blur changed the truth masks")
			}
		}},
		{"brightness scales", func(s *Spec) { s.Brightness = 0.5 }, func(t *testing.T, f *Fundus) {
			keep := func(x, y int) bool { return set(fov, x, y) }
			for k := range 3 {
				a, b := meanWhere(f.Image, k, keep), meanWhere(clean.Image, k, keep)
				if math.Abs(a/b-0.5) > 0.01 {
					t.Errorf("channel %d mean %.2f vs %.2f, want half", k, a, b)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.mod(&s)
			tc.check(t, generate(t, s))
		})
	}
}

func TestKindStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Artery.String(), "artery"},
		{Vein.String(), "vein"},
		{VesselKind(9).String(), "VesselKind(9)"},
		{Microaneurysm.String(), "microaneurysm"},
		{Haemorrhage.String(), "haemorrhage"},
		{HardExudate.String(), "hard exudate"},
		{SoftExudate.String(), "soft exudate"},
		{LesionKind(-1).String(), "LesionKind(-1)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestWriteExamplePNG writes the default image (and its vessel mask beside
// it) for a person to look at. It runs only when SYNTH_EXAMPLE_PNG names
// the output file, e.g.
//
//	SYNTH_EXAMPLE_PNG=/tmp/synth_example.png go test -run WriteExample ./internal/synth/
func TestWriteExamplePNG(t *testing.T) {
	path := os.Getenv("SYNTH_EXAMPLE_PNG")
	if path == "" {
		t.Skip("set SYNTH_EXAMPLE_PNG to write an example image")
	}
	f := generate(t, Spec{})
	for _, out := range []struct {
		path string
		img  image.Image
	}{{path, f.Image}, {path + ".vessels.png", f.VesselMask}} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, out.img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out.path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkGenerate1024(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Spec{Size: 1024, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleGenerate() {
	f, err := Generate(Spec{
		Vessels: []VesselSpec{{Kind: Artery, Width: 7, Points: []Point{{100, 300.5}, {400, 300.5}}}},
		Lesions: []LesionSpec{{Kind: HardExudate, Center: Point{300, 200}, Radius: 4}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := f.Segments[0]
	fmt.Printf("%v: width %v, length %.0f, tortuosity %.2f\n", s.Kind, s.Width, s.Length, s.DistanceTortuosity)
	fmt.Printf("%v: area %d px in box %v\n", f.Lesions[0].Kind, f.Lesions[0].Area, f.Lesions[0].Box)
	// Output:
	// artery: width 7, length 300, tortuosity 1.00
	// hard exudate: area 52 px in box [296 196 304 204]
}
