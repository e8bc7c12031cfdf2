// Package analysis is the pipeline: a decoded photo in, a Report and its
// pixel products (vessel maps at original resolution) out.
//
// Stages run in one direction: field of view and normalization (fundus),
// the quality and modality gate (internal/quality: an image that is not a
// colour fundus photograph is refused with a NotFundusError before any
// model runs, unless Options.NoQualityGate; the grade is redone once the
// disc/cup stage says whether the disc is visible, and a reject is
// analysed with a warning), models (disc and fovea landmarks; optic disc and cup on a crop around
// the located disc, which also calibrates micrometres from the disc
// diameter when nothing else does; vessels; arteries and veins, the A/V
// model on the analysis image scaled to AVSize, its per-pixel labels of
// the vessel mask on the analysis frame), then measurements (biomarkers
// of all vessels, of the artery and of the vein tree after the segment
// vote of biomarkers.MeasureAV, over the FOV and in zones B and C around a
// found disc, and CRAE/CRVE/AVR in zone B), and, only when
// Options.Lesions asks for it, the experimental lesion stage
// (internal/lesions, its model loaded on first use, given the disc, fovea,
// laterality and calibration found before; without it the report lists
// lesions in not_assessed); last, the diagnose stage (internal/diagnose:
// the image classifier on the analysis frame box-averaged to its input,
// calibrated, and the rules over the sections written before, into
// Report.Diagnoses; docs/diagnose.md);
// each adds its section to the Report and its wall time to
// Report.Timings. An Analyzer holds the model sessions,
// created once; Analyze is safe for concurrent use.
//
// It may import any analysis-stage package (fundus, infer, vessels, …),
// report and models; it must not import the consumers (cmd, assistant,
// server, dataset, eval).
package analysis
