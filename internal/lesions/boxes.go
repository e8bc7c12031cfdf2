package lesions

import (
	"cmp"
	"math"
	"slices"
)

// BoxOptions tune RetinalGPT's boxes. The zero value gives the defaults;
// lengths are fractions of the FOV diameter, so the boxes do not depend on
// the photo's resolution.
type BoxOptions struct {
	// Max is the most boxes per type; 0: DefaultMaxBoxes; negative: no
	// limit.
	Max int
	// MergeGap: boxes at most this far apart (the larger of the horizontal
	// and vertical gaps; overlapping boxes are 0 apart) are merged into
	// their union. 0: DefaultMergeGap; negative: no merging.
	MergeGap float64
	// MaxMergedSide: a merge that would make a box wider or taller than
	// this is not made. 0: DefaultMaxMergedSide.
	MaxMergedSide float64
	// DropOverlap: after merging, a box that shares at least this share
	// of its own area with a box ranked before it is dropped. 0:
	// DefaultDropOverlap.
	DropOverlap float64
}

// Defaults of BoxOptions. RetinalGPT gives at most 10 boxes per image and
// type. The merge gap, 2 % of the FOV diameter (about 34 px on a
// 2144x1424 IDRiD photo, a seventh of a disc diameter), joins the dots of
// one exudate or haemorrhage cluster; the side cap, a quarter of the FOV
// diameter, stops a chain of clusters from growing into one box over half
// the retina.
const (
	DefaultMaxBoxes      = 10
	DefaultMergeGap      = 0.02
	DefaultMaxMergedSide = 0.25
	DefaultDropOverlap   = 0.5
)

func (o BoxOptions) withDefaults() BoxOptions {
	if o.Max == 0 {
		o.Max = DefaultMaxBoxes
	}
	if o.MergeGap == 0 {
		o.MergeGap = DefaultMergeGap
	}
	if o.MaxMergedSide <= 0 {
		o.MaxMergedSide = DefaultMaxMergedSide
	}
	if o.DropOverlap <= 0 {
		o.DropOverlap = DefaultDropOverlap
	}
	return o
}

// Box is one of RetinalGPT's lesion boxes.
type Box struct {
	Kind Kind `json:"kind"`
	// Norm is [x_min, y_min, x_max, y_max] divided by the photo's width
	// and height and rounded to four decimals, as RetinalGPT writes it.
	Norm Rect `json:"box"`
	// Px is the same box in original pixels (continuous edges, two
	// decimals).
	Px Rect `json:"box_px"`
	// AreaPx is the lesion area inside, original pixels, and Objects the
	// number of lesions merged into the box.
	AreaPx  float64 `json:"area_px"`
	Objects int     `json:"objects"`
	// MeanProb is the area-weighted mean probability of its lesions,
	// MaxProb the largest.
	MeanProb float64 `json:"mean_probability"`
	MaxProb  float64 `json:"max_probability"`
}

// MakeBoxes turns the lesions of one type into RetinalGPT's boxes for a
// width x height photo whose FOV is fovDiameter pixels across:
//  1. each lesion's bounding box;
//  2. boxes within MergeGap of each other merged into their union,
//     closest pairs first, repeated until no pair is near (unless the
//     union would exceed MaxMergedSide);
//  3. ranked by probability mass (lesion area x mean probability: largest
//     and most confident first);
//  4. a box sharing DropOverlap or more of its area with a box ranked
//     before it dropped;
//  5. the first Max kept.
func MakeBoxes(lesions []Lesion, width, height int, fovDiameter float64, opt BoxOptions) []Box {
	if len(lesions) == 0 || width <= 0 || height <= 0 {
		return nil
	}
	opt = opt.withDefaults()
	boxes := make([]Box, len(lesions))
	for i, l := range lesions {
		boxes[i] = Box{Kind: l.Kind, Px: l.Box, AreaPx: l.AreaPx, Objects: 1, MeanProb: l.MeanProb, MaxProb: l.MaxProb}
	}
	if opt.MergeGap > 0 {
		boxes = mergeNear(boxes, opt.MergeGap*fovDiameter, opt.MaxMergedSide*fovDiameter)
	}
	slices.SortStableFunc(boxes, func(a, b Box) int {
		if c := compareMass(a.AreaPx*a.MeanProb, b.AreaPx*b.MeanProb); c != 0 {
			return c
		}
		if c := compareMass(a.MaxProb, b.MaxProb); c != 0 {
			return c
		}
		// Then top to bottom, left to right, for a deterministic order.
		if c := cmp.Compare(a.Px[1], b.Px[1]); c != 0 {
			return c
		}
		return cmp.Compare(a.Px[0], b.Px[0])
	})
	var kept []Box
	for _, b := range boxes {
		if opt.Max > 0 && len(kept) == opt.Max {
			break
		}
		own := b.Px.Area()
		if slices.ContainsFunc(kept, func(k Box) bool { return own > 0 && k.Px.Intersection(b.Px) >= opt.DropOverlap*own }) {
			continue
		}
		kept = append(kept, b)
	}
	for i := range kept {
		p := &kept[i].Px
		for c := range p {
			p[c] = round(p[c], 2)
		}
		kept[i].Norm = Normalize(*p, width, height)
	}
	return kept
}

