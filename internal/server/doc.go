// Package server is RetinalGPT's HTTP API: uploads analysed by a fixed
// pool of workers behind a bounded queue (429 beyond it), identical images
// analysed once (content SHA-256, an LRU of results with a memory bound),
// the Report and its overlay PNG, an OpenAI-compatible chat completion
// answered by an assistant engine from the Report, health, readiness,
// Prometheus metrics written by hand and an embedded OpenAPI document.
//
// Errors map to HTTP statuses in one place (errorStatus). It is a consumer
// of analysis, report, overlay and assistant; it must not import cmd,
// dataset or eval, and nothing but cmd imports it.
package server
