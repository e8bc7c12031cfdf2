package quality

import (
	"math"
	"slices"
)

// boxMean is the normalized convolution of v with a (2r+1)^2 box over the
// pixels where m is set: the mean of the masked neighbours, so that the
// black surround never leaks into the field near its rim. Pixels with no
// masked neighbour get 0. It runs in O(w*h) with a summed-area table.
func boxMean(v []float32, m []bool, w, h, r int) []float32 {
	W := w + 1
	sv := make([]float64, W*(h+1))
	sm := make([]float64, W*(h+1))
	for y := range h {
		var rv, rm float64
		for x := range w {
			if m[y*w+x] {
				rv += float64(v[y*w+x])
				rm++
			}
			sv[(y+1)*W+x+1] = sv[y*W+x+1] + rv
			sm[(y+1)*W+x+1] = sm[y*W+x+1] + rm
		}
	}
	out := make([]float32, w*h)
	for y := range h {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		for x := range w {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			n := sm[y1*W+x1] - sm[y0*W+x1] - sm[y1*W+x0] + sm[y0*W+x0]
			if n > 0 {
				s := sv[y1*W+x1] - sv[y0*W+x1] - sv[y1*W+x0] + sv[y0*W+x0]
				out[y*w+x] = float32(s / n)
			}
		}
	}
	return out
}

// quantile returns the q-quantile (0..1) of v by sorting a copy; NaN for
// an empty slice.
func quantile(v []float32, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s)-1)+0.5))])
}

// quantiles returns several quantiles of v with one sort.
func quantiles(v []float32, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if len(v) == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	s := slices.Clone(v)
	slices.Sort(s)
	for i, q := range qs {
		out[i] = float64(s[min(len(s)-1, int(q*float64(len(s)-1)+0.5))])
	}
	return out
}

// lag1Correlation is the correlation coefficient between horizontally and
// vertically adjacent pixels where both are in m. Photographs of anything
// are strongly correlated at one pixel (above 0.9 here); noise is not.
func lag1Correlation(v []float32, m []bool, w, h int) float64 {
	var n, sa, sb, saa, sbb, sab float64
	add := func(a, b float32) {
		x, y := float64(a), float64(b)
		n++
		sa += x
		sb += y
		saa += x * x
		sbb += y * y
		sab += x * y
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			if !m[i] {
				continue
			}
			if x+1 < w && m[i+1] {
				add(v[i], v[i+1])
			}
			if y+1 < h && m[i+w] {
				add(v[i], v[i+w])
			}
		}
	}
	if n < 16 {
		return 0
	}
	cov := sab/n - sa/n*sb/n
	va, vb := saa/n-sa/n*sa/n, sbb/n-sb/n*sb/n
	if va <= 1e-9 || vb <= 1e-9 {
		return 1 // a constant image is perfectly (and trivially) correlated
	}
	return cov / math.Sqrt(va*vb)
}

// noiseSigma estimates the standard deviation of additive white noise in
// v over the pixels whose 3x3 neighbourhood lies in m (Immerkaer 1996: the
// mean absolute response of a Laplacian-difference mask that cancels
// smooth structure, times sqrt(pi/2)/6). Edges inflate it a little; fundus
// photos at the working scale have few.
func noiseSigma(v []float32, m []bool, w, h int) float64 {
	var sum float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			if !m[i] || !m[i-w-1] || !m[i-w+1] || !m[i+w-1] || !m[i+w+1] {
				continue
			}
			c := float64(v[i-w-1]) - 2*float64(v[i-w]) + float64(v[i-w+1]) -
				2*float64(v[i-1]) + 4*float64(v[i]) - 2*float64(v[i+1]) +
				float64(v[i+w-1]) - 2*float64(v[i+w]) + float64(v[i+w+1])
			sum += math.Abs(c)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(math.Pi/2) / 6 * sum / float64(n)
}

// histQuantiles returns quantiles of values in [0, 256) (grey levels;
// others are clamped) from a histogram of 1/16-level bins: exact enough
// for thresholds, and linear in the number of values where sorting
// 100 000 of them is not.
func histQuantiles(v []float32, qs ...float64) []float64 {
	const perLevel = 16
	var hist [256 * perLevel]int32
	for _, x := range v {
		hist[int(max(0, min(x*perLevel, 256*perLevel-1)))]++
	}
	out := make([]float64, len(qs))
	for k, q := range qs {
		if len(v) == 0 {
			out[k] = math.NaN()
			continue
		}
		want := int32(min(len(v)-1, int(q*float64(len(v)-1)+0.5)))
		seen := int32(0)
		for i, c := range hist {
			seen += c
			if seen > want {
				out[k] = (float64(i) + 0.5) / perLevel
				break
			}
		}
	}
	return out
}
