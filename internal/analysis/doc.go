// Package analysis is the pipeline: a decoded photo in, a Report and its
// pixel products (vessel maps at original resolution) out.
//
// Stages run in one direction: field of view and normalization (fundus),
// models (disc and fovea landmarks; optic disc and cup on a crop around
// the located disc, which also calibrates micrometres from the disc
// diameter when nothing else does; vessels), then measurements
// (biomarkers, over the FOV and in zones B and C around a found disc);
// each adds its section to the Report and its wall time to
// Report.Timings. An Analyzer holds the model sessions,
// created once; Analyze is safe for concurrent use.
//
// It may import any analysis-stage package (fundus, infer, vessels, …),
// report and models; it must not import the consumers (cmd, assistant,
// server, dataset, eval).
package analysis
