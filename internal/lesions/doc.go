// Package lesions finds the four diabetic-retinopathy lesions in a colour
// fundus photograph — microaneurysms (MA), haemorrhages (HE), hard exudates
// (EX) and soft exudates / cotton-wool spots (SE) — measures them and
// localizes them as boxes in RetinalGPT's format.
//
// Flow (detect.go): the original photo and its field of view → the
// working scale, where the FOV is Model.FOVDiameterPx wide (the scale the
// model was trained at; IDRiD at half size), by area averaging (exactly the
// training script's 2x2 box average on IDRiD originals) or bilinear
// upsampling, cut to the FOV's bounding box → infer.FOVStandardize
// (mirrored from train/lesions/train.py and checked against it by a parity
// test) → infer.RunTiled → one sigmoid probability map per lesion type, kept
// at the working resolution (Result.Prob, Result.Grid). Nothing is upsampled:
// coordinates go back to original pixels through Grid.Transform.
//
// Objects (objects.go): per type, the 8-connected components of the
// probability map at the model's threshold inside the FOV, with area,
// centroid, bounding box, probabilities, distances to the fovea and the
// disc in disc diameters and the quadrant (when Options gives the
// landmarks), and counts per type and per quadrant. Boxes (boxes.go): per
// type, the objects' boxes merged when near, heavily overlapping ones
// dropped, at most Options.Boxes.Max, normalized to four decimals as
// RetinalGPT writes them, and in original pixels.
//
// It may import the standard library, golang.org/x/image (resampling),
// internal/fundus (the FOV and Transform types), internal/imgproc
// (connected components) and internal/infer; it must not import
// onnxruntime_go directly, nor disc, analysis, report, overlay, cmd or
// anything that consumes its output. Landmarks come in as plain points and
// a laterality string, so it does not depend on the disc package.
package lesions
