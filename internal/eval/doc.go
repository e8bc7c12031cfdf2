// Package eval measures RetinalGPT against labelled datasets.
//
// metrics.go holds the arithmetic (ROC AUC, confusion-matrix scores) on
// plain slices; vesselset.go reads a vessel dataset in the layout of the
// shared DRIVE / CHASE_DB1 copies; vessels.go runs a segmentation function
// over it. Results are plain structs that the CLI prints as a table or JSON.
//
// It may import fundus (to load images and find a missing field of view)
// and the standard library; the model is passed in as a function, so eval
// never imports infer or analysis.
package eval
