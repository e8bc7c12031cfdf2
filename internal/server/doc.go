// Package server is RetinalGPT's HTTP API: uploads analysed by a fixed
// pool of workers behind a bounded queue (429 beyond it; requests with a
// photo beyond MaxUploads refused before their body is read), identical
// images analysed once (content SHA-256, an LRU of results with a memory
// bound), nothing written to disk unless a Store is given (store.go:
// each upload, its overlay layers (layers.go) and its Report by id,
// written atomically, read back after the cache dropped them or a restart
// without running the models, bounded in bytes and age, the oldest
// entries pruned whole),
// the Report, its overlay PNG, its AutoMorph-compatible CSV row
// (reportcsv.go, through internal/biomarkers' CSV writer) and a printable
// HTML report (report.html.tmpl, diagnoses included), an OpenAI-compatible
// chat completion answered by the configured assistant engine (built-in or
// an LLM) from the Report, with the regions of the photo the answer talks
// about as structured highlights (highlight.go), health, readiness,
// Prometheus metrics written by hand, an embedded OpenAPI document, and
// the web app: plain HTML, CSS and JS under web/, embedded and served at /
// and /static/ without a token (the page asks for it and keeps it in
// sessionStorage); it fetches nothing from elsewhere.
//
// Logs hold ids, routes, statuses and timings, never an image's bytes, a
// question or an answer (an internal error's message may name the
// uploaded file).
//
// Errors map to HTTP statuses in one place (errorStatus). It is a consumer
// of analysis, report, overlay and assistant; it must not import cmd,
// dataset or eval, and nothing but cmd imports it.
package server
