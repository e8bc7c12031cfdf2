// Package vessels segments retinal blood vessels and tells arteries from
// veins.
//
// Flow: an analysis-size RGB image → the model's input normalization
// (infer.FOVStandardize, mirrored from train/vessels/train.py and checked
// against it by a parity test here) → tiled ONNX inference → a probability map and, at the
// model's fixed threshold, a binary mask, both at the input's resolution.
// Mapping back to the original photo's pixels is the caller's job
// (fundus.Normalized.ResampleToOriginal).
//
// The artery/vein model (AVSegmenter, av.go; trained by train/av/train.py)
// takes the same input through the same path (segment.go's shared net:
// normalization, tiling, sigmoid) and returns an AVMap: three independent
// probabilities per pixel, vessel, artery and vein, the channels found by
// name in the model's "classes". Arteries and veins are told apart only on
// vessel pixels: AVMap.Classify labels each pixel of a given vessel mask
// (the vessel model's, the A/V model's own AVMap.Mask, or a manual one)
// artery if p_artery > p_vein, else vein, with confidence |p_artery -
// p_vein|. Those labels are per pixel; package avlabel makes them agree
// along each vessel segment. A parity test checks both models against
// PyTorch (testdata/parity.json, testdata/av_parity.json).
//
// It may import the standard library, internal/infer and models; it must
// not import onnxruntime_go directly, nor analysis, report or anything that
// consumes its output.
package vessels
