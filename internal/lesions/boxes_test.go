package lesions

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func lesion(box Rect, area, mean float64) Lesion {
	return Lesion{Kind: EX, Box: box, AreaPx: area, MeanProb: mean, MaxProb: mean}
}

// A 1000 x 500 photo whose FOV is 500 px across: the default merge gap is
// 10 px and the largest merged side 125 px.
func TestMakeBoxes(t *testing.T) {
	lesions := []Lesion{
		lesion(Rect{100, 100, 110, 110}, 100, 0.9),      // A
		lesion(Rect{115, 100, 125, 110}, 100, 0.7),      // B: 5 px from A, merged
		lesion(Rect{140.123, 100, 150.5, 110}, 100, .5), // C: 15 px from A∪B, alone
		lesion(Rect{300, 300, 400, 400}, 10000, 0.6),    // D
		lesion(Rect{405, 300, 450, 340}, 1800, 0.5),     // E: 5 px from D, but the union would be 150 wide
		lesion(Rect{310, 310, 320, 320}, 100, 0.9),      // F: inside D, merged
		lesion(Rect{600, 100, 720, 200}, 12000, 0.8),    // G
		lesion(Rect{605, 110, 735, 210}, 13000, 0.5),    // H: overlaps G (too wide to merge), 80 % of it inside G: dropped
	}
	type want struct {
		px, norm Rect
		area     float64
		objects  int
	}
	tests := []struct {
		name string
		opt  BoxOptions
		want []want
	}{
		{"defaults", BoxOptions{}, []want{
			{Rect{600, 100, 720, 200}, Rect{0.6, 0.2, 0.72, 0.4}, 12000, 1},          // G, mass 9600
			{Rect{300, 300, 400, 400}, Rect{0.3, 0.6, 0.4, 0.8}, 10100, 2},           // D∪F, 6090
			{Rect{405, 300, 450, 340}, Rect{0.405, 0.6, 0.45, 0.68}, 1800, 1},        // E, 900
			{Rect{100, 100, 125, 110}, Rect{0.1, 0.2, 0.125, 0.22}, 200, 2},          // A∪B, 160
			{Rect{140.12, 100, 150.5, 110}, Rect{0.1401, 0.2, 0.1505, 0.22}, 100, 1}, // C, 50
		}},
		{"at most 2", BoxOptions{Max: 2}, []want{
			{Rect{600, 100, 720, 200}, Rect{0.6, 0.2, 0.72, 0.4}, 12000, 1},
			{Rect{300, 300, 400, 400}, Rect{0.3, 0.6, 0.4, 0.8}, 10100, 2},
		}},
		{"no merging", BoxOptions{MergeGap: -1}, []want{
			{Rect{600, 100, 720, 200}, Rect{0.6, 0.2, 0.72, 0.4}, 12000, 1},
			{Rect{300, 300, 400, 400}, Rect{0.3, 0.6, 0.4, 0.8}, 10000, 1},
			{Rect{405, 300, 450, 340}, Rect{0.405, 0.6, 0.45, 0.68}, 1800, 1},
			{Rect{100, 100, 110, 110}, Rect{0.1, 0.2, 0.11, 0.22}, 100, 1},
			{Rect{115, 100, 125, 110}, Rect{0.115, 0.2, 0.125, 0.22}, 100, 1},
			{Rect{140.12, 100, 150.5, 110}, Rect{0.1401, 0.2, 0.1505, 0.22}, 100, 1},
			// F (inside D) is dropped as overlapping.
		}},
		{"wider gap and side: everything near merges", BoxOptions{MergeGap: 0.04, MaxMergedSide: 0.5, Max: -1}, []want{
			{Rect{600, 100, 735, 210}, Rect{0.6, 0.2, 0.735, 0.42}, 25000, 2},  // G∪H, mass 16100
			{Rect{300, 300, 450, 400}, Rect{0.3, 0.6, 0.45, 0.8}, 11900, 3},    // D∪E∪F, mass 6990
			{Rect{100, 100, 150.5, 110}, Rect{0.1, 0.2, 0.1505, 0.22}, 300, 3}, // A∪B∪C (gap 15 <= 20)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MakeBoxes(lesions, 1000, 500, 500, tc.opt)
			if len(got) != len(tc.want) {
				t.Fatalf("%d boxes, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Px != w.px || g.Norm != w.norm || !near(g.AreaPx, w.area) || g.Objects != w.objects || g.Kind != EX {
					t.Errorf("box %d: %v %v area %v objects %d, want %v %v %v %d", i, g.Px, g.Norm, g.AreaPx, g.Objects, w.px, w.norm, w.area, w.objects)
				}
			}
		})
	}
	// Merged probabilities: area-weighted mean, largest max.
	got := MakeBoxes(lesions[:2], 1000, 500, 500, BoxOptions{})
	if len(got) != 1 || !near(got[0].MeanProb, 0.8) || got[0].MaxProb != 0.9 {
		t.Errorf("merged A and B: %+v", got)
	}
	if MakeBoxes(nil, 1000, 500, 500, BoxOptions{}) != nil {
		t.Error("boxes from no lesions")
	}
}

