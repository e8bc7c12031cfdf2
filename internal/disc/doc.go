// Package disc locates the optic disc centre and the fovea in a fundus
// photograph and derives the geometry that follows from them: which eye it
// is, what the field is centred on, the disc–fovea distance, and the
// measurement zones B and C around the disc.
//
// Flow: the square analysis image from fundus.Normalize at the model's size
// → infer.FOVStandardize (mirrored from train/disc/train.py and checked
// against it by a parity test here) → ONNX Runtime → two heatmaps (disc,
// fovea) at half the input resolution → for each, the peak refined by a
// soft-argmax over a small window (decode.go) → original-photo pixels
// through fundus.Normalized.Transform.
//
// The model is passed in as a Model (graph bytes plus what Go needs from
// its sidecar JSON), so this package does not depend on how models are
// embedded. Geometry (geometry.go) and evaluation helpers (eval.go) are pure
// functions of points.
//
// It may import the standard library, internal/infer and internal/fundus
// (for its types); it must not import onnxruntime_go directly, nor
// analysis, report, cmd or anything that consumes its output.
package disc
