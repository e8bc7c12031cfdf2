package avlabel

import (
	"fmt"
	"image"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// Segment is the consensus label of one centreline segment.
type Segment struct {
	// Class is the segment's label: vessels.Artery or vessels.Vein, or
	// vessels.NotVessel when its pixels' votes tie exactly (then they keep
	// their own labels).
	Class vessels.AVClass
	// Confidence is the winner's share of the weighted vote, 0.5 to 1
	// (0 when undecided).
	Confidence float64
	// ArteryWeight and VeinWeight are the summed per-pixel confidences of
	// the pixels labelled artery and vein.
	ArteryWeight, VeinWeight float64
	// Pixels is the number of vessel pixels the segment owns.
	Pixels int
}

// Result is the outcome of Consistent.
type Result struct {
	// Graph is the centreline graph of the labelled vessel pixels.
	Graph *biomarkers.Graph
	// Segments is parallel to Graph.Segments.
	Segments []Segment
	// Owner is, per pixel (row-major), the index of the segment that owns
	// it: the one whose centreline is nearest along the vessel. -1 for
	// background and for vessel specks the graph does not reach.
	Owner []int32
	// Labels are the consistent per-pixel labels: a pixel owned by a
	// decided segment takes its class, with confidence |2·share − 1|
	// (the segment's vote margin, on the 0-1 scale of a pixel's
	// |p_artery − p_vein|); other vessel pixels keep their own.
	Labels *vessels.AVLabels
}

// Consistent relabels the vessel pixels of px (those not
// vessels.NotVessel) segment by segment. Each vessel pixel belongs to the
// segment whose centreline is nearest through vessel pixels (a
// breadth-first search from all centrelines at once; pixels where segments
// meet go to the first to reach them). Each segment's label is the
// majority of its pixels' labels, each pixel weighted by its confidence;
// when every confidence is 0 the pixels count one each. px is not
// modified.
func Consistent(px *vessels.AVLabels) (*Result, error) {
	w, h := px.Width, px.Height
	if w <= 0 || h <= 0 || len(px.Class) != w*h || len(px.Confidence) != w*h {
		return nil, fmt.Errorf("consistent A/V labels: %dx%d map with %d classes and %d confidences", w, h, len(px.Class), len(px.Confidence))
	}
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for i, c := range px.Class {
		if c != vessels.NotVessel {
			mask.Pix[i] = 255
		}
	}
	g := biomarkers.CentrelineGraph(mask)
	own := owners(mask, g)

	r := &Result{Graph: g, Segments: make([]Segment, len(g.Segments)), Owner: own}
	votes := make([][2]int, len(g.Segments)) // per segment: artery, vein pixel counts
	for i, s := range own {
		if s < 0 {
			continue
		}
		seg := &r.Segments[s]
		seg.Pixels++
		switch px.Class[i] {
		case vessels.Artery:
			seg.ArteryWeight += float64(px.Confidence[i])
			votes[s][0]++
		case vessels.Vein:
			seg.VeinWeight += float64(px.Confidence[i])
			votes[s][1]++
		}
	}
	for i := range r.Segments {
		s := &r.Segments[i]
		a, v := s.ArteryWeight, s.VeinWeight
		if a+v == 0 {
			a, v = float64(votes[i][0]), float64(votes[i][1])
		}
		switch {
		case a > v:
			s.Class, s.Confidence = vessels.Artery, a/(a+v)
		case v > a:
			s.Class, s.Confidence = vessels.Vein, v/(a+v)
		}
	}

	out := &vessels.AVLabels{Width: w, Height: h,
		Class: append([]vessels.AVClass(nil), px.Class...), Confidence: append([]float32(nil), px.Confidence...)}
	for i, s := range own {
		if s < 0 || r.Segments[s].Class == vessels.NotVessel {
			continue
		}
		out.Class[i] = r.Segments[s].Class
		out.Confidence[i] = float32(2*r.Segments[s].Confidence - 1)
	}
	r.Labels = out
	return r, nil
}

var dirs8 = [8]image.Point{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}}

// owners assigns every vessel pixel of mask (zero-origin, non-zero =
// vessel) to the segment of g whose centreline is nearest through
// 8-connected vessel pixels; -1 elsewhere.
func owners(mask *image.Gray, g *biomarkers.Graph) []int32 {
	w, h := mask.Rect.Dx(), mask.Rect.Dy()
	own := make([]int32, w*h)
	for i := range own {
		own[i] = -1
	}
	var queue []int32
	for si, s := range g.Segments {
		for _, p := range s.Points {
			if i := p.Y*w + p.X; own[i] < 0 {
				own[i] = int32(si)
				queue = append(queue, int32(i))
			}
		}
	}
	for head := 0; head < len(queue); head++ {
		i := int(queue[head])
		x, y := i%w, i/w
		for _, d := range dirs8 {
			nx, ny := x+d.X, y+d.Y
			if nx < 0 || ny < 0 || nx >= w || ny >= h {
				continue
			}
			if j := ny*w + nx; own[j] < 0 && mask.Pix[j] != 0 {
				own[j] = own[i]
				queue = append(queue, int32(j))
			}
		}
	}
	return own
}
