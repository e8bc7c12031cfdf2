package biomarkers

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
)

// DefaultCalibreCircles is the number of concentric circles of the
// multi-circle CRAE/CRVE, evenly spaced across the zone, edges included
// (2, 2.25, 2.5, 2.75 and 3 disc radii for zone B).
const DefaultCalibreCircles = 5

// minZoneSamples is the fewest width samples a segment needs inside the
// zone to count as a vessel crossing it.
const minZoneSamples = 3

// A vessel's width on a circle is the median of the circleSamples clean
// profile widths nearest the crossing point, at most circleReach samples
// (px) from it along the centreline.
const (
	circleSamples = 5
	circleReach   = 15
)

// Ring is the set of points whose distance from (X, Y) lies in
// [Inner, Outer], in the mask's pixel-centre coordinates (pixel (x, y) has
// centre (x+0.5, y+0.5)). Zone B around an optic disc of radius r is
// Inner 2r, Outer 3r (see disc.ZoneB, from which callers build it).
type Ring struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Inner float64 `json:"inner_px"`
	Outer float64 `json:"outer_px"`
}

// Contains reports whether the point (x, y) lies in the ring.
func (r Ring) Contains(x, y float64) bool {
	d := math.Hypot(x-r.X, y-r.Y)
	return d >= r.Inner && d <= r.Outer
}

func (r Ring) valid() bool {
	for _, v := range []float64{r.X, r.Y, r.Inner, r.Outer} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return r.Inner >= 0 && r.Outer > r.Inner
}

// CalibreOptions tune MeasureCalibre; the zero value is valid.
type CalibreOptions struct {
	// UmPerPx converts widths to micrometres for the Hubbard formulas,
	// whose constants are in µm; 0 leaves the Hubbard values absent.
	UmPerPx float64
	// Circles is the number of circles of the multi-circle variant; 0
	// means DefaultCalibreCircles.
	Circles int
}

// VesselWidth is one vessel's width where it crosses the zone or a circle.
type VesselWidth struct {
	// Segment indexes the Segments of the artery or vein Measures.
	Segment int     `json:"segment"`
	WidthPx float64 `json:"width_px"`
	// X, Y is a point where it was measured.
	X float64 `json:"x"`
	Y float64 `json:"y"`
	// Samples is how many profile widths the median was taken over; 0
	// means the segment was too short to measure away from its ends and
	// its whole-segment width stands in.
	Samples int `json:"samples"`
}

// Equivalents are CRAE, CRVE and AVR by one family of formulas. A value
// that could not be computed is nil, and Absent says why.
type Equivalents struct {
	// Unit is that of CRAE and CRVE: "px" (Knudtson) or "um" (Hubbard).
	Unit   string   `json:"unit"`
	CRAE   *float64 `json:"crae,omitempty"`
	CRVE   *float64 `json:"crve,omitempty"`
	AVR    *float64 `json:"avr,omitempty"`
	Absent string   `json:"absent,omitempty"`
}

// CalibreEstimate is one way of measuring CRAE/CRVE/AVR.
type CalibreEstimate struct {
	// Arteries and Veins are the vessels measured, widest first (for the
	// multi-circle estimate they are per circle, in Calibre.Circles).
	Arteries []VesselWidth `json:"arteries,omitempty"`
	Veins    []VesselWidth `json:"veins,omitempty"`
	// ArteriesUsed and VeinsUsed are how many widths entered the formulas
	// (at most SummaryVessels); for the multi-circle estimate, the fewest
	// on any circle.
	ArteriesUsed int         `json:"arteries_used"`
	VeinsUsed    int         `json:"veins_used"`
	Knudtson     Equivalents `json:"knudtson"`
	Hubbard      Equivalents `json:"hubbard"`
	// Warnings say when fewer than SummaryVessels vessels were available.
	Warnings []string `json:"warnings,omitempty"`
}

