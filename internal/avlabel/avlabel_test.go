package avlabel

import (
	"math/rand/v2"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// cross is a 5-px wide horizontal artery crossing a 5-px wide vertical vein
// in an n×n image, each pixel's label flipped with probability flip. As a
// model's errors are its unsure pixels, a flipped pixel's confidence is
// drawn from 0-0.2 and a right one's from 0.2-1. It returns the labels and
// each pixel's true class (the crossing square counts as artery).
func cross(n int, flip float64, rng *rand.Rand) (*vessels.AVLabels, []vessels.AVClass) {
	px := &vessels.AVLabels{Width: n, Height: n, Class: make([]vessels.AVClass, n*n), Confidence: make([]float32, n*n)}
	truth := make([]vessels.AVClass, n*n)
	c := n / 2
	for y := 4; y < n-4; y++ {
		for x := 4; x < n-4; x++ {
			horiz, vert := y >= c-2 && y <= c+2, x >= c-2 && x <= c+2
			if !horiz && !vert {
				continue
			}
			i := y*n + x
			truth[i] = vessels.Vein
			if horiz {
				truth[i] = vessels.Artery
			}
			px.Class[i] = truth[i]
			px.Confidence[i] = 0.2 + 0.8*rng.Float32()
			if rng.Float64() < flip {
				px.Class[i] = vessels.Artery + vessels.Vein - truth[i]
				px.Confidence[i] = 0.2 * rng.Float32()
			}
		}
	}
	return px, truth
}

func TestConsistentCrossingLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 80
	px, truth := cross(n, 0.35, rng)
	wrongBefore := 0
	for i := range truth {
		if truth[i] != vessels.NotVessel && px.Class[i] != truth[i] {
			wrongBefore++
		}
	}
	if wrongBefore < 150 {
		t.Fatalf("only %d noisy pixels: the test does not test", wrongBefore)
	}
	r, err := Consistent(px)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Segments) < 4 || len(r.Segments) != len(r.Graph.Segments) {
		t.Fatalf("%d segments (graph %d), want the 4 arms of the cross", len(r.Segments), len(r.Graph.Segments))
	}
	arms := 0
	for si, s := range r.Graph.Segments {
		a, b := s.Points[0], s.Points[len(s.Points)-1]
		dx, dy := abs(a.X-b.X), abs(a.Y-b.Y)
		if max(dx, dy) < 15 {
			continue // a stub between two branch points at the crossing
		}
		arms++
		want := biomarkers.AVVein
		if dx > dy {
			want = biomarkers.AVArtery
		}
		if got := r.Segments[si]; got.Label != want || got.Confidence < biomarkers.SplitVote || got.Confidence > 1 {
			t.Errorf("segment %d (%v to %v): %v with confidence %.3f, want %v above %v", si, a, b, got.Label, got.Confidence, want, biomarkers.SplitVote)
		}
	}
	if arms != 4 {
		t.Fatalf("%d long segments, want 4 arms", arms)
	}
	// Away from the crossing every pixel now has its arm's true label, with
	// the arm's vote margin as confidence.
	c := n / 2
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			i := y*n + x
			if truth[i] == vessels.NotVessel {
				if r.Labels.Class[i] != vessels.NotVessel {
					t.Fatalf("background pixel (%d,%d) labelled %v", x, y, r.Labels.Class[i])
				}
				continue
			}
			if max(abs(x-c), abs(y-c)) <= 8 {
				continue
			}
			if r.Labels.Class[i] != truth[i] {
				t.Errorf("pixel (%d,%d): %v, want %v", x, y, r.Labels.Class[i], truth[i])
			}
			if s := r.Segments[r.Owner[i]]; r.Labels.Confidence[i] != float32(2*s.Confidence-1) {
				t.Errorf("pixel (%d,%d): confidence %v, want its segment's margin %v", x, y, r.Labels.Confidence[i], 2*s.Confidence-1)
			}
		}
	}
	// The input is left alone.
	wrongAfter := 0
	for i := range truth {
		if truth[i] != vessels.NotVessel && px.Class[i] != truth[i] {
			wrongAfter++
		}
	}
	if wrongAfter != wrongBefore {
		t.Fatal("Consistent modified its input")
	}
}

