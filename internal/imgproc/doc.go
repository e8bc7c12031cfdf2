// Package imgproc holds small binary-image kernels shared by the measurement
// packages: thinning to one-pixel centrelines ([Skeleton]) and connected
// component labelling ([Label]).
//
// Masks are *image.Gray where any non-zero value is foreground; results use
// 255 for foreground. Functions never modify their inputs and keep no state
// between calls.
//
// The package imports only the standard library. It must not import
// internal/infer, ONNX, analysis, report or cmd.
package imgproc