// CircleCalibre is the estimate on one circle of the multi-circle variant.
type CircleCalibre struct {
	RadiusPx float64       `json:"radius_px"`
	Arteries []VesselWidth `json:"arteries"`
	Veins    []VesselWidth `json:"veins"`
	Knudtson Equivalents   `json:"knudtson"`
	Hubbard  Equivalents   `json:"hubbard"`
}

// Calibre holds the summary vessel calibres around the optic disc.
type Calibre struct {
	Ring    Ring    `json:"ring"`
	UmPerPx float64 `json:"um_per_px,omitempty"`
	// Zone is measured along the part of each vessel inside the ring.
	Zone CalibreEstimate `json:"zone"`
	// MultiCircle is the median over Circles.
	MultiCircle CalibreEstimate `json:"multi_circle"`
	Circles     []CircleCalibre `json:"circles"`
}

// MeasureCalibre computes CRAE, CRVE and AVR from the artery and vein trees
// of av (Artery and Vein, measured on ArteryMask and VeinMask) in the ring
// zone. A profile width whose span touches a pixel of both trees (a
// crossing, or an artery and a vein running together) is not the vessel's
// own and is left out. Two ways:
//
//   - Zone: each segment of a tree with at least three profile widths
//     inside the ring, away from its ends (one segment width + 2 px, as
//     for SegmentMeasures.WidthPx), is a vessel of width the median of
//     those widths. A vessel counts once: a segment that, followed through
//     the graph towards the disc, leads to another measured segment
//     without leaving the ring is a branch or a further piece of that
//     vessel and is left out. Where a vessel forks inside the ring only
//     the trunk counts, as in Knudtson's protocol, and a vessel cut into
//     pieces by junction clutter counts once, by its innermost piece.
//   - MultiCircle: on each of opt.Circles circles evenly spaced from
//     Inner to Outer, every place a centreline crosses the circle is a
//     vessel, of width the median of the five profile widths nearest the
//     crossing along the centreline (within 15 px, away from the
//     segment's ends as above, and not across a crossing); CRAE and CRVE
//     are computed per circle and their medians reported, AVR being the
//     ratio of the medians.
//
// Each estimate feeds the SummaryVessels widest arteries and veins to the
// Knudtson formulas (in px) and, when opt.UmPerPx is set, to the Hubbard
// formulas (in µm). With fewer vessels it uses those there are and says so
// in Warnings; with none the value is absent, with the reason.
func MeasureCalibre(av *AVMeasures, ring Ring, opt CalibreOptions) (*Calibre, error) {
	if av == nil || av.Artery == nil || av.Vein == nil || av.ArteryMask == nil || av.VeinMask == nil {
		return nil, errors.New("measure calibre: incomplete artery/vein measures")
	}
	if av.ArteryMask.Bounds() != av.VeinMask.Bounds() {
		return nil, errors.New("measure calibre: artery and vein masks differ in size")
	}
	if !ring.valid() {
		return nil, fmt.Errorf("measure calibre: ring %+v: want finite radii with 0 <= inner < outer", ring)
	}
	if opt.UmPerPx < 0 || math.IsNaN(opt.UmPerPx) || math.IsInf(opt.UmPerPx, 0) {
		return nil, fmt.Errorf("measure calibre: µm per px %v: want finite >= 0", opt.UmPerPx)
	}
	n := opt.Circles
	if n <= 0 {
		n = DefaultCalibreCircles
	}
	c := &Calibre{Ring: ring, UmPerPx: opt.UmPerPx}
	artery, vein := av.Artery, av.Vein
	both := crossings(av.ArteryMask, av.VeinMask)

	art, vn := zoneWidths(artery, both, ring), zoneWidths(vein, both, ring)
	c.Zone = estimate(art, vn, opt.UmPerPx, "the zone")
	c.Zone.Arteries, c.Zone.Veins = art, vn

	centre := vec{ring.X, ring.Y}
	var kA, kV, hA, hV []float64
	fewestA, fewestV := SummaryVessels, SummaryVessels
	noA, noV := 0, 0
	for k := range n {
		rho := (ring.Inner + ring.Outer) / 2
		if n > 1 {
			rho = ring.Inner + float64(k)*(ring.Outer-ring.Inner)/float64(n-1)
		}
		cc := CircleCalibre{RadiusPx: rho, Arteries: circleWidths(artery, both, centre, rho), Veins: circleWidths(vein, both, centre, rho)}
		e := estimate(cc.Arteries, cc.Veins, opt.UmPerPx, "the circle")
		cc.Knudtson, cc.Hubbard = e.Knudtson, e.Hubbard
		c.Circles = append(c.Circles, cc)
		fewestA, fewestV = min(fewestA, e.ArteriesUsed), min(fewestV, e.VeinsUsed)
		if e.ArteriesUsed == 0 {
			noA++
		}
		if e.VeinsUsed == 0 {
			noV++
		}
		appendVal(&kA, e.Knudtson.CRAE)
		appendVal(&kV, e.Knudtson.CRVE)
		appendVal(&hA, e.Hubbard.CRAE)
		appendVal(&hV, e.Hubbard.CRVE)
	}
	mc := &c.MultiCircle
	mc.ArteriesUsed, mc.VeinsUsed = fewestA, fewestV
	for _, w := range []struct {
		fewest, none int
		what         string
	}{{fewestA, noA, "arterioles"}, {fewestV, noV, "venules"}} {
		if w.none > 0 && w.none < n {
			mc.Warnings = append(mc.Warnings, fmt.Sprintf("no %s on %d of %d circles", w.what, w.none, n))
		}
		if w.fewest > 0 && w.fewest < SummaryVessels {
			mc.Warnings = append(mc.Warnings, fmt.Sprintf("as few as %d %s on a circle (%d wanted)", w.fewest, w.what, SummaryVessels))
		}
	}
	mc.Knudtson = medianEquivalents("px", kA, kV, "")
	hubbardAbsent := ""
	if opt.UmPerPx == 0 {
		hubbardAbsent = noCalibration
	}
	mc.Hubbard = medianEquivalents("um", hA, hV, hubbardAbsent)
	return c, nil
}

