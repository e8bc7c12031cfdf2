// Package avlabel makes per-pixel artery/vein labels consistent along the
// vessel tree: every pixel of a centreline segment (end point or branch
// point to the next) takes one label, the segment's confidence-weighted
// majority.
//
// A per-pixel classifier (vessels.AVMap.Classify) decides each pixel on its
// own, so a vessel's label can flicker along its length or across its
// width, most often where it is thin or crosses another. A segment runs
// between branch points and so, barring a mask that merges an artery with
// the vein beside it, carries one vessel: a vote over its pixels removes
// the flicker. (Crossings split both vessels into separate segments at the
// crossing point, so each side of a crossing still votes on its own.)
//
// The centreline graph is biomarkers.CentrelineGraph, the one the
// measurements use. It may import the standard library, internal/biomarkers
// and internal/vessels (for its label types); it must not import infer
// directly, nor analysis, report or cmd.
package avlabel
