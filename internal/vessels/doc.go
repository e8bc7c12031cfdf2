// Package vessels segments retinal blood vessels.
//
// Flow: an analysis-size RGB image → the model's input normalization
// (infer.FOVStandardize, mirrored from train/vessels/train.py and checked
// against it by a parity test here) → tiled ONNX inference → a probability map and, at the
// model's fixed threshold, a binary mask, both at the input's resolution.
// Mapping back to the original photo's pixels is the caller's job
// (fundus.Normalized.ResampleToOriginal).
//
// It may import the standard library, internal/infer and models; it must
// not import onnxruntime_go directly, nor analysis, report or anything that
// consumes its output.
package vessels
