package synth

import "math"

// sampleStep is the nominal spacing of centreline samples and maxSampleGap
// the largest spacing sampleCurve leaves, as Segment promises. With 0.5 px
// edges the polyline, against which masks are exact, strays from the smooth
// spline by about 0.001 px at a 30 px radius of curvature, so finer sampling
// would buy nothing, while the cost of drawing a vessel grows with the
// number of edges.
const (
	sampleStep   = 0.4
	maxSampleGap = 0.5
)

func (p Point) add(q Point) Point      { return Point{p.X + q.X, p.Y + q.Y} }
func (p Point) sub(q Point) Point      { return Point{p.X - q.X, p.Y - q.Y} }
func (p Point) scale(s float64) Point  { return Point{p.X * s, p.Y * s} }
func dist(p, q Point) float64          { return math.Hypot(p.X-q.X, p.Y-q.Y) }
func lerp(p, q Point, t float64) Point { return Point{p.X + (q.X-p.X)*t, p.Y + (q.Y-p.Y)*t} }
func unit(p Point) Point               { return p.scale(1 / math.Hypot(p.X, p.Y)) }
func inCircle(p Point, c Circle) bool  { return dist(p, Point{c.X, c.Y}) <= c.R }
func circleCentre(c Circle) Point      { return Point{c.X, c.Y} }
func sq(v float64) float64             { return v * v }
func clamp01(v float64) float64        { return math.Max(0, math.Min(1, v)) }

// logistic is a smooth step from 0 to 1 with its half level at s = 0.
func logistic(s, width float64) float64 { return 1 / (1 + math.Exp(-s/width)) }

// rotate turns p by a radians (clockwise on screen, as y points down).
func rotate(p Point, a float64) Point {
	s, c := math.Sincos(a)
	return Point{c*p.X - s*p.Y, s*p.X + c*p.Y}
}

// dedupe drops consecutive duplicate points, which would give the spline
// zero-length knot intervals.
func dedupe(pts []Point) []Point {
	out := make([]Point, 0, len(pts))
	for _, p := range pts {
		if len(out) == 0 || dist(out[len(out)-1], p) > 1e-9 {
			out = append(out, p)
		}
	}
	return out
}

// crSpan is one span, P1 to P2, of a centripetal Catmull-Rom spline.
// Centripetal parametrisation (alpha = 1/2) is used because, unlike the
// uniform one, it never forms cusps or self-intersections within a span, so
// a vessel drawn through reasonable points stays a simple curve.
type crSpan struct {
	p          [4]Point
	k1, k2, k3 float64 // knots of P1, P2, P3; P0's knot is 0
}

func newCRSpan(p0, p1, p2, p3 Point) crSpan {
	s := crSpan{p: [4]Point{p0, p1, p2, p3}}
	s.k1 = math.Sqrt(dist(p0, p1))
	s.k2 = s.k1 + math.Sqrt(dist(p1, p2))
	s.k3 = s.k2 + math.Sqrt(dist(p2, p3))
	return s
}

// at evaluates the span at u in [0, 1] (u=0 is P1, u=1 is P2) with the
// Barry-Goldman pyramid.
func (s crSpan) at(u float64) Point {
	k1, k2, k3 := s.k1, s.k2, s.k3
	t := k1 + u*(k2-k1)
	a1 := lerp(s.p[0], s.p[1], t/k1)
	a2 := lerp(s.p[1], s.p[2], (t-k1)/(k2-k1))
	a3 := lerp(s.p[2], s.p[3], (t-k2)/(k3-k2))
	b1 := lerp(a1, a2, t/k2)
	b2 := lerp(a2, a3, (t-k1)/(k3-k1))
	return lerp(b1, b2, (t-k1)/(k2-k1))
}