const noCalibration = "no calibration: the Hubbard formulas need widths in µm"

func appendVal(s *[]float64, v *float64) {
	if v != nil {
		*s = append(*s, *v)
	}
}

// medianEquivalents is the median of per-circle CRAEs and CRVEs and the
// ratio of the two medians.
func medianEquivalents(unit string, crae, crve []float64, absent string) Equivalents {
	e := Equivalents{Unit: unit}
	var why []string
	if absent != "" {
		why = append(why, absent)
	}
	if len(crae) > 0 {
		v := median(crae)
		e.CRAE = &v
	} else if absent == "" {
		why = append(why, "CRAE: no arteriole on any circle")
	}
	if len(crve) > 0 {
		v := median(crve)
		e.CRVE = &v
	} else if absent == "" {
		why = append(why, "CRVE: no venule on any circle")
	}
	if e.CRAE != nil && e.CRVE != nil {
		if r, err := AVR(*e.CRAE, *e.CRVE); err == nil {
			e.AVR = &r
		}
	}
	e.Absent = strings.Join(why, "; ")
	return e
}

// estimate applies both formula families to the widths of the vessels
// found; where names the place for the reasons ("the zone").
func estimate(art, vein []VesselWidth, umPerPx float64, where string) CalibreEstimate {
	var e CalibreEstimate
	e.ArteriesUsed, e.VeinsUsed = min(len(art), SummaryVessels), min(len(vein), SummaryVessels)
	if n := len(art); n > 0 && n < SummaryVessels {
		e.Warnings = append(e.Warnings, fmt.Sprintf("CRAE from %d arterioles (%d wanted)", n, SummaryVessels))
	}
	if n := len(vein); n > 0 && n < SummaryVessels {
		e.Warnings = append(e.Warnings, fmt.Sprintf("CRVE from %d venules (%d wanted)", n, SummaryVessels))
	}
	px := func(vs []VesselWidth, scale float64) []float64 {
		w := make([]float64, len(vs))
		for i, v := range vs {
			w[i] = v.WidthPx * scale
		}
		return w
	}
	e.Knudtson = equivalents("px", px(art, 1), px(vein, 1), CRAEKnudtson, CRVEKnudtson, where)
	if umPerPx > 0 {
		e.Hubbard = equivalents("um", px(art, umPerPx), px(vein, umPerPx), CRAEHubbard, CRVEHubbard, where)
	} else {
		e.Hubbard = Equivalents{Unit: "um", Absent: noCalibration}
	}
	return e
}

