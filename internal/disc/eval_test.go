package disc

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		errs   []float64
		radius float64
		want   ErrorStats
	}{
		{"empty", nil, 10, ErrorStats{Radius: 10}},
		{"odd count", []float64{5, 1, 30}, 10, ErrorStats{N: 3, Median: 5, Mean: 12, Radius: 10, Within: 2.0 / 3}},
		{"even count", []float64{4, 2, 8, 6}, 6, ErrorStats{N: 4, Median: 5, Mean: 5, Radius: 6, Within: 0.75}},
		{"radius is inclusive", []float64{10}, 10, ErrorStats{N: 1, Median: 10, Mean: 10, Radius: 10, Within: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.errs, tc.radius)
			if got.N != tc.want.N || got.Radius != tc.want.Radius ||
				math.Abs(got.Median-tc.want.Median) > 1e-12 || math.Abs(got.Mean-tc.want.Mean) > 1e-12 ||
				math.Abs(got.Within-tc.want.Within) > 1e-12 {
				t.Fatalf("Summarize(%v, %v) = %+v, want %+v", tc.errs, tc.radius, got, tc.want)
			}
		})
	}
}

func TestSummarizeLeavesInputAlone(t *testing.T) {
	errs := []float64{3, 1, 2}
	Summarize(errs, 1)
	if errs[0] != 3 || errs[1] != 1 || errs[2] != 2 {
		t.Fatalf("input reordered: %v", errs)
	}
}

func TestEvaluate(t *testing.T) {
	pred := []Point{{0, 0}, {10, 10}, {3, 4}}
	truth := []Point{{0, 0}, {10, 20}, {0, 0}}
	// errors 0, 10, 5 at the labels' scale; 0, 20, 10 at twice it.
	got, err := Evaluate(pred, truth, 2, 15)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 3 || got.Median != 10 || got.Mean != 10 || math.Abs(got.Within-2.0/3) > 1e-12 {
		t.Fatalf("Evaluate = %+v", got)
	}
	if _, err := Evaluate(pred, truth[:2], 1, 1); err == nil {
		t.Fatal("no error for mismatched lengths")
	}
}
