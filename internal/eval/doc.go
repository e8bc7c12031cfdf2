// Package eval measures RetinalGPT against labelled datasets.
//
// metrics.go holds the arithmetic (ROC AUC, confusion-matrix scores) on
// plain slices; vesselset.go reads a vessel dataset in the layout of the
// shared DRIVE / CHASE_DB1 copies; vessels.go runs a segmentation function
// over it. Results are plain structs that the CLI prints as a table or JSON.
//
// localize.go scores optic disc and fovea localization against a labels.csv
// in the layout of the shared IDRiD grading copy.
//
// It may import fundus (to load images and find a missing field of view),
// disc (its point type and error summaries) and the standard library; the
// models are passed in as functions, so eval never imports infer or
// analysis.
package eval
