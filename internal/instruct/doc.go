// Package instruct turns dataset records and their analysis Reports into
// LLaVA-format instruction data: features.csv (labels and biomarkers per
// image), stage1_alignment.json (one-turn descriptions),
// stage2_instruct.json (3-6 turn conversations) and manifest.json.
//
// In: []dataset.Record (internal/dataset) and an AnalyzeFunc that turns a
// photo's bytes into a *report.Report (the command wires it to
// internal/analysis; tests use a fake). Out: the files above, each written
// atomically (temp file + rename).
//
// Answers about the photo are rendered by the assistant's built-in engine
// from the Report, answers about the dataset's labels from the labels;
// every number in every answer is checked against the Report and the
// labels (Verify) and a turn that fails is dropped and counted.
//
// It imports dataset, report and assistant; it must not import analysis,
// the model stages or ONNX Runtime (the command injects the analysis).
package instruct
