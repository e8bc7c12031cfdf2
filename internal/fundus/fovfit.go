package fundus

import (
	"math"
	"slices"
)

// circle is a circle in grey-image coordinates.
type circle struct{ x, y, r float64 }

// fitFOVCircle fits the field-of-view circle to the valid ends of the row
// and column spans. The start comes from the widest rows (or, if every row
// touches the side borders, the widest columns): that estimate is immune to
// a disc cropped at top and bottom, which is exactly where a bounding box or
// an unweighted fit over all points goes wrong. A trimmed geometric fit then
// refines it, dropping points that are not on the circle (notches, glare,
// flat cuts, noise).
func fitFOVCircle(rows, cols []span) (circle, bool) {
	var pts []pt
	for _, s := range rows {
		if s.loOK {
			pts = append(pts, pt{s.lo, s.at})
		}
		if s.hiOK {
			pts = append(pts, pt{s.hi, s.at})
		}
	}
	for _, s := range cols {
		if s.loOK {
			pts = append(pts, pt{s.at, s.lo})
		}
		if s.hiOK {
			pts = append(pts, pt{s.at, s.hi})
		}
	}
	start, ok := widestSpanCircle(rows, false)
	if !ok {
		start, ok = widestSpanCircle(cols, true)
	}
	if !ok {
		start, ok = kasaFit(pts)
	}
	if !ok {
		return circle{}, false
	}
	return trimmedFit(pts, start)
}

// pt is a boundary point in grey-image continuous coordinates.
type pt struct{ x, y float64 }

// widestSpanCircle estimates the circle from the widest spans with both ends
// on the circle: their width is the diameter, their midpoints give the centre
// across the spans, and their positions give it along them.
func widestSpanCircle(spans []span, vertical bool) (circle, bool) {
	var widths []float64
	for _, s := range spans {
		if s.loOK && s.hiOK {
			widths = append(widths, s.hi-s.lo)
		}
	}
	if len(widths) < 8 {
		return circle{}, false
	}
	slices.Sort(widths)
	// Skip the widest 2%: one row widened by a reflection or burnt-in text
	// must not set the diameter.
	w0 := widths[len(widths)-1-len(widths)/50]
	var mids []float64
	var sumAt float64
	for _, s := range spans {
		if s.loOK && s.hiOK && s.hi-s.lo >= 0.98*w0 {
			mids = append(mids, (s.lo+s.hi)/2)
			sumAt += s.at
		}
	}
	across, along := median(mids), sumAt/float64(len(mids))
	if vertical {
		return circle{along, across, w0 / 2}, true
	}
	return circle{across, along, w0 / 2}, true
}

// trimmedFit alternates between keeping the points within three robust
// standard deviations of the current circle and refitting to them.
func trimmedFit(pts []pt, c circle) (circle, bool) {
	const minPoints = 12
	res := make([]float64, len(pts))
	var in []pt
	for range 10 {
		for i, p := range pts {
			res[i] = math.Abs(math.Hypot(p.x-c.x, p.y-c.y) - c.r)
		}
		// 1.4826*MAD estimates the standard deviation; the floor keeps
		// perfectly clean synthetic edges from trimming everything.
		limit := max(3*1.4826*median(slices.Clone(res)), 0.5)
		in = in[:0]
		for i, p := range pts {
			if res[i] <= limit {
				in = append(in, p)
			}
		}
		if len(in) < minPoints {
			return circle{}, false
		}
		next, ok := geometricFit(in, c)
		if !ok {
			return circle{}, false
		}
		moved := math.Abs(next.x-c.x) + math.Abs(next.y-c.y) + math.Abs(next.r-c.r)
		c = next
		if moved < 1e-3 {
			break
		}
	}
	return c, true
}

// kasaFit is the algebraic least-squares circle (Kasa): linear, needs no
// start, slightly biased on short arcs, so it only seeds geometricFit.
func kasaFit(pts []pt) (circle, bool) {
	if len(pts) < 3 {
		return circle{}, false
	}
	var mx, my float64
	for _, p := range pts {
		mx += p.x
		my += p.y
	}
	mx /= float64(len(pts))
	my /= float64(len(pts))
	var a [3][3]float64
	var b [3]float64
	for _, p := range pts {
		u, v := p.x-mx, p.y-my
		z := u*u + v*v
		row := [3]float64{u, v, 1}
		for i := range 3 {
			for j := range 3 {
				a[i][j] += row[i] * row[j]
			}
			b[i] -= row[i] * z
		}
	}
	s, ok := solve3(a, b)
	if !ok {
		return circle{}, false
	}
	r2 := s[0]*s[0]/4 + s[1]*s[1]/4 - s[2]
	c := circle{mx - s[0]/2, my - s[1]/2, math.Sqrt(r2)}
	return c, r2 > 0 && finite(c)
}

// geometricFit minimises the sum of squared distances from the points to
// the circle by Gauss-Newton, starting from c.
func geometricFit(pts []pt, c circle) (circle, bool) {
	for range 20 {
		var a [3][3]float64
		var b [3]float64
		for _, p := range pts {
			dx, dy := p.x-c.x, p.y-c.y
			d := math.Hypot(dx, dy)
			if d == 0 {
				continue
			}
			// Residual d - r; its gradient with respect to (x, y, r).
			j := [3]float64{-dx / d, -dy / d, -1}
			e := d - c.r
			for i := range 3 {
				for k := range 3 {
					a[i][k] += j[i] * j[k]
				}
				b[i] -= j[i] * e
			}
		}
		step, ok := solve3(a, b)
		if !ok {
			return circle{}, false
		}
		c = circle{c.x + step[0], c.y + step[1], c.r + step[2]}
		if !finite(c) || c.r <= 0 {
			return circle{}, false
		}
		if math.Abs(step[0])+math.Abs(step[1])+math.Abs(step[2]) < 1e-6 {
			break
		}
	}
	return c, true
}

// solve3 solves a 3x3 linear system by Gaussian elimination with partial
// pivoting.
func solve3(a [3][3]float64, b [3]float64) ([3]float64, bool) {
	for col := range 3 {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-12 {
			return [3]float64{}, false
		}
		a[col], a[p] = a[p], a[col]
		b[col], b[p] = b[p], b[col]
		for r := col + 1; r < 3; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < 3; k++ {
				a[r][k] -= f * a[col][k]
			}
			b[r] -= f * b[col]
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < 3; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

func finite(c circle) bool {
	for _, v := range [3]float64{c.x, c.y, c.r} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// median sorts s in place and returns its middle value.
func median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return s[len(s)/2]
}