func equivalents(unit string, art, vein []float64, crae, crve func([]float64) (float64, error), where string) Equivalents {
	e := Equivalents{Unit: unit}
	var why []string
	one := func(ws []float64, f func([]float64) (float64, error), name, vessels string) *float64 {
		if len(ws) == 0 {
			why = append(why, fmt.Sprintf("%s: no %s crosses %s", name, vessels, where))
			return nil
		}
		v, err := f(ws)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", name, err))
			return nil
		}
		return &v
	}
	e.CRAE = one(art, crae, "CRAE", "arteriole")
	e.CRVE = one(vein, crve, "CRVE", "venule")
	if e.CRAE != nil && e.CRVE != nil {
		if r, err := AVR(*e.CRAE, *e.CRVE); err == nil {
			e.AVR = &r
		}
	}
	e.Absent = strings.Join(why, "; ")
	return e
}

// segmentTrim is how many 1 px path samples at each end of segment i are
// left out of its widths: its median width + 2 px, as segmentWidth does.
func segmentTrim(m *Measures, i int) int {
	return int(math.Ceil(m.Segments[i].WidthPx + 2))
}

// zoneWidths measures every segment of m along its part inside ring,
// widest first, leaving out the segments that continue a measured one
// outwards (see inward).
func zoneWidths(m *Measures, both *image.Gray, ring Ring) []VesselWidth {
	if m.Graph == nil || len(m.Segments) == 0 {
		return nil
	}
	found := map[int]VesselWidth{}
	for i, sm := range m.Segments {
		p := sm.path
		trim := segmentTrim(m, i)
		var ws []float64
		var at []int
		for j := trim; j < len(p)-trim; j++ {
			if !ring.Contains(p[j].X, p[j].Y) {
				continue
			}
			if w := ownWidth(m.prof, both, p, j); w > 0 {
				ws = append(ws, w)
				at = append(at, j)
			}
		}
		if len(ws) < minZoneSamples {
			continue
		}
		mid := p[at[len(at)/2]]
		found[i] = VesselWidth{Segment: i, WidthPx: median(ws), X: mid.X, Y: mid.Y, Samples: len(ws)}
	}
	// A vessel counts once: drop every measured segment that, followed
	// towards the disc, leads to another measured one within the ring.
	inc := make([][]int, len(m.Graph.Nodes))
	for i, sg := range m.Graph.Segments {
		if sg.From != sg.To {
			inc[sg.From] = append(inc[sg.From], i)
			inc[sg.To] = append(inc[sg.To], i)
		}
	}
	var drop []int
	for i := range found {
		if inward(m.Graph, inc, found, i, ring) {
			drop = append(drop, i)
		}
	}
	for _, i := range drop {
		delete(found, i)
	}
	out := make([]VesselWidth, 0, len(found))
	for _, v := range found {
		out = append(out, v)
	}
	sortWidest(out)
	return out
}