// A few confident pixels outvote many unsure ones; without confidences the
// pixels count one each, and a vote that close is a split: every pixel
// keeps its own label.
func TestConsistentWeightsByConfidence(t *testing.T) {
	const w, h = 40, 3
	px := &vessels.AVLabels{Width: w, Height: h, Class: make([]vessels.AVClass, w*h), Confidence: make([]float32, w*h)}
	for i := range px.Class {
		px.Class[i], px.Confidence[i] = vessels.Vein, 0.05
		if i%5 < 2 { // 40% artery
			px.Class[i], px.Confidence[i] = vessels.Artery, 0.9
		}
	}
	r, err := Consistent(px)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Segments) != 1 {
		t.Fatalf("%d segments, want 1", len(r.Segments))
	}
	s := r.Segments[0]
	if s.Label != biomarkers.AVArtery || s.Pixels != w*h || s.ArteryVotes != 48 || s.VeinVotes != 72 {
		t.Fatalf("got %+v, want artery owning all %d pixels", s, w*h)
	}
	for i, c := range r.Labels.Class {
		if c != vessels.Artery {
			t.Fatalf("pixel %d: %v", i, c)
		}
	}
	for i := range px.Confidence {
		px.Confidence[i] = 0
	}
	if r, _ = Consistent(px); r.Segments[0].Label != biomarkers.AVVein || r.Segments[0].Confidence != 0.6 {
		t.Fatalf("unweighted vote: %+v, want vein by 0.6", r.Segments[0])
	}
	for i, c := range r.Labels.Class {
		if c != px.Class[i] {
			t.Fatalf("pixel %d of a split segment: %v, want its own %v", i, c, px.Class[i])
		}
	}
}

// An artery and a vein running side by side, merged into one vessel of
// the mask, split the vote: each keeps its own pixels.
func TestConsistentMergedVessels(t *testing.T) {
	const w, h = 60, 20
	px := &vessels.AVLabels{Width: w, Height: h, Class: make([]vessels.AVClass, w*h), Confidence: make([]float32, w*h)}
	for y := 6; y < 13; y++ {
		for x := 5; x < w-5; x++ {
			i := y*w + x
			px.Class[i], px.Confidence[i] = vessels.Vein, 0.8
			if y < 10 {
				px.Class[i] = vessels.Artery
			}
		}
	}
	r, err := Consistent(px)
	if err != nil {
		t.Fatal(err)
	}
	for si, s := range r.Segments {
		if s.Confidence >= biomarkers.SplitVote && s.Pixels > 20 {
			t.Errorf("segment %d: %+v, want a split vote", si, s)
		}
	}
	for i, c := range r.Labels.Class {
		if c != px.Class[i] || r.Labels.Confidence[i] != px.Confidence[i] {
			t.Fatalf("pixel %d: %v %.2f, want its own %v %.2f", i, c, r.Labels.Confidence[i], px.Class[i], px.Confidence[i])
		}
	}
}

func TestMap(t *testing.T) {
	px := &vessels.AVLabels{Width: 3, Height: 1,
		Class:      []vessels.AVClass{vessels.Artery, vessels.NotVessel, vessels.Vein},
		Confidence: []float32{0.4, 0.9, 1.5}}
	m, err := Map(px)
	if err != nil {
		t.Fatal(err)
	}
	want := []biomarkers.AVLabel{biomarkers.AVArtery, biomarkers.AVBackground, biomarkers.AVVein}
	for i, l := range want {
		if m.Pix[i] != l {
			t.Errorf("pixel %d: %v, want %v", i, m.Pix[i], l)
		}
	}
	if m.Conf[0] != 0.4 || m.Conf[1] != 0 || m.Conf[2] != 1 {
		t.Errorf("confidences %v, want [0.4 0 1] (background none, clamped to 1)", m.Conf)
	}
}

func TestConsistentRejectsBadLabels(t *testing.T) {
	if _, err := Consistent(&vessels.AVLabels{Width: 3, Height: 3, Class: make([]vessels.AVClass, 8), Confidence: make([]float32, 9)}); err == nil {
		t.Fatal("no error for 8 labels on a 3x3 map")
	}
	if _, err := Map(&vessels.AVLabels{Width: 3, Height: 3, Class: make([]vessels.AVClass, 9), Confidence: make([]float32, 8)}); err == nil {
		t.Fatal("no error for 8 confidences on a 3x3 map")
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
