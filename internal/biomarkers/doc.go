// Package biomarkers measures the retinal vasculature from a binary vessel
// mask: the centreline graph (end points, branch points and the ordered
// pixel paths between them), per-segment length, chord, tortuosity, width
// and branching angles, and whole-image measures (fractal dimension, vessel
// density, average width, tortuosity) named after, and where stated
// compatible with, AutoMorph's columns.
//
// With an artery/vein map (AVMap, per pixel: background, artery, vein,
// crossing, uncertain, and optionally a confidence per pixel;
// AVMapFromRITE reads the RITE colour code, avlabel.Map converts the A/V
// model's labels) MeasureAV labels every centreline segment by a
// confidence-weighted majority vote of its pixels (SplitTrees: the one
// tree-consistency step, shared by analyze, the biomarkers command and
// eval av) and measures the artery and vein trees on their own. MeasureCalibre then gives CRAE, CRVE and AVR from the
// vessels crossing a ring around the optic disc (zone B), by the Knudtson
// 2003 and Hubbard 1999 summary formulas (caliber.go), both from the six
// widest vessels in the zone and as the median over concentric circles.
//
// All lengths and widths are in pixels of the input mask and curvatures in
// 1/px or 1/px² as their names say; converting to micrometres is the
// caller's job, except that the Hubbard formulas, whose constants are in
// µm, take a µm-per-pixel scale and are absent without one. Positions
// follow the pixel-centre convention: pixel (x, y) has centre (x+0.5,
// y+0.5). Zone geometry comes from the caller as a Ring (the CLI builds
// zone B, 2 to 3 disc radii, with disc.ZoneB); zone measures are the
// image measures with the zone as the field of view.
//
// It may import the standard library and internal/imgproc only; it must not
// import internal/infer, ONNX, analysis, report or cmd.
package biomarkers