// Normalize divides a pixel box by the photo's width and height, clamps it
// to 0..1 and rounds it to four decimals: RetinalGPT's box format.
func Normalize(r Rect, width, height int) Rect {
	w, h := float64(width), float64(height)
	f := func(v, size float64) float64 { return round(min(max(v/size, 0), 1), 4) }
	return Rect{f(r[0], w), f(r[1], h), f(r[2], w), f(r[3], h)}
}

// round rounds half away from zero to the given number of decimals.
func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

// mergeNear merges boxes at most gap apart, closest pairs first, until no
// two remaining boxes are that near (merges that would make a side longer
// than maxSide are skipped).
func mergeNear(boxes []Box, gap, maxSide float64) []Box {
	for {
		type pair struct {
			i, j int
			d    float64
		}
		// Sweep in order of x_min: once a box starts more than gap past
		// box i's right edge, so do all after it.
		order := make([]int, len(boxes))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(boxes[a].Px[0], boxes[b].Px[0]) })
		var pairs []pair
		for a, i := range order {
			for _, j := range order[a+1:] {
				if boxes[j].Px[0]-boxes[i].Px[2] > gap {
					break
				}
				if d := boxes[i].Px.Gap(boxes[j].Px); d <= gap {
					pairs = append(pairs, pair{min(i, j), max(i, j), d})
				}
			}
		}
		if len(pairs) == 0 {
			return boxes
		}
		slices.SortFunc(pairs, func(a, b pair) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			if a.i != b.i {
				return a.i - b.i
			}
			return a.j - b.j
		})
		parent := make([]int, len(boxes))
		for i := range parent {
			parent[i] = i
		}
		var find func(int) int
		find = func(i int) int {
			for parent[i] != i {
				parent[i] = parent[parent[i]]
				i = parent[i]
			}
			return i
		}
		merged := false
		for _, p := range pairs {
			ri, rj := find(p.i), find(p.j)
			if ri == rj {
				continue
			}
			u := boxes[ri].Px.Union(boxes[rj].Px)
			if u.Dx() > maxSide || u.Dy() > maxSide {
				continue
			}
			if rj < ri {
				ri, rj = rj, ri
			}
			boxes[ri] = mergeBoxes(boxes[ri], boxes[rj])
			parent[rj] = ri
			merged = true
		}
		if !merged {
			return boxes
		}
		var next []Box
		for i := range boxes {
			if find(i) == i {
				next = append(next, boxes[i])
			}
		}
		boxes = next
	}
}

// mergeBoxes is the union of two boxes with their lesions pooled.
func mergeBoxes(a, b Box) Box {
	area := a.AreaPx + b.AreaPx
	mean := 0.0
	if area > 0 {
		mean = (a.MeanProb*a.AreaPx + b.MeanProb*b.AreaPx) / area
	}
	return Box{Kind: a.Kind, Px: a.Px.Union(b.Px), AreaPx: area, Objects: a.Objects + b.Objects, MeanProb: mean, MaxProb: max(a.MaxProb, b.MaxProb)}
}
