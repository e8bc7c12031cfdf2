// Package biomarkers measures the retinal vasculature from a binary vessel
// mask: the centreline graph (end points, branch points and the ordered
// pixel paths between them), per-segment length, chord, tortuosity, width
// and branching angles, and whole-image measures (fractal dimension, vessel
// density, average width, tortuosity) named after, and where stated
// compatible with, AutoMorph's columns. It also holds the CRAE/CRVE/AVR
// summary formulas (Knudtson 2003, Hubbard 1999) as pure functions of
// vessel widths.
//
// All lengths and widths are in pixels of the input mask and curvatures in
// 1/px or 1/px² as their names say; converting to micrometres is the
// caller's job. Positions follow the pixel-centre convention: pixel (x, y)
// has centre (x+0.5, y+0.5).
//
// Zones B and C around the disc, artery/vein separation and CRAE from the
// vessels crossing zone B are not here yet.
//
// It may import the standard library and internal/imgproc only; it must not
// import internal/infer, ONNX, analysis, report or cmd.
package biomarkers
