package quality

import (
	"math"
)

// The grade model: two logistic regressions on the same standardized
// inputs, one for "reject" against the rest and one for "not good" (usable
// or reject) against good. Each input is oriented by hand (term.higher
// says which way is better) and its weight is constrained to push the
// grade the way that orientation says, so that a photo that gets darker,
// blurrier or hazier can only get a worse score. Inputs are capped on
// their good side at a typical good photo's value (fitted.cap): sharper
// or noisier than a typical good photo earns nothing more. The constants
// in fitted (model_fit.go) come from TestCalibrate.

// term is one model input, computed from the field measures.
type term struct {
	name   string
	higher bool // larger values mean better quality
	value  func(m *fieldMeasures) float64
	// why describes a poor value for the reasons list.
	why func(m *fieldMeasures) string
}

// gradeModel holds the fitted constants, in the order of terms.
type gradeModel struct {
	terms       []string  // names, to check against terms at init
	mean, scale []float64 // standardization
	cap         []float64 // good-side cap, in the term's units
	reject      []float64 // weights of P(reject), bias last
	notGood     []float64 // weights of P(usable or reject), bias last
	rejectAt    float64   // P(reject) above this: Reject
	notGoodAt   float64   // else P(not good) above this: Usable
}

// standardize caps x on its good side and standardizes it.
func (g *gradeModel) standardize(x []float64) []float64 {
	z := make([]float64, len(x))
	for j, v := range x {
		if terms[j].higher {
			v = min(v, g.cap[j])
		} else {
			v = max(v, g.cap[j])
		}
		z[j] = (v - g.mean[j]) / g.scale[j]
	}
	return z
}

func logistic(w, z []float64) float64 {
	s := w[len(z)]
	for j, v := range z {
		s += w[j] * v
	}
	return 1 / (1 + math.Exp(-s))
}

// predict returns P(reject), P(not good) and the grade.
func (g *gradeModel) predict(x []float64) (pReject, pNotGood float64, grade Grade) {
	z := g.standardize(x)
	pReject, pNotGood = logistic(g.reject, z), logistic(g.notGood, z)
	switch {
	case pReject > g.rejectAt:
		grade = Reject
	case pNotGood > g.notGoodAt:
		grade = Usable
	}
	return pReject, pNotGood, grade
}

// contributions are each standardized input's push towards "not good":
// positive means worse than the average calibration photo.
func (g *gradeModel) contributions(x []float64) []float64 {
	z := g.standardize(x)
	c := make([]float64, len(z))
	for j := range z {
		c[j] = g.notGood[j]*z[j] + g.reject[j]*z[j]
	}
	return c
}

// fitLogistic fits weights (bias last) to standardized rows by projected
// gradient descent on the mean log-loss plus lambda/2 |w|^2 (bias not
// penalized), keeping each weight's sign as sign[j] says (+1: weight >= 0,
// so a larger input raises the probability; -1: <= 0; 0: the input is
// left out, weight 0). Deterministic.
func fitLogistic(z [][]float64, y []bool, sign []float64, lambda float64) []float64 {
	p := len(sign)
	w := make([]float64, p+1)
	g := make([]float64, p+1)
	n := float64(len(z))
	const rate, iterations = 0.5, 4000
	for range iterations {
		clear(g)
		for i, row := range z {
			e := logistic(w, row)
			if y[i] {
				e--
			}
			for j, v := range row {
				g[j] += e * v
			}
			g[p] += e
		}
		for j := range p {
			w[j] -= rate * (g[j]/n + lambda*w[j])
			if sign[j]*w[j] <= 0 {
				w[j] = 0
			}
		}
		w[p] -= rate * g[p] / n
	}
	return w
}
