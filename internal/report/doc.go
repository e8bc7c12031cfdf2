// Package report defines the Report: the one typed, versioned document an
// analysis produces and every consumer (CLI summary, chat, HTTP API,
// exporters, dataset builder) reads.
//
// Its JSON is the public contract, documented field by field in
// docs/report.md (a test keeps the two in step). Bump SchemaVersion's minor
// number when adding fields and its major number when changing or removing
// one.
//
// It imports only the standard library so that any tool can read reports
// without pulling in image decoding or ONNX Runtime.
package report