// inward follows the graph from segment i's end nearer the ring's centre
// towards the centre, at each node taking the segment whose far end is
// nearest the centre, and reports whether it reaches a segment in found
// before leaving the ring inwards (or finding no way on). Segment i is then
// a branch, or a further piece, of a vessel already measured.
func inward(g *Graph, inc [][]int, found map[int]VesselWidth, i int, ring Ring) bool {
	d := func(n int) float64 { return math.Hypot(g.Nodes[n].X-ring.X, g.Nodes[n].Y-ring.Y) }
	s := g.Segments[i]
	node, cur := s.From, i
	if d(s.To) < d(s.From) {
		node = s.To
	}
	for range len(g.Segments) {
		if d(node) < ring.Inner {
			return false
		}
		best, next, bestD := -1, -1, d(node)
		for _, j := range inc[node] {
			sj := g.Segments[j]
			o := sj.From
			if o == node {
				o = sj.To
			}
			if j != cur && d(o) < bestD {
				best, next, bestD = j, o, d(o)
			}
		}
		if best < 0 {
			return false
		}
		if _, ok := found[best]; ok {
			return true
		}
		node, cur = next, best
	}
	return false
}

// circleWidths finds where the centrelines of m cross the circle of radius
// rho about c and measures the vessel there, widest first.
func circleWidths(m *Measures, both *image.Gray, c vec, rho float64) []VesselWidth {
	var out []VesselWidth
	for i, sm := range m.Segments {
		p := sm.path
		n := len(p)
		trim := segmentTrim(m, i)
		for j := 0; j+1 < n; j++ {
			d0, d1 := p[j].sub(c).norm()-rho, p[j+1].sub(c).norm()-rho
			if (d0 < 0) == (d1 < 0) {
				continue
			}
			k := j
			if math.Abs(d1) < math.Abs(d0) {
				k = j + 1
			}
			vw := VesselWidth{Segment: i, X: p[k].X, Y: p[k].Y}
			// The nearest clean samples to k, away from the ends.
			var ws []float64
			lo, hi := max(k-circleReach, trim), min(k+circleReach, n-1-trim)
			for d := 0; d <= circleReach && len(ws) < circleSamples; d++ {
				cand := []int{k - d, k + d}
				if d == 0 {
					cand = cand[:1]
				}
				for _, q := range cand {
					if q < lo || q > hi || len(ws) == circleSamples {
						continue
					}
					if w := ownWidth(m.prof, both, p, q); w > 0 {
						ws = append(ws, w)
					}
				}
			}
			if lo > hi {
				// No point within reach away from the ends: a short
				// segment, measured as a whole.
				if sm.WidthPx > 0 {
					vw.WidthPx = sm.WidthPx
					out = append(out, vw)
				}
				continue
			}
			if len(ws) == 0 {
				continue
			}
			vw.WidthPx, vw.Samples = median(ws), len(ws)
			out = append(out, vw)
		}
	}
	sortWidest(out)
	return out
}

// crossings marks the pixels in both masks (zero-origin, same size).
func crossings(a, v *image.Gray) *image.Gray {
	b := a.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if a.Pix[y*a.Stride+x] != 0 && v.Pix[y*v.Stride+x] != 0 {
				out.Pix[y*out.Stride+x] = 255
			}
		}
	}
	return out
}

// ownWidth is the profile width at point i of p, or -1 when it cannot be
// measured or its span, sampled every 0.5 px, touches a pixel of both.
func ownWidth(s sampler, both *image.Gray, p []vec, i int) float64 {
	c, n, w1, w2, ok := s.span(p, i, 64)
	if !ok {
		return -1
	}
	for t := -w2; t <= w1+1e-9; t += 0.5 {
		q := c.add(n.scale(t))
		x, y := int(math.Floor(q.X)), int(math.Floor(q.Y))
		if image.Pt(x, y).In(both.Rect) && both.Pix[y*both.Stride+x] != 0 {
			return -1
		}
	}
	return w1 + w2
}

func sortWidest(v []VesselWidth) {
	slices.SortFunc(v, func(a, b VesselWidth) int {
		if a.WidthPx != b.WidthPx {
			if a.WidthPx > b.WidthPx {
				return -1
			}
			return 1
		}
		return a.Segment - b.Segment
	})
}
