package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		in   []Scored
		want float64
	}{
		{"perfect", []Scored{{0.1, false}, {0.2, false}, {0.8, true}, {0.9, true}}, 1},
		{"inverted", []Scored{{0.9, false}, {0.8, false}, {0.2, true}, {0.1, true}}, 0},
		{"all tied", []Scored{{0.5, false}, {0.5, true}, {0.5, false}, {0.5, true}}, 0.5},
		// pairs (pos,neg): (0.4 vs 0.2)=1 (0.4 vs 0.6)=0 (0.8 vs 0.2)=1 (0.8 vs 0.6)=1 -> 3/4
		{"mixed", []Scored{{0.2, false}, {0.4, true}, {0.6, false}, {0.8, true}}, 0.75},
		// one tie between a positive and a negative counts one half: (0.5 vs 0.5)=.5 (0.5 vs 0.1)=1 -> .75
		{"tie half", []Scored{{0.5, true}, {0.5, false}, {0.1, false}}, 0.75},
		{"no negatives", []Scored{{0.5, true}}, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AUC(tc.in)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
				t.Fatalf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

// The rank formula must agree with counting every positive-negative pair.
func TestAUCMatchesPairCount(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := make([]Scored, 300)
	for i := range s {
		truth := r.IntN(3) == 0
		score := float32(r.IntN(20)) / 20 // many ties
		if truth {
			score += 0.1
		}
		s[i] = Scored{score, truth}
	}
	var wins float64
	var pairs int
	for _, p := range s {
		for _, n := range s {
			if p.Truth && !n.Truth {
				pairs++
				switch {
				case p.Score > n.Score:
					wins++
				case p.Score == n.Score:
					wins += 0.5
				}
			}
		}
	}
	want := wins / float64(pairs)
	if got := AUC(append([]Scored(nil), s...)); math.Abs(got-want) > 1e-12 {
		t.Fatalf("AUC = %v, pair count gives %v", got, want)
	}
}

func TestBinaryScores(t *testing.T) {
	var b Binary
	for _, c := range []struct{ pred, truth bool }{{true, true}, {true, true}, {true, false}, {false, true}, {false, false}, {false, false}, {false, false}} {
		b.Add(c.pred, c.truth)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"F1", b.F1(), 4.0 / 6},
		{"accuracy", b.Accuracy(), 5.0 / 7},
		{"sensitivity", b.Sensitivity(), 2.0 / 3},
		{"specificity", b.Specificity(), 3.0 / 4},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN((Binary{}).F1()) {
		t.Error("F1 of an empty matrix should be NaN")
	}
}
