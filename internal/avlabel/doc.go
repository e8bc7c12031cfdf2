// Package avlabel connects the artery/vein model's per-pixel labels
// (vessels.AVLabels, from vessels.AVMap.Classify) to the one
// tree-consistency step, biomarkers.SplitTrees: Map converts the labels,
// with their confidences as vote weights, into a biomarkers.AVMap, which
// biomarkers.MeasureAV splits into artery and vein trees as analyze does;
// Consistent returns the per-pixel labels that split gives, for eval av to
// score exactly what analyze measures.
//
// A per-pixel classifier decides each pixel on its own, so a vessel's
// label can flicker along its length or across its width, most often where
// it is thin or crosses another. A segment runs between branch points and
// so, barring a mask that merges an artery with the vein beside it, carries
// one vessel: a confidence-weighted vote over its pixels removes the
// flicker, and a split vote marks a merge, whose pixels keep their own
// labels. (Crossings split both vessels into separate segments at the
// crossing point, so each side of a crossing still votes on its own.) The
// vote itself lives in biomarkers (SegmentLabel, SplitVote); this package
// holds no labelling logic of its own.
//
// It may import the standard library, internal/biomarkers and
// internal/vessels (for its label types); it must not import infer
// directly, nor analysis, report or cmd.
package avlabel
