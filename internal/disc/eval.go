package disc

import (
	"fmt"
	"slices"
)

// ErrorStats summarizes localization errors: distances between predicted
// and true points, in the pixels the points were given in.
type ErrorStats struct {
	N      int
	Median float64
	Mean   float64
	Radius float64 // the tolerance Within was computed for
	Within float64 // share of errors <= Radius, 0..1
}

// Errors returns the distance between each predicted point and its truth.
func Errors(pred, truth []Point) ([]float64, error) {
	if len(pred) != len(truth) {
		return nil, fmt.Errorf("localization errors: %d predictions for %d true points", len(pred), len(truth))
	}
	out := make([]float64, len(pred))
	for i := range pred {
		out[i] = Distance(pred[i], truth[i])
	}
	return out, nil
}

// Summarize returns the median, mean and share within radius of errs
// (median of an even count: the mean of the two middle values). It returns
// the zero ErrorStats, with Radius set, for no errors.
func Summarize(errs []float64, radius float64) ErrorStats {
	s := ErrorStats{N: len(errs), Radius: radius}
	if len(errs) == 0 {
		return s
	}
	sorted := slices.Clone(errs)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	var sum float64
	within := 0
	for _, e := range sorted {
		sum += e
		if e <= radius {
			within++
		}
	}
	s.Mean = sum / float64(n)
	s.Within = float64(within) / float64(n)
	return s
}

// Evaluate is Errors followed by Summarize. scale multiplies every error
// first: IDRiD's labels are given on images halved from the 4288-pixel
// originals, and errors are reported at the original width with scale 2.
func Evaluate(pred, truth []Point, scale, radius float64) (ErrorStats, error) {
	errs, err := Errors(pred, truth)
	if err != nil {
		return ErrorStats{}, err
	}
	for i := range errs {
		errs[i] *= scale
	}
	return Summarize(errs, radius), nil
}
