// Package assistant answers questions about one analysed fundus photograph:
// the conversation state, the Engine seam, and the built-in grounded
// responder (the default engine: no network; its only weights are the
// small intent classifier in intent_model.tsv, generated from the labelled
// question sets).
//
// Everything an answer says about the photo comes from the Report, read as
// a JSON document through the registry (registry.go): a table that maps
// each measure to its path(s) in the Report, its name, unit, explanation
// and, where published, its usual range. A new Report field needs only a
// registry entry; the responder has no per-field code. When the Report
// lacks a value the answer says so and why (the reason the Report gives,
// e.g. the optic disc not found), and never fills it in. Disease questions
// are answered from the Report's diagnoses section (its experimental
// screening judgements, with their evidence and caveat), again through the
// registry.
//
// Flow: question → intent.Recognizer (rules + classifier: intent; rules:
// slots) → resolved against
// the previous turns (follow-ups) → registry lookups in the Report →
// wording chosen deterministically from the turn number.
//
// It imports report (the type only) and its own subpackages; it must not
// import analysis, the model stages, cmd or the server.
package assistant
