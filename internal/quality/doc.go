// Package quality is the gate in front of the analysis: is the image a
// colour fundus photograph at all (Modality), and is it good enough to
// analyse (Quality: good, usable or reject, EyeQ's three grades), each
// with the measured criteria and the reasons in words.
//
// In: a decoded photo (image.Image; *image.NRGBA, as fundus.Load gives, is
// read fastest) and what fundus.DetectFOV found on it, including its
// error; optionally, from the disc locator, whether the optic disc and the
// fovea were found (Options). Check does the DetectFOV call itself. Out:
// an Assessment, plain data that encodes to JSON (grades as "good",
// "usable", "reject"; unmeasured numbers as null). Assess never fails.
//
// How: the photo is read once and reduced so that the field of view is
// 320 pixels across, whatever the camera's resolution; every measure is
// taken at that scale (about 20 ms for a 2144x1424 photo on one core).
// Modality criteria (shape of the bright region, a plain surround, colour,
// texture, a vessel network behind sharp outlines) have fixed limits set
// outside the range of the real photographs in ../shared/datasets. The
// quality grade comes from two sign-constrained logistic regressions on
// the quality measures (model.go), fitted on the 382 EyeQ-graded photos of
// eye_diseases_4class by TestCalibrate (model_fit.go), and from hard
// limits per criterion for failures those photos do not contain in
// strength (black or missing parts of the field, heavy noise, glare).
// docs/quality.md lists the criteria, limits and measured figures.
//
// Dependency rule: the standard library and internal/fundus only (tests
// may also use assets/sample). No ONNX, no analysis, report or cmd: the
// analysis calls the gate and maps its verdict into the report.
package quality
