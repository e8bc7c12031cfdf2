// Package disc locates the optic disc centre and the fovea in a fundus
// photograph, segments the optic disc and cup around the located centre,
// and derives what follows from them: which eye it is, what the field is
// centred on, the disc–fovea distance, the disc and cup sizes, the
// cup-to-disc ratios, the neuroretinal rim in the four ISNT sectors, a
// disc-diameter calibration and the measurement zones B and C.
//
// Locating (locate.go): the square analysis image from fundus.Normalize at
// the model's size → infer.FOVStandardize (mirrored from
// train/disc/train.py and checked against it by a parity test here) → ONNX
// Runtime → two heatmaps (disc, fovea) at half the input resolution → for
// each, the peak refined by a soft-argmax over a small window (decode.go)
// → original-photo pixels through fundus.Normalized.Transform. A disc
// peak below the model's MinDiscConfidence marks the disc absent
// (Result.DiscAbsent: no laterality, no disc).
//
// Segmenting (segment.go), as train/disccup/train.py does it: a square of
// the ORIGINAL photo centred on the located disc, its side a fixed number
// of estimated disc radii, the radius the model's prior times the FOV
// radius (crop.go; bilinear, black beyond the photo, checked against the
// training script's own crop) → infer.FOVStandardize → ONNX Runtime → disc
// and cup probabilities → pasted back onto the photo's pixels → threshold,
// largest component, holes filled, cup within disc (masks.go) → measures
// in original pixels (measure.go). Implausible results (size against the
// FOV, shape, confidence, cut off, away from the located centre) come back
// as "not found" rather than as a wrong disc.
//
// Verifying (verify.go): a disc that passed those checks may still be a
// look-alike (a round cluster of hard exudates in a macula-only photo);
// the verifier model (train/discverify/train.py) scores the square of a
// few disc radii around it, cut as the disc/cup crop is, and the caller
// rejects it below the model's threshold.
//
// Models are passed in as Model, CupModel and VerifyModel (graph bytes plus what Go
// needs from their sidecar JSON; every crop and threshold number comes
// from there), so this package does not depend on how models are
// embedded. Geometry (geometry.go), measures and evaluation helpers
// (eval.go) are pure functions of points and masks.
//
// It may import the standard library, golang.org/x/image (resampling),
// internal/infer, internal/imgproc (connected components) and
// internal/fundus (for its types); it must not import onnxruntime_go
// directly, nor analysis, report, cmd or anything that consumes its output.
package disc
