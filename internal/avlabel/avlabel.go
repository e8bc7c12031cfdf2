package avlabel

import (
	"fmt"
	"image"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// Map converts per-pixel model labels into the biomarkers A/V map: artery
// and vein pixels keep their class and vote with their confidence
// (|p_artery − p_vein|) as weight; other pixels are background.
func Map(px *vessels.AVLabels) (*biomarkers.AVMap, error) {
	if err := check(px); err != nil {
		return nil, err
	}
	m := biomarkers.NewAVMap(px.Width, px.Height)
	m.Conf = make([]float32, len(px.Confidence))
	for i, c := range px.Class {
		switch c {
		case vessels.Artery:
			m.Pix[i] = biomarkers.AVArtery
		case vessels.Vein:
			m.Pix[i] = biomarkers.AVVein
		default:
			continue
		}
		m.Conf[i] = min(max(px.Confidence[i], 0), 1)
	}
	return m, nil
}

func check(px *vessels.AVLabels) error {
	w, h := px.Width, px.Height
	if w <= 0 || h <= 0 || len(px.Class) != w*h || len(px.Confidence) != w*h {
		return fmt.Errorf("A/V labels: %dx%d map with %d classes and %d confidences", w, h, len(px.Class), len(px.Confidence))
	}
	return nil
}

// Result is the outcome of Consistent.
type Result struct {
	// Graph is the centreline graph of the labelled vessel pixels.
	Graph *biomarkers.Graph
	// Segments is parallel to Graph.Segments: each segment's vote.
	Segments []biomarkers.SegmentLabel
	// Owner is, per pixel (row-major), the index of the segment that owns
	// it; -1 for background and for vessel specks the graph does not
	// reach.
	Owner []int32
	// Labels are the per-pixel labels of the artery and vein trees
	// biomarkers.SplitTrees makes: Artery for a pixel of the artery tree
	// only, Vein for one of the vein tree only, the pixel's own label
	// otherwise (a segment whose vote tied). Confidence is the segment's
	// vote margin |2·share − 1| (on the 0-1 scale of a pixel's
	// |p_artery − p_vein|) where the segment's label was applied, the
	// pixel's own where it kept its own label.
	Labels *vessels.AVLabels
}

// Consistent relabels the vessel pixels of px (those not
// vessels.NotVessel) as analyze does: the centreline graph of those
// pixels, each segment labelled by the confidence-weighted vote of the
// pixels it owns, the pixels split into trees (biomarkers.SplitTrees). px
// is not modified.
func Consistent(px *vessels.AVLabels) (*Result, error) {
	av, err := Map(px)
	if err != nil {
		return nil, fmt.Errorf("consistent A/V labels: %w", err)
	}
	w, h := px.Width, px.Height
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for i, c := range px.Class {
		if c != vessels.NotVessel {
			mask.Pix[i] = 255
		}
	}
	g := biomarkers.CentrelineGraph(mask)
	t := biomarkers.SplitTrees(mask, g, av)
	out := &vessels.AVLabels{Width: w, Height: h,
		Class: append([]vessels.AVClass(nil), px.Class...), Confidence: append([]float32(nil), px.Confidence...)}
	for i, c := range px.Class {
		if c == vessels.NotVessel {
			continue
		}
		a, v := t.ArteryMask.Pix[i] != 0, t.VeinMask.Pix[i] != 0
		switch {
		case a && !v:
			out.Class[i] = vessels.Artery
		case v && !a:
			out.Class[i] = vessels.Vein
		default:
			continue
		}
		if o := t.Owner[i]; o >= 0 {
			if l := t.Labels[o]; l.Confidence >= biomarkers.SplitVote {
				out.Confidence[i] = float32(2*l.Confidence - 1)
			}
		}
	}
	return &Result{Graph: g, Segments: t.Labels, Owner: t.Owner, Labels: out}, nil
}
