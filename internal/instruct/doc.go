// Package instruct turns dataset records and their analysis Reports into
// LLaVA-format instruction data: features.csv and features.parquet
// (labels and biomarkers per image), stage1_alignment.json (one-turn
// descriptions), stage2_instruct.json (3-6 turn conversations), their
// _val and _test siblings, and manifest.json.
//
// In: []dataset.Record (internal/dataset) and an AnalyzeFunc that turns a
// photo's bytes into a *report.Report (the command wires it to
// internal/analysis; tests use a fake). Out: the files above, each written
// atomically (temp file + rename).
//
// Run is resumable and shardable: every finished record goes at once to a
// journal (Entry, one file each) beside shard.json (ShardInfo); a rerun
// skips what is journalled, a shard (Config.Shard of Config.Shards) builds
// its share of the records, and Merge writes from the shards' journals
// exactly the outputs of a single run. The train/val/test sets are
// assigned per group of duplicates (SHA-256, a DCT pHash over flips and
// turns confirmed by a thumbnail correlation) and patients, with official
// test splits and --exclude-eval images kept out of training (split.go).
//
// Config.Lesions (dataset build --lesions) says the Reports come from the
// lesion stage too; it is part of the build's identity and of the cache's
// file names, and a Report with a lesions section is always asked about
// its lesions (counts, quadrants, normalized boxes). On resume, failures
// of kind "error" and "conversation" are retried (retried).
//
// Answers about the photo are rendered by the assistant's built-in engine
// from the Report, answers about the dataset's labels from the labels;
// every number in every answer is checked against that answer's own
// provenance (Verify: the engine answer's grounded facts; VerifyLabels:
// the labels) and a turn that fails is dropped and listed. An optional
// Rewriter (OpenAIRewriter: an OpenAI-compatible server through
// openai-go; OllamaRewriter: Ollama's native API) paraphrases the
// answers; a sample whose paraphrase changed, added or dropped a number
// (SameNumbers) is dropped and listed. Near duplicates are found through
// a multi-index of the perceptual hashes (nearPairs), not all pairs.
//
// It imports dataset, report, fundus (decoding, for the hashes) and
// assistant; it must not import analysis, the model stages or ONNX
// Runtime (the command injects the analysis).
package instruct