// Merging is transitive: a chain of dots 5 px apart becomes one box.
func TestMakeBoxesChain(t *testing.T) {
	var chain []Lesion
	for i := range 6 {
		x := float64(15 * i)
		chain = append(chain, lesion(Rect{x, 0, x + 10, 10}, 100, 0.6))
	}
	got := MakeBoxes(chain, 1000, 1000, 500, BoxOptions{})
	if len(got) != 1 || got[0].Px != (Rect{0, 0, 85, 10}) || got[0].Objects != 6 {
		t.Fatalf("chain: %+v", got)
	}
}

// The limit keeps the largest and most confident.
func TestMakeBoxesLimit(t *testing.T) {
	var spots []Lesion
	for i := range 15 {
		x := float64(40 * i) // 30 px apart: never merged
		spots = append(spots, lesion(Rect{x, 0, x + 10, 10}, float64(10+i), 0.6))
	}
	for _, tc := range []struct{ max, want int }{{0, 10}, {3, 3}, {-1, 15}, {20, 15}} {
		got := MakeBoxes(spots, 1000, 1000, 500, BoxOptions{Max: tc.max})
		if len(got) != tc.want {
			t.Errorf("Max %d: %d boxes, want %d", tc.max, len(got), tc.want)
			continue
		}
		for i, b := range got {
			if b.AreaPx != float64(24-i) { // largest area first
				t.Errorf("Max %d: box %d has area %v, want %d", tc.max, i, b.AreaPx, 24-i)
			}
		}
	}
	// Same mass: the more confident peak first, then top to bottom.
	tie := []Lesion{
		{Kind: HE, Box: Rect{0, 100, 10, 110}, AreaPx: 10, MeanProb: 0.6, MaxProb: 0.7},
		{Kind: HE, Box: Rect{100, 200, 110, 210}, AreaPx: 10, MeanProb: 0.6, MaxProb: 0.9},
		{Kind: HE, Box: Rect{200, 50, 210, 60}, AreaPx: 10, MeanProb: 0.6, MaxProb: 0.7},
	}
	got := MakeBoxes(tie, 1000, 1000, 500, BoxOptions{})
	if len(got) != 3 || got[0].Px[0] != 100 || got[1].Px[0] != 200 || got[2].Px[0] != 0 {
		t.Errorf("tie order: %+v", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		px   Rect
		w, h int
		want Rect
	}{
		{Rect{0, 0, 2144, 1424}, 2144, 1424, Rect{0, 0, 1, 1}},
		{Rect{-5, -1, 2200, 1500}, 2144, 1424, Rect{0, 0, 1, 1}}, // clamped
		{Rect{1000, 500, 1400, 700}, 3000, 3000, Rect{0.3333, 0.1667, 0.4667, 0.2333}},
		// RetinalGPT's example: [0.65, 0.4513] to [0.7937, 0.5825].
		{Rect{1393.6, 642.65, 1701.7, 829.48}, 2144, 1424, Rect{0.65, 0.4513, 0.7937, 0.5825}},
		{Rect{0.04, 0.06, 1, 1}, 1000, 1000, Rect{0, 0.0001, 0.001, 0.001}}, // 0.00004 rounds down, 0.00006 up
	}
	for _, tc := range tests {
		if got := Normalize(tc.px, tc.w, tc.h); got != tc.want {
			t.Errorf("Normalize(%v, %d, %d) = %v, want %v", tc.px, tc.w, tc.h, got, tc.want)
		}
	}
	// Four decimals at most, in JSON too.
	b, _ := json.Marshal(Box{Kind: HE, Norm: Normalize(Rect{1, 1, 2, 2}, 3, 7)})
	if !strings.Contains(string(b), `"box":[0.3333,0.1429,0.6667,0.2857]`) {
		t.Errorf("JSON %s", b)
	}
}

func TestRect(t *testing.T) {
	a, b := Rect{0, 0, 10, 10}, Rect{5, 5, 15, 15}
	if a.Intersection(b) != 25 || !near(a.IoU(b), 25.0/175) || a.Gap(b) != 0 || a.Union(b) != (Rect{0, 0, 15, 15}) {
		t.Error("overlapping boxes")
	}
	c := Rect{20, 3, 30, 4}
	if a.Gap(c) != 10 || a.IoU(c) != 0 || (Rect{}).IoU(Rect{}) != 0 {
		t.Error(fmt.Sprint("gap ", a.Gap(c)))
	}
	if (Rect{0, 0, 1, 1}).Gap(Rect{4, 8, 5, 9}) != 7 { // the larger of 3 and 7
		t.Error("Chebyshev gap")
	}
}
