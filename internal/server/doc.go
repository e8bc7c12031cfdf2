// Package server is RetinalGPT's HTTP API: uploads analysed by a fixed
// pool of workers behind a bounded queue (429 beyond it), identical images
// analysed once (content SHA-256, an LRU of results with a memory bound),
// the Report, its overlay PNG, its AutoMorph-compatible CSV row
// (reportcsv.go, through internal/biomarkers' CSV writer) and a printable
// HTML report (report.html.tmpl), an OpenAI-compatible chat completion
// answered by an assistant engine from the Report, health, readiness,
// Prometheus metrics written by hand, an embedded OpenAPI document, and
// the web app: plain HTML, CSS and JS under web/, embedded and served at /
// and /static/ without a token (the page asks for it and keeps it in
// sessionStorage); it fetches nothing from elsewhere.
//
// Errors map to HTTP statuses in one place (errorStatus). It is a consumer
// of analysis, report, overlay and assistant; it must not import cmd,
// dataset or eval, and nothing but cmd imports it.
package server
