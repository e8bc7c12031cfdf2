package synth

import (
	"math"
	"math/rand/v2"
)

// Default tree geometry is laid out in disc radii relative to the disc
// centre, with x positive towards the fovea (temporal) and y positive
// downwards for the inferior half (mirrored for the superior half). Tying it
// to the disc keeps the anatomy proportionate whatever the image size.
//
// The arcades leave the disc vertically and arch temporally around the
// macula about two disc diameters from the fovea, the vein outside the
// artery, as in a real posterior pole. The nasal vessels are short because
// the default disc sits close to the nasal edge of the field of view.
func table(nasal bool, kind VesselKind) [][2]float64 {
	// A function rather than package variables keeps the tables immutable.
	switch {
	case !nasal && kind == Artery:
		return [][2]float64{{0.15, 0.05}, {0.45, 1.4}, {1.4, 2.7}, {3.0, 3.4}, {5.0, 3.5}, {6.8, 3.1}, {8.2, 2.5}}
	case !nasal:
		return [][2]float64{{-0.1, 0.05}, {0.2, 1.5}, {1.1, 3.0}, {2.9, 3.95}, {5.0, 4.1}, {7.0, 3.6}, {8.5, 2.9}}
	case kind == Artery:
		return [][2]float64{{-0.05, 0.1}, {-0.4, 1.1}, {-0.8, 2.0}, {-0.9, 2.8}}
	default:
		return [][2]float64{{-0.25, 0.05}, {-0.9, 0.7}, {-1.2, 1.25}, {-1.35, 1.8}}
	}
}

// Default widths in disc radii. A disc diameter is ~1.8 mm and the main
// veins near the disc ~125 µm, but fundus images blur vessels wider than
// that; these values match the ~7-8 px main vessels of a 565 px DRIVE image.
const (
	arteryWidth    = 0.15
	veinWidth      = 0.20
	nasalWidthFrac = 0.75 // nasal vessels relative to the arcades
	branchFrac     = 0.65 // branches relative to their parent
	minWidthPx     = 1.0  // below a pixel the mask stops being a connected line
	jitterSD       = 0.12 // control-point jitter, disc radii
	fovMargin      = 0.92 // default vessels stay within this fraction of the FOV
)

// defaultTree builds the default vessel tree: the four temporal arcades
// (superior artery, superior vein, inferior artery, inferior vein), then four
// shorter nasal vessels in the same order, then two branches per arcade (one
// towards the macula, one towards the periphery) in arcade order. Control
// points are jittered by rng so different seeds give different trees.
// Vessels that would leave the field of view are cut short, so with a
// default-sized FOV the result has 16 segments lying wholly inside it.
func defaultTree(r *resolved, rng *rand.Rand) []VesselSpec {
	R := r.disc.R
	disc := circleCentre(r.disc)
	at := func(x, y float64) Point { return Point{disc.X + r.temporal*x*R, disc.Y + y*R} }
	inner := Circle{r.fov.X, r.fov.Y, fovMargin * r.fov.R}
	margin := 0.02 * float64(r.size)
	allowed := func(p Point) bool {
		return inCircle(p, inner) && p.X >= margin && p.Y >= margin &&
			p.X <= float64(r.size)-margin && p.Y <= float64(r.size)-margin
	}
	width := func(w float64) float64 { return math.Max(minWidthPx, w*R) }

	// trace turns a table into control points, mirrored by v (-1 superior,
	// +1 inferior) and stretched vertically by s, stopping at the first
	// point outside the allowed region. The first point, inside the disc,
	// is not jittered so every vessel emerges from the disc.
	trace := func(tab [][2]float64, v, s float64) []Point {
		pts := make([]Point, 0, len(tab))
		for i, q := range tab {
			x, y := q[0], q[1]*v*s
			if i > 0 {
				x += rng.NormFloat64() * jitterSD
				y += rng.NormFloat64() * jitterSD
			}
			p := at(x, y)
			if !allowed(p) {
				break
			}
			pts = append(pts, p)
		}
		return pts
	}

	var out []VesselSpec
	add := func(kind VesselKind, pts []Point, w float64) {
		if len(pts) >= 2 {
			out = append(out, VesselSpec{Kind: kind, Points: pts, Width: w})
		}
	}
	for _, v := range []float64{-1, 1} {
		for _, kind := range []VesselKind{Artery, Vein} {
			w := arteryWidth
			if kind == Vein {
				w = veinWidth
			}
			add(kind, trace(table(false, kind), v, 1+0.05*rng.NormFloat64()), width(w))
		}
	}
	arcades := append([]VesselSpec(nil), out...)
	for _, v := range []float64{-1, 1} {
		for _, kind := range []VesselKind{Artery, Vein} {
			w := arteryWidth
			if kind == Vein {
				w = veinWidth
			}
			add(kind, trace(table(true, kind), v, 1+0.05*rng.NormFloat64()), width(w*nasalWidthFrac))
		}
	}

	// path walks from start along dir in len(wiggle) equal steps whose
	// heading turns gradually through bend radians in total; each step's
	// end is pushed sideways by its wiggle (in disc radii) so branches are
	// not arcs of perfect circles.
	path := func(start, dir Point, length, bend float64, wiggle []float64) []Point {
		pts := []Point{start}
		p := start
		steps := float64(len(wiggle))
		for i, w := range wiggle {
			d := rotate(dir, bend*(float64(i)+0.5)/steps)
			p = p.add(d.scale(length / steps))
			pts = append(pts, p.add(rotate(d, math.Pi/2).scale(w*R)))
		}
		return pts
	}
	// branch draws a branch's shape once, then shortens it until its end is
	// allowed (the tree is laid out for the default FOV, and jitter may push
	// a branch outwards).
	branch := func(start, dir Point, length, bendSD float64) []Point {
		bend := bendSD * rng.NormFloat64()
		wiggle := make([]float64, 3)
		for i := range wiggle {
			wiggle[i] = 0.06 * rng.NormFloat64()
		}
		for ; length >= 0.8*R; length *= 0.85 {
			pts := path(start, dir, length, bend, wiggle)
			if allowed(pts[len(pts)-1]) {
				return pts
			}
		}
		return nil
	}
	fovC := circleCentre(r.fov)
	for _, a := range arcades {
		centre := sampleCurve(a.Points)
		bw := math.Max(minWidthPx, a.Width*branchFrac)
		fm, fp := 0.40, 0.30
		if a.Kind == Vein {
			fm, fp = 0.62, 0.35
		}
		// Macular branch: heads for a point 1.5 disc radii from the fovea,
		// leaving the foveal avascular zone clear.
		p, _ := pointAtFraction(centre, fm+0.04*rng.NormFloat64())
		toward := unit(p.sub(r.fovea))
		target := r.fovea.add(rotate(toward, 0.15*rng.NormFloat64()).scale(1.5 * R))
		if d := dist(p, target); d > R {
			add(a.Kind, branch(p, unit(target.sub(p)), d, 0.3), bw)
		}
		// Peripheral branch: leaves the arcade outwards, between the parent's
		// heading and the direction away from the image centre.
		p, tan := pointAtFraction(centre, fp+0.04*rng.NormFloat64())
		dir := unit(unit(p.sub(fovC)).add(tan.scale(0.7)))
		add(a.Kind, branch(p, dir, 2.4*R, 0.35), bw)
	}
	return out
}