// sampleCurve returns the spline through pts sampled at most maxSampleGap
// apart, starting and ending exactly at the first and last points. The end
// spans need a phantom point beyond each end: see phantom. Two points give
// an exact straight line.
func sampleCurve(pts []Point) []Point {
	pts = dedupe(pts)
	n := len(pts)
	if n < 2 {
		return pts
	}
	ext := make([]Point, 0, n+2)
	if n == 2 {
		ext = append(ext, pts[0].scale(2).sub(pts[1]))
		ext = append(ext, pts...)
		ext = append(ext, pts[1].scale(2).sub(pts[0]))
	} else {
		ext = append(ext, phantom(pts[0], pts[1], pts[2]))
		ext = append(ext, pts...)
		ext = append(ext, phantom(pts[n-1], pts[n-2], pts[n-3]))
	}

	out := []Point{pts[0]}
	for i := 0; i < n-1; i++ {
		span := newCRSpan(ext[i], ext[i+1], ext[i+2], ext[i+3])
		// The spline's speed varies along a span, so place samples at equal
		// arc length, read off a fine table of the span, rather than at
		// equal parameter steps; refine catches any remaining long gap.
		fine := max(16, int(math.Ceil(dist(pts[i], pts[i+1]))))
		us := make([]float64, fine+1)
		cum := make([]float64, fine+1)
		prev := pts[i]
		for k := 1; k <= fine; k++ {
			us[k] = float64(k) / float64(fine)
			p := span.at(us[k])
			cum[k] = cum[k-1] + dist(prev, p)
			prev = p
		}
		total := cum[fine]
		steps := max(1, int(math.Ceil(total/sampleStep)))
		u0, p0, k := 0.0, pts[i], 1
		for j := 1; j <= steps; j++ {
			u, p := 1.0, pts[i+1] // exact at the control point, free of rounding
			if j < steps {
				target := total * float64(j) / float64(steps)
				for cum[k] < target {
					k++
				}
				u = us[k-1] + (us[k]-us[k-1])*(target-cum[k-1])/(cum[k]-cum[k-1])
				p = span.at(u)
			}
			out = refine(out, span, u0, p0, u, p, 0)
			u0, p0 = u, p
		}
	}
	return out
}

// phantom returns the point beyond the end a of a curve a, b, c, … that
// continues the circle through a, b and c by the arc from a to b, so that
// control points taken from a circular arc give a spline that follows the
// arc to its very ends (plain reflection, 2a-b, bends the end spans inwards
// by up to half a pixel on a typical arc). It is the mirror image of b in
// the circle's normal at a, so it is never farther from a than b is, and
// for collinear points it reduces to 2a-b.
func phantom(a, b, c Point) Point {
	u, v := b.sub(a), c.sub(a)
	uu, vv := u.X*u.X+u.Y*u.Y, v.X*v.X+v.Y*v.Y
	if vv < 1e-18 {
		return a.sub(u)
	}
	// Inversion about a maps the circle to a line parallel to its tangent
	// at a, through the images of b and c; this also covers collinear points.
	tan := u.scale(1 / uu).sub(v.scale(1 / vv))
	l := math.Hypot(tan.X, tan.Y)
	if l == 0 || !finitePoint(tan) {
		return a.sub(u)
	}
	nrm := Point{-tan.Y / l, tan.X / l}
	return a.add(nrm.scale(2 * (u.X*nrm.X + u.Y*nrm.Y))).sub(u)
}

// refine appends p1 to out after first bisecting the parameter interval
// wherever the span moves faster than its chord suggested, so no gap
// exceeds maxSampleGap.
func refine(out []Point, s crSpan, u0 float64, p0 Point, u1 float64, p1 Point, depth int) []Point {
	if depth < 30 && dist(p0, p1) > maxSampleGap {
		um := (u0 + u1) / 2
		pm := s.at(um)
		out = refine(out, s, u0, p0, um, pm, depth+1)
		return refine(out, s, um, pm, u1, p1, depth+1)
	}
	return append(out, p1)
}

// polylineLength is the summed length of the polyline's edges.
func polylineLength(pts []Point) float64 {
	var l float64
	for i := 1; i < len(pts); i++ {
		l += dist(pts[i-1], pts[i])
	}
	return l
}

// edge is a polyline edge prepared for repeated point-to-segment distance
// queries, the innermost loop of vessel drawing.
type edge struct {
	a      Point
	dx, dy float64 // b - a
	inv    float64 // 1/|b-a|², or 0 for a degenerate edge
}

func newEdge(a, b Point) edge {
	e := edge{a: a, dx: b.X - a.X, dy: b.Y - a.Y}
	if l2 := e.dx*e.dx + e.dy*e.dy; l2 > 0 {
		e.inv = 1 / l2
	}
	return e
}

// dist2 is the exact squared distance from (px, py) to the segment.
func (e edge) dist2(px, py float64) float64 {
	px, py = px-e.a.X, py-e.a.Y
	// Clamp with branches: math.Max/Min handle NaN and ±0 and are slower.
	t := (px*e.dx + py*e.dy) * e.inv
	if t < 0 {
		t = 0
	} else if t > 1 {
		t = 1
	}
	ex, ey := px-t*e.dx, py-t*e.dy
	return ex*ex + ey*ey
}

// pointAtFraction returns the point at fraction f of the polyline's arc
// length and the unit tangent there.
func pointAtFraction(pts []Point, f float64) (Point, Point) {
	target := clamp01(f) * polylineLength(pts)
	var acc float64
	for i := 1; i < len(pts); i++ {
		d := dist(pts[i-1], pts[i])
		if acc+d >= target && d > 0 {
			return lerp(pts[i-1], pts[i], (target-acc)/d), unit(pts[i].sub(pts[i-1]))
		}
		acc += d
	}
	last := len(pts) - 1
	return pts[last], unit(pts[last].sub(pts[last-1]))
}
