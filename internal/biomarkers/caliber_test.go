package biomarkers

import (
	"math"
	"strings"
	"testing"
)

// The expected values were computed by hand, round by round, as in the
// comments (largest paired with smallest, odd middle carried, re-sorted).
func TestSummaries(t *testing.T) {
	six := []float64{60, 100, 80, 50, 90, 70}
	five := []float64{150, 110, 140, 120, 130}
	seven := []float64{200, 190, 180, 170, 160, 150, 140} // 140 is dropped
	tests := []struct {
		name  string
		fn    func([]float64) (float64, error)
		in    []float64
		want  float64
		steps string
	}{
		{"Knudtson CRAE six", CRAEKnudtson, six, 134.421921491471,
			"r1: .88√(100²+50²)=98.3870 .88√(90²+60²)=95.1866 .88√(80²+70²)=93.5453; " +
				"r2: .88√(98.3870²+93.5453²)=119.4686, carry 95.1866; r3: .88√(119.4686²+95.1866²)"},
		{"Knudtson CRAE five", CRAEKnudtson, five, 215.85382838098192,
			"r1: .88√(150²+110²)=163.6895 .88√(140²+120²)=162.2640, carry 130; " +
				"r2: .88√(163.6895²+130²)=183.9479, carry 162.2640; r3: .88√(183.9479²+162.2640²)"},
		{"Knudtson CRAE seven", CRAEKnudtson, seven, 307.3994626798479, "six widest: 150..200"},
		{"Knudtson CRVE six", CRVEKnudtson, six, 164.39254886361178, "as CRAE with 0.95"},
		{"Knudtson CRVE five", CRVEKnudtson, five, 258.6359362900388, "as CRAE with 0.95"},
		{"Knudtson CRVE seven", CRVEKnudtson, seven, 375.8449303693945, "six widest"},
		{"Hubbard CRAE six", CRAEHubbard, six, 152.66834158978426,
			"r1: √(.87·50²+1.01·100²−.22·50·100−10.76)=105.6610 …"},
		{"Hubbard CRAE five", CRAEHubbard, five, 239.89130583120573, ""},
		{"Hubbard CRAE seven", CRAEHubbard, seven, 343.8173647615202, ""},
		{"Hubbard CRVE six", CRVEHubbard, six, 155.49363673475514,
			"r1: √(.72·50²+.91·100²+450.05)=106.5366 …"},
		{"Hubbard CRVE five", CRVEHubbard, five, 238.9682669414498, ""},
		{"Hubbard CRVE seven", CRVEHubbard, seven, 339.53546068857077, ""},
	}
	for _, tc := range tests {
		got, err := tc.fn(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s = %.10f, want %.10f (%s)", tc.name, got, tc.want, tc.steps)
		}
	}
}

func TestCombiners(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"Knudtson artery", KnudtsonArteriole(100, 50), 0.88 * math.Sqrt(12500)},
		{"Knudtson vein", KnudtsonVenule(90, 60), 0.95 * math.Sqrt(11700)},
		// Wa is the narrower branch whatever the argument order.
		{"Hubbard artery", HubbardArteriole(100, 50), math.Sqrt(0.87*2500 + 1.01*10000 - 0.22*5000 - 10.76)},
		{"Hubbard artery swapped", HubbardArteriole(50, 100), math.Sqrt(0.87*2500 + 1.01*10000 - 0.22*5000 - 10.76)},
		{"Hubbard vein", HubbardVenule(100, 50), math.Sqrt(0.72*2500 + 0.91*10000 + 450.05)},
	}
	for _, tc := range tests {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestSummarizeEdges(t *testing.T) {
	if got, err := CRAEKnudtson([]float64{42}); err != nil || got != 42 {
		t.Errorf("one vessel: %v, %v; want 42", got, err)
	}
	if got, _ := Summarize([]float64{3, 4}, 0, func(a, b float64) float64 { return math.Hypot(a, b) }); got != 5 {
		t.Errorf("custom combiner: %v, want 5", got)
	}
	for _, tc := range []struct {
		name string
		in   []float64
		want string
	}{
		{"empty", nil, "no widths"},
		{"zero", []float64{10, 0}, "width 1"},
		{"NaN", []float64{math.NaN()}, "width 0"},
		{"Inf", []float64{math.Inf(1)}, "width 0"},
	} {
		if _, err := CRAEKnudtson(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// Below ~3.5 µm the arteriolar radicand is negative.
	if _, err := CRAEHubbard([]float64{1, 1}); err == nil {
		t.Error("Hubbard on 1 µm widths: want an error")
	}
	avr, err := AVR(150, 200)
	if err != nil || avr != 0.75 {
		t.Errorf("AVR = %v, %v; want 0.75", avr, err)
	}
	if _, err := AVR(150, 0); err == nil {
		t.Error("AVR with CRVE 0: want an error")
	}
}
