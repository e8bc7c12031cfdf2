package biomarkers

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

func TestAVMapFromRITE(t *testing.T) {
	tests := []struct {
		name string
		c    color.Color
		want AVLabel
	}{
		{"black", color.RGBA{0, 0, 0, 255}, AVBackground},
		{"red", color.RGBA{255, 0, 0, 255}, AVArtery},
		{"blue", color.RGBA{0, 0, 255, 255}, AVVein},
		{"green", color.RGBA{0, 255, 0, 255}, AVCrossing},
		{"white", color.RGBA{255, 255, 255, 255}, AVUncertain},
		// Stray colours found in RITE's files.
		{"reddish 234,0,21", color.RGBA{234, 0, 21, 255}, AVArtery},
		{"bluish 19,0,236", color.RGBA{19, 0, 236, 255}, AVVein},
		{"magenta, red and blue alike", color.RGBA{255, 0, 255, 255}, AVUncertain},
		{"cyan, blue and green alike", color.RGBA{0, 255, 255, 255}, AVUncertain},
		{"dark grey", color.RGBA{100, 100, 100, 255}, AVBackground},
		{"light grey", color.RGBA{200, 200, 200, 255}, AVUncertain},
		{"dark red", color.RGBA{140, 0, 0, 255}, AVArtery},
		{"transparent red", color.NRGBA{255, 0, 0, 0}, AVBackground},
		{"grey image", color.Gray{255}, AVUncertain},
	}
	img := image.NewNRGBA(image.Rect(3, 5, 3+len(tests), 6)) // a non-zero origin
	for i, tc := range tests {
		img.Set(3+i, 5, tc.c)
	}
	m := AVMapFromRITE(img)
	if m.W != len(tests) || m.H != 1 || len(m.Pix) != len(tests) {
		t.Fatalf("map %dx%d with %d labels", m.W, m.H, len(m.Pix))
	}
	for i, tc := range tests {
		if got := m.At(i, 0); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if m.At(-1, 0) != AVBackground || m.At(0, 1) != AVBackground {
		t.Error("outside the map is not background")
	}
}

func TestAVLabelNames(t *testing.T) {
	b, err := json.Marshal([]AVLabel{AVBackground, AVArtery, AVVein, AVCrossing, AVUncertain})
	if err != nil {
		t.Fatal(err)
	}
	if want := `["background","artery","vein","crossing","uncertain"]`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

func TestVoteLabel(t *testing.T) {
	// counts: background, artery, vein, crossing, uncertain.
	// weights: the summed confidences of the artery and vein voters; nil
	// for a map without confidences (the weights are the counts).
	tests := []struct {
		name    string
		counts  [5]int
		weights []float64
		want    AVLabel
		conf    float64
	}{
		{"artery majority", [5]int{5, 70, 30, 0, 0}, nil, AVArtery, 0.7},
		{"vein majority", [5]int{0, 1, 3, 0, 0}, nil, AVVein, 0.75},
		{"crossings do not vote", [5]int{0, 20, 30, 500, 0}, nil, AVVein, 0.6},
		{"uncertain does not vote", [5]int{0, 2, 1, 0, 900}, nil, AVArtery, 2.0 / 3},
		{"tie", [5]int{0, 10, 10, 3, 0}, nil, AVUncertain, 0.5},
		{"only crossings", [5]int{4, 0, 0, 12, 3}, nil, AVCrossing, 0},
		{"only uncertain", [5]int{4, 0, 0, 2, 3}, nil, AVUncertain, 0},
		{"unlabelled", [5]int{40, 0, 0, 0, 0}, nil, AVBackground, 0},
		{"nothing", [5]int{}, nil, AVBackground, 0},
		{"few sure arteries outvote many unsure veins", [5]int{0, 20, 80, 0, 0}, []float64{18, 2}, AVArtery, 0.9},
		{"weighted tie", [5]int{0, 10, 30, 0, 0}, []float64{3, 3}, AVUncertain, 0.5},
		{"no confidence at all: counts decide", [5]int{0, 10, 30, 0, 0}, []float64{0, 0}, AVVein, 0.75},
	}
	for _, tc := range tests {
		wa, wv := float64(tc.counts[AVArtery]), float64(tc.counts[AVVein])
		if tc.weights != nil {
			wa, wv = tc.weights[0], tc.weights[1]
		}
		got := voteLabel(tc.counts, wa, wv)
		if got.Label != tc.want || math.Abs(got.Confidence-tc.conf) > 1e-12 {
			t.Errorf("%s: %v %.4f, want %v %.4f", tc.name, got.Label, got.Confidence, tc.want, tc.conf)
		}
		if got.ArteryVotes != tc.counts[AVArtery] || got.VeinVotes != tc.counts[AVVein] {
			t.Errorf("%s: votes %d/%d", tc.name, got.ArteryVotes, got.VeinVotes)
		}
	}
}

// TestSegmentLabel labels one straight vessel from maps that split it
// lengthwise between two labels at a given column, and checks the label,
// the vote share against the pixel counts, and which pixels go to which
// tree.
func TestSegmentLabel(t *testing.T) {
	f := vesselFundus(t, 256, 0, synth.VesselSpec{Points: []synth.Point{pt(30, 128.3), pt(226, 128.3)}, Width: 6})
	// trees gives the expected artery and vein tree sizes from the label
	// counts n and the vessel's pixel count.
	type trees func(n [5]int, all int) (art, vein int)
	tests := []struct {
		name        string
		left, right AVLabel
		cut         int // columns < cut get left
		want        AVLabel
		trees       trees
	}{
		{"clear artery: all to the artery tree", AVArtery, AVVein, 215, AVArtery,
			func(n [5]int, all int) (int, int) { return all, 0 }},
		{"split vote: each pixel to its own tree", AVArtery, AVVein, 150, AVArtery,
			func(n [5]int, all int) (int, int) { return n[AVArtery], n[AVVein] }},
		{"mostly vein", AVArtery, AVVein, 42, AVVein,
			func(n [5]int, all int) (int, int) { return 0, all }},
		{"crossing pixels do not vote but go to both trees", AVCrossing, AVArtery, 200, AVArtery,
			func(n [5]int, all int) (int, int) { return all, n[AVCrossing] }},
		{"uncertain pixels do not vote", AVVein, AVUncertain, 40, AVVein,
			func(n [5]int, all int) (int, int) { return 0, all }},
		{"unlabelled: in neither tree", AVBackground, AVBackground, 0, AVBackground,
			func(n [5]int, all int) (int, int) { return 0, 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			av := NewAVMap(256, 256)
			var n [5]int
			for y := 0; y < 256; y++ {
				for x := 0; x < 256; x++ {
					if f.VesselMask.Pix[y*256+x] == 0 {
						continue
					}
					l := tc.right
					if x < tc.cut {
						l = tc.left
					}
					av.Set(x, y, l)
					n[l]++
				}
			}
			m, err := MeasureAV(f.VesselMask, f.FOVMask, av, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Labels) != 1 {
				t.Fatalf("%d segments, want 1", len(m.Labels))
			}
			got := m.Labels[0]
			wantConf := 0.0
			if a, v := n[AVArtery], n[AVVein]; a+v > 0 {
				wantConf = float64(max(a, v)) / float64(a+v)
			}
			if got.Label != tc.want || math.Abs(got.Confidence-wantConf) > 1e-12 {
				t.Errorf("%v %.4f, want %v %.4f", got.Label, got.Confidence, tc.want, wantConf)
			}
			all := m.All.VesselAreaPx
			if got.Pixels != all {
				t.Errorf("segment owns %d pixels, the mask has %d", got.Pixels, all)
			}
			if art, vein := tc.trees(n, all); m.Artery.VesselAreaPx != art || m.Vein.VesselAreaPx != vein {
				t.Errorf("trees have %d/%d pixels, want %d/%d", m.Artery.VesselAreaPx, m.Vein.VesselAreaPx, art, vein)
			}
		})
	}
}

// TestMeasureAVTrueTrees splits synth's default tree by its own artery and
// vein masks and compares each tree's measures with those of the true
// tree's mask. The split is by segment, so pixels near a crossing can go to
// the wrong tree (geodesically nearer the other vessel's centreline) and a
// few short segments in the tangle at the disc, where all vessels overlap,
// fall to one side. The largest difference seen is 1.6 % (the vein
// tree's average width).
func TestMeasureAVTrueTrees(t *testing.T) {
	f, err := synth.Generate(synth.Spec{Size: 1024})
	if err != nil {
		t.Fatal(err)
	}
	m, err := MeasureAV(f.VesselMask, f.FOVMask, avFromSynth(f), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.LabelledLengthFraction < 0.95 || m.MeanConfidence < 0.95 {
		t.Errorf("labelled length %.3f, confidence %.3f; want both ≥ 0.95", m.LabelledLengthFraction, m.MeanConfidence)
	}
	for _, tc := range []struct {
		name string
		got  *Measures
		true *image.Gray
	}{{"artery", m.Artery, f.ArteryMask}, {"vein", m.Vein, f.VeinMask}} {
		want, err := Measure(tc.true, f.FOVMask)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			name string
			a, b float64
			tol  float64 // relative
		}{
			{"vessel area", float64(tc.got.VesselAreaPx), float64(want.VesselAreaPx), 0.03},
			{"fractal mask", tc.got.FractalDimensionMask, want.FractalDimensionMask, 0.01},
			{"fractal skeleton", tc.got.FractalDimensionSkeleton, want.FractalDimensionSkeleton, 0.01},
			{"density", tc.got.DensityFOV, want.DensityFOV, 0.03},
			{"average width", tc.got.AverageWidthPx, want.AverageWidthPx, 0.03},
			{"centreline length", tc.got.CentrelineLengthPx, want.CentrelineLengthPx, 0.03},
			{"distance tortuosity", tc.got.DistanceTortuosity, want.DistanceTortuosity, 0.02},
		} {
			if !(q.b > 0) || math.Abs(q.a-q.b) > q.tol*q.b {
				t.Errorf("%s %s: %.5g, the true tree's %.5g (±%.0f%%)", tc.name, q.name, q.a, q.b, 100*q.tol)
			}
		}
	}
	// Without the crossings counted in both trees, each tree would lose the
	// pixels where the other crosses it.
	both := 0
	for i := range m.ArteryMask.Pix {
		if m.ArteryMask.Pix[i] != 0 && m.VeinMask.Pix[i] != 0 {
			both++
		}
	}
	if both == 0 {
		t.Error("no pixel is in both trees, although synth's arteries and veins cross")
	}
}

func TestMeasureAVErrors(t *testing.T) {
	mask := image.NewGray(image.Rect(0, 0, 64, 64))
	bad := NewAVMap(64, 64)
	bad.Pix[7] = 9
	tests := []struct {
		name string
		av   *AVMap
		want string
	}{
		{"nil map", nil, "nil A/V map"},
		{"size", NewAVMap(32, 64), "does not match mask"},
		{"short", &AVMap{W: 64, H: 64, Pix: make([]AVLabel, 10)}, "has 10 labels"},
		{"label", bad, "unknown label"},
		{"confidences", &AVMap{W: 64, H: 64, Pix: make([]AVLabel, 64*64), Conf: make([]float32, 10)}, "has 10 confidences"},
		{"confidence range", &AVMap{W: 64, H: 64, Pix: make([]AVLabel, 64*64), Conf: append(make([]float32, 64*64-1), 1.5)}, "outside 0..1"},
	}
	for _, tc := range tests {
		if _, err := MeasureAV(mask, nil, tc.av, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// An empty mask is no error: every tree measures zero.
	m, err := MeasureAV(mask, nil, NewAVMap(64, 64), Options{})
	if err != nil || m.Artery.VesselAreaPx != 0 || m.Vein.VesselAreaPx != 0 {
		t.Errorf("empty mask: %v", err)
	}
}

// TestMeasureAVWeighted: on one straight vessel, 40 % of the pixels
// (every fifth column pair) say artery with confidence 0.9 and the rest
// vein with 0.05. Weighted, the artery wins by 0.92 and takes the whole
// vessel; counted (no Conf), the vein wins by 0.6, a split vote, and each
// pixel goes to its own tree.
func TestMeasureAVWeighted(t *testing.T) {
	f := vesselFundus(t, 256, 0, synth.VesselSpec{Points: []synth.Point{pt(30, 128.3), pt(226, 128.3)}, Width: 6})
	av := NewAVMap(256, 256)
	av.Conf = make([]float32, 256*256)
	arteries := 0
	for i, v := range f.VesselMask.Pix {
		if v == 0 {
			continue
		}
		av.Pix[i], av.Conf[i] = AVVein, 0.05
		if (i%256)%5 < 2 {
			av.Pix[i], av.Conf[i] = AVArtery, 0.9
			arteries++
		}
	}
	m, err := MeasureAV(f.VesselMask, f.FOVMask, av, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := m.All.VesselAreaPx
	if len(m.Labels) != 1 || m.Labels[0].Label != AVArtery || m.Labels[0].Confidence < 0.9 ||
		m.Artery.VesselAreaPx != all || m.Vein.VesselAreaPx != 0 {
		t.Fatalf("weighted: labels %+v, trees %d/%d of %d px", m.Labels, m.Artery.VesselAreaPx, m.Vein.VesselAreaPx, all)
	}
	if l := m.Labels[0]; math.Abs(l.ArteryWeight-0.9*float64(arteries)) > 1e-3 || l.ArteryVotes != arteries {
		t.Errorf("artery weight %.2f from %d votes, want %.2f", l.ArteryWeight, l.ArteryVotes, 0.9*float64(arteries))
	}
	av.Conf = nil
	if m, err = MeasureAV(f.VesselMask, f.FOVMask, av, Options{}); err != nil {
		t.Fatal(err)
	}
	if l := m.Labels[0]; l.Label != AVVein || l.Confidence >= SplitVote || m.Artery.VesselAreaPx != arteries || m.Vein.VesselAreaPx != all-arteries {
		t.Errorf("counted: label %+v, trees %d/%d, want a split vein vote and %d/%d", l, m.Artery.VesselAreaPx, m.Vein.VesselAreaPx, arteries, all-arteries)
	}
}

// TreeProfile clears the other tree's own pixels and keeps everything
// else, whatever the profile's origin.
func TestTreeProfile(t *testing.T) {
	prof := image.NewGray(image.Rect(10, 20, 14, 21))
	copy(prof.Pix, []uint8{50, 200, 210, 40})
	tree, other := image.NewGray(image.Rect(0, 0, 4, 1)), image.NewGray(image.Rect(0, 0, 4, 1))
	tree.Pix[1], other.Pix[2], other.Pix[1] = 255, 255, 255 // pixel 1 is in both: a crossing
	got := TreeProfile(prof, tree, other)
	if want := []uint8{50, 200, 0, 40}; got.Bounds() != tree.Bounds() || string(got.Pix) != string(want) {
		t.Errorf("profile %v %v, want %v at the origin", got.Bounds(), got.Pix, want)
	}
	if prof.Pix[2] != 210 {
		t.Error("TreeProfile modified its input")
	}
}
