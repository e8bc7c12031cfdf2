package lesions

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// synthMaps is a w x h grid at scale original pixels per grid pixel, all
// in the FOV, every probability 0, thresholds 0.5.
func synthMaps(w, h int, scale float64) *Maps {
	m := &Maps{
		Width: int(float64(w) * scale), Height: int(float64(h) * scale),
		FOV:   fundus.FOV{CX: float64(w) * scale / 2, CY: float64(h) * scale / 2, Radius: float64(max(w, h)) * scale},
		Grid:  Grid{Width: w, Height: h, Transform: fundus.Transform{Scale: scale}},
		InFOV: make([]bool, w*h),
	}
	for i := range m.InFOV {
		m.InFOV[i] = true
	}
	for _, k := range Kinds {
		m.Prob[k] = make([]float32, w*h)
		m.Thresholds[k] = 0.5
	}
	return m
}

func (m *Maps) set(k Kind, x, y int, p float32) { m.Prob[k][y*m.Grid.Width+x] = p }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func nearRect(a, b Rect) bool {
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestComponents(t *testing.T) {
	m := synthMaps(20, 10, 2) // a 40 x 20 photo
	for _, p := range [][2]int{{1, 1}, {2, 1}, {1, 2}, {2, 2}} {
		m.set(HE, p[0], p[1], 0.8) // a 2x2 block
	}
	m.set(HE, 5, 5, 0.6) // a diagonal pair: one component under 8-connectivity
	m.set(HE, 6, 6, 0.9)
	m.set(HE, 10, 1, 0.5)  // exactly at the threshold: lesion
	m.set(HE, 12, 1, 0.49) // below: not
	m.set(HE, 15, 8, 0.9)  // outside the FOV: not
	m.InFOV[8*20+15] = false
	m.set(EX, 19, 9, 0.7) // another type, in the corner

	fovea, disc := Point{5, 15}, Point{35, 5}
	r, err := Measure(m, Options{Fovea: &fovea, Disc: &disc, DiscRadiusPx: 5, UmPerPx: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts != [NumKinds]int{0, 3, 1, 0} || len(r.Lesions) != 4 {
		t.Fatalf("counts %v, %d lesions", r.Counts, len(r.Lesions))
	}
	he := r.OfKind(HE)
	want := []struct {
		area, mean, max float64
		centroid        Point
		box             Rect
		gridPx          int
	}{
		// Largest probability mass first: 16 x 0.8, 8 x 0.75, 4 x 0.5.
		{16, 0.8, 0.8, Point{4, 4}, Rect{2, 2, 6, 6}, 4},
		{8, 0.75, 0.9, Point{12, 12}, Rect{10, 10, 14, 14}, 2},
		{4, 0.5, 0.5, Point{21, 3}, Rect{20, 2, 22, 4}, 1},
	}
	for i, w := range want {
		l := he[i]
		if l.Kind != HE || !near(l.AreaPx, w.area) || !near(l.MeanProb, w.mean) || !near(l.MaxProb, w.max) ||
			!near(l.Centroid.X, w.centroid.X) || !near(l.Centroid.Y, w.centroid.Y) || !nearRect(l.Box, w.box) || l.GridPx != w.gridPx {
			t.Errorf("lesion %d: %+v, want %+v", i, l, w)
		}
		if l.AreaUm2 == nil || !near(*l.AreaUm2, w.area*100) {
			t.Errorf("lesion %d: area %v µm², want %v", i, l.AreaUm2, w.area*100)
		}
	}
	// The block's pixel centres are (3,3), (5,3), (3,5), (5,5) in the
	// photo: 10 px from the fovea (1 DD of 10 px), 30 px from the disc.
	if d := he[0].FoveaDistanceDD; d == nil || !near(*d, 1) {
		t.Errorf("fovea distance %v DD, want 1", d)
	}
	if d := he[0].DiscDistanceDD; d == nil || !near(*d, 3) {
		t.Errorf("disc distance %v DD, want 3", d)
	}
	if ex := r.OfKind(EX); len(ex) != 1 || !nearRect(ex[0].Box, Rect{38, 18, 40, 20}) {
		t.Errorf("EX lesions %+v", ex)
	}

	// Without landmarks or calibration those fields are absent.
	r, err = Measure(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.Lesions {
		if l.AreaUm2 != nil || l.FoveaDistanceDD != nil || l.DiscDistanceDD != nil || l.Quadrant != QuadrantUnknown {
			t.Errorf("lesion without landmarks: %+v", l)
		}
	}
	if r.QuadrantCounts[HE][QuadrantUnknown] != 3 {
		t.Errorf("quadrant counts %v", r.QuadrantCounts)
	}
	b, err := json.Marshal(r.Lesions[0])
	if err != nil || !strings.Contains(string(b), `"kind":"HE"`) || !strings.Contains(string(b), `"quadrant":"unknown"`) || strings.Contains(string(b), "area_um2") {
		t.Errorf("JSON %s (%v)", b, err)
	}
	// A disc radius without points gives no distances either.
	r, _ = Measure(m, Options{DiscRadiusPx: 5})
	if r.Lesions[0].FoveaDistanceDD != nil || r.Lesions[0].DiscDistanceDD != nil {
		t.Error("distances without points")
	}
}

func TestMeasureRejectsBadMaps(t *testing.T) {
	m := synthMaps(4, 4, 1)
	m.InFOV = m.InFOV[:3]
	if _, err := Measure(m, Options{}); err == nil {
		t.Error("short FOV raster: no error")
	}
	m = synthMaps(4, 4, 1)
	m.Prob[SE] = nil
	if _, err := Measure(m, Options{}); err == nil {
		t.Error("missing map: no error")
	}
	m = synthMaps(4, 4, 1)
	p := Point{1, 1}
	if _, err := Measure(m, Options{Disc: &p, Fovea: &p}); err == nil {
		t.Error("disc on the fovea: no error")
	}
}

func TestQuadrants(t *testing.T) {
	pt := func(x, y float64) *Point { return &Point{x, y} }
	// A right eye: the disc to the right of the fovea, so temporal is to
	// the left; a left eye is its mirror image.
	rightDisc, rightFovea := pt(300, 100), pt(100, 100)
	leftDisc, leftFovea := pt(20, 100), pt(220, 100)
	tests := []struct {
		name        string
		p           Point
		disc, fovea *Point
		eye         string
		want        Quadrant
	}{
		{"right eye, up left", Point{50, 50}, rightDisc, rightFovea, "", SuperiorTemporal},
		{"right eye, up right", Point{150, 50}, rightDisc, rightFovea, "", SuperiorNasal},
		{"right eye, down right", Point{150, 150}, rightDisc, rightFovea, "", InferiorNasal},
		{"right eye, down left", Point{50, 150}, rightDisc, rightFovea, "", InferiorTemporal},
		{"right eye, beyond the disc", Point{400, 90}, rightDisc, rightFovea, "right", SuperiorNasal},
		{"left eye, up left", Point{170, 50}, leftDisc, leftFovea, "", SuperiorNasal},
		{"left eye, up right", Point{270, 50}, leftDisc, leftFovea, "", SuperiorTemporal},
		{"left eye, down left", Point{170, 150}, leftDisc, leftFovea, "left", InferiorNasal},
		{"left eye, down right", Point{270, 150}, leftDisc, leftFovea, "", InferiorTemporal},
		{"on the axis: superior", Point{50, 100}, rightDisc, rightFovea, "", SuperiorTemporal},
		{"on the meridian: temporal", Point{100, 50}, rightDisc, rightFovea, "", SuperiorTemporal},
		{"the fovea itself", Point{100, 100}, rightDisc, rightFovea, "", SuperiorTemporal},
		// The disc 60 px below the fovea over 200 px: the axis rises to
		// the left, so (0, 75), above the fovea's row but below the axis
		// (which passes y = 70 at x = 0), is inferior.
		{"tilted axis", Point{0, 75}, pt(300, 160), rightFovea, "", InferiorTemporal},
		{"tilted axis, above it", Point{0, 65}, pt(300, 160), rightFovea, "", SuperiorTemporal},
		// The stated laterality does not override the landmarks.
		{"landmarks win over a contradicting eye", Point{50, 50}, rightDisc, rightFovea, "left", SuperiorTemporal},
		{"fovea only, right eye", Point{50, 50}, nil, rightFovea, "right", SuperiorTemporal},
		{"fovea only, right eye, OD", Point{150, 150}, nil, rightFovea, "OD", InferiorNasal},
		{"fovea only, left eye", Point{50, 50}, nil, rightFovea, "Left", SuperiorNasal},
		{"fovea only, unknown eye", Point{50, 50}, nil, rightFovea, "unknown", QuadrantUnknown},
		{"no fovea", Point{50, 50}, rightDisc, nil, "right", QuadrantUnknown},
		{"disc above the fovea", Point{50, 50}, pt(100, 300), rightFovea, "right", QuadrantUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quadrantOf(tc.p, tc.disc, tc.fovea, parseEye(tc.eye)); got != tc.want {
				t.Errorf("quadrant of %v = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

// Quadrant counts through Measure, for both eyes of one layout.
func TestQuadrantCounts(t *testing.T) {
	m := synthMaps(40, 40, 1)
	for _, p := range [][2]int{{5, 5}, {7, 9}, {30, 5}, {30, 30}, {5, 30}, {12, 30}} {
		m.set(HE, p[0], p[1], 0.9)
	}
	fovea := Point{20, 20}
	for _, tc := range []struct {
		eye  string
		want [NumQuadrants]int
	}{
		// Up-left two, up-right one, down-right one, down-left two.
		{"right", [NumQuadrants]int{0, 2, 1, 2, 1}},
		{"left", [NumQuadrants]int{0, 1, 2, 1, 2}},
		{"", [NumQuadrants]int{6, 0, 0, 0, 0}},
	} {
		r, err := Measure(m, Options{Fovea: &fovea, Eye: tc.eye})
		if err != nil {
			t.Fatal(err)
		}
		if r.QuadrantCounts[HE] != tc.want {
			t.Errorf("eye %q: counts %v, want %v", tc.eye, r.QuadrantCounts[HE], tc.want)
		}
	}
}

func TestKindAndQuadrantText(t *testing.T) {
	for _, k := range Kinds {
		got, err := ParseKind(strings.ToLower(k.String()))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
	}
	if _, err := ParseKind("OD"); err == nil {
		t.Error("ParseKind(OD): no error")
	}
	if EX.Name() != "hard exudates" || SE.Name() != "soft exudates" || Kind(9).String() != "Kind(9)" {
		t.Error("names")
	}
	b, _ := json.Marshal(map[Kind]Quadrant{MA: InferiorNasal})
	if string(b) != `{"MA":"inferior_nasal"}` {
		t.Errorf("JSON %s", b)
	}
	if !SuperiorNasal.Superior() || !SuperiorNasal.Nasal() || InferiorTemporal.Superior() || InferiorTemporal.Nasal() {
		t.Error("Superior/Nasal")
	}
}
