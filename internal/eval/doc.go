// Package eval measures RetinalGPT against labelled datasets.
//
// metrics.go holds the arithmetic (ROC AUC, confusion-matrix scores) on
// plain slices; vesselset.go reads a vessel dataset in the layout of the
// shared DRIVE / CHASE_DB1 copies; vessels.go runs a segmentation function
// over it. Results are plain structs that the CLI prints as a table or JSON.
//
// av.go scores an artery/vein model against colour A/V labels in the
// layout of the shared RITE copy ({images,av,mask}/, RITE colour code, any
// stray colour uncertain): on the ground-truth vessel pixels labelled
// artery or vein inside the FOV (crossings and uncertain vessels
// excluded), a pixel is predicted artery if p_artery > p_vein, the usual
// protocol of the A/V literature, which measures classification apart from
// vessel detection. It reports accuracy, artery sensitivity and vein
// sensitivity (the artery specificity) on those pixels and on their
// centreline (imgproc.Skeleton of the ground-truth vessel mask), and both
// again after a segment-consistency step passed in as a function.
//
// localize.go scores optic disc and fovea localization against a labels.csv
// in the layout of the shared IDRiD grading copy.
//
// It may import fundus (to load images and find a missing field of view),
// disc (its point type and error summaries), imgproc (centrelines) and the
// standard library; the models are passed in as functions, so eval never
// imports infer or analysis.
package eval
