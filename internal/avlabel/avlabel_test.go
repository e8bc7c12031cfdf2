package avlabel

import (
	"math/rand/v2"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// cross is a 5-px wide horizontal artery crossing a 5-px wide vertical vein
// in an n×n image, each pixel's label flipped with probability flip and
// given a random confidence. It returns the labels and each pixel's true
// class (the crossing square counts as artery).
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
			if rng.Float64() < flip {
				px.Class[i] = vessels.Artery + vessels.Vein - truth[i]
			}
			px.Confidence[i] = rng.Float32()
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
	if len(r.Segments) < 4 {
		t.Fatalf("%d segments, want the 4 arms of the cross", len(r.Segments))
	}
	arms := 0
	for si, s := range r.Graph.Segments {
		a, b := s.Points[0], s.Points[len(s.Points)-1]
		dx, dy := abs(a.X-b.X), abs(a.Y-b.Y)
		if max(dx, dy) < 15 {
			continue // a stub between two branch points at the crossing
		}
		arms++
		want := vessels.Vein
		if dx > dy {
			want = vessels.Artery
		}
		if got := r.Segments[si]; got.Class != want || got.Confidence <= 0.5 || got.Confidence > 1 {
			t.Errorf("segment %d (%v to %v): %v with confidence %.3f, want %v", si, a, b, got.Class, got.Confidence, want)
		}
	}
	if arms != 4 {
		t.Fatalf("%d long segments, want 4 arms", arms)
	}
	// Away from the crossing every pixel now has its arm's true label.
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
			if max(abs(x-c), abs(y-c)) > 8 && r.Labels.Class[i] != truth[i] {
				t.Errorf("pixel (%d,%d): %v, want %v", x, y, r.Labels.Class[i], truth[i])
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

// A few confident pixels outvote many unsure ones.
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
	if s.Class != vessels.Artery || s.Pixels != w*h {
		t.Fatalf("got %+v, want artery owning all %d pixels", s, w*h)
	}
	for i, c := range r.Labels.Class {
		if c != vessels.Artery {
			t.Fatalf("pixel %d: %v", i, c)
		}
	}
	// With no confidence at all the pixels count one each.
	for i := range px.Confidence {
		px.Confidence[i] = 0
	}
	if r, _ = Consistent(px); r.Segments[0].Class != vessels.Vein {
		t.Fatalf("unweighted vote: %v, want vein", r.Segments[0].Class)
	}
}

func TestConsistentRejectsBadLabels(t *testing.T) {
	if _, err := Consistent(&vessels.AVLabels{Width: 3, Height: 3, Class: make([]vessels.AVClass, 8), Confidence: make([]float32, 9)}); err == nil {
		t.Fatal("no error for 8 labels on a 3x3 map")
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
