// Package diagnose turns a fundus photo's measured sections into disease
// judgements: diabetic retinopathy (ICDR 0-4, referable DR), diabetic
// macular edema risk (IDRiD 0-2), glaucoma suspicion, cataract and a
// normal/abnormal summary, each with a calibrated probability, a decision
// threshold chosen on training folds only, and a list of checkable evidence
// (docs/diagnose.md, card models/diagnose.md).
//
// Its entry points are Classifier (the embedded image classifier run on the
// photo's field-of-view crop), Model.Calibrate (logits to probabilities) and
// Judge (probabilities plus whatever report sections exist to a
// report.Diagnoses).
//
// It may import the standard library, internal/infer, internal/fundus and
// internal/report; it must not import internal/analysis (which calls it),
// the other stages' packages, the server, the assistant or the CLI.
package diagnose
