// Package infer runs the embedded ONNX models with ONNX Runtime.
//
// It owns everything that touches ONNX Runtime: finding the shared library,
// the process-wide environment, sessions (created once, safe for concurrent
// Run calls), tiled inference for images larger than a model's tile, and
// averaging a model over orientations of the image (RunTiledAveraged).
// Stages see only Tensor, Runner and Session; no onnxruntime_go type leaves
// this package.
//
// It may import the standard library and github.com/yalue/onnxruntime_go;
// it must not import other internal packages.
package infer
