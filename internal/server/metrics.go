package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	rtmetrics "runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
)

// metrics are counters and sums in Prometheus' text format, written by
// hand (no client library).
type metrics struct {
	mu        sync.Mutex
	requests  map[routeCode]*sum
	stages    map[string]*sum
	analyses  map[string]int64 // by outcome
	cacheHits int64
	storeOK   int64
	storeErr  int64
	restores  map[string]int64 // stored analyses made ready to draw, by outcome
}

type routeCode struct {
	route string
	code  int
}

// sum is a Prometheus histogram of durations: a count per bucket of
// latencyBounds (not cumulative; the last counts what exceeds them all),
// their number and their sum, so scrapers can estimate percentiles (p50,
// p99) per route and stage, which a sum and a count cannot give.
type sum struct {
	count   int64
	seconds float64
	buckets [len(latencyBounds) + 1]int64
}

// latencyBounds are the histograms' upper bounds in seconds: from a
// metrics scrape (milliseconds) to an analysis on a busy machine (tens of
// seconds).
var latencyBounds = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

func (s *sum) observe(sec float64) {
	s.count++
	s.seconds += sec
	i := 0
	for i < len(latencyBounds) && sec > latencyBounds[i] {
		i++
	}
	s.buckets[i]++
}

// writeHistogram writes s as the _bucket, _sum and _count lines of name
// with the labels (`key="value",…`, without braces).
func writeHistogram(p func(string, ...any), name, labels string, s *sum) {
	var cum int64
	for i, b := range latencyBounds {
		cum += s.buckets[i]
		p("%s_bucket{%s,le=\"%s\"} %d\n", name, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	p("%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, s.count)
	p("%s_sum{%s} %s\n", name, labels, float(s.seconds))
	p("%s_count{%s} %d\n", name, labels, s.count)
}

func newMetrics() *metrics {
	return &metrics{requests: map[routeCode]*sum{}, stages: map[string]*sum{}, analyses: map[string]int64{}, restores: map[string]int64{}}
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := routeCode{route, code}
	s := m.requests[k]
	if s == nil {
		s = &sum{}
		m.requests[k] = s
	}
	s.observe(d.Seconds())
}

func (m *metrics) cacheHit() {
	m.mu.Lock()
	m.cacheHits++
	m.mu.Unlock()
}

// stored counts one write to the store.
func (m *metrics) stored(err error) {
	m.mu.Lock()
	if err != nil {
		m.storeErr++
	} else {
		m.storeOK++
	}
	m.mu.Unlock()
}

// restored counts one stored analysis rebuilt from its layers.
func (m *metrics) restored(err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.mu.Lock()
	m.restores[outcome]++
	m.mu.Unlock()
}

// analysis records one finished analysis and its stage timings.
func (m *metrics) analysis(res *analysis.Result, err error, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	outcome := "ok"
	if err != nil {
		_, code, _ := errorStatus(err)
		outcome = code
	}
	m.analyses[outcome]++
	add := func(stage string, sec float64) {
		s := m.stages[stage]
		if s == nil {
			s = &sum{}
			m.stages[stage] = s
		}
		s.observe(sec)
	}
	add("total", d.Seconds())
	if res != nil && res.Report != nil {
		for _, t := range res.Report.Timings {
			add(t.Stage, t.Ms/1000)
		}
	}
}

// gauges are the values read at scrape time.
type gauges struct {
	queueDepth, queueCapacity, workers, running, cacheEntries int
	cacheBytes                                                int64
	ready                                                     bool
	uploads, maxUploads                                       int
	store                                                     *StoreStats // nil: no --store
}

func (m *metrics) write(w io.Writer, g gauges) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ew := &errWriter{w: w}
	p := ew.printf
	p("# HELP retinalgpt_http_requests_total HTTP requests by route and status code.\n# TYPE retinalgpt_http_requests_total counter\n")
	keys := make([]routeCode, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		p("retinalgpt_http_requests_total{route=%s,code=\"%d\"} %d\n", quote(k.route), k.code, m.requests[k].count)
	}
	p("# HELP retinalgpt_http_request_duration_seconds Time to answer HTTP requests, by route and status code.\n# TYPE retinalgpt_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		writeHistogram(p, "retinalgpt_http_request_duration_seconds", fmt.Sprintf("route=%s,code=\"%d\"", quote(k.route), k.code), m.requests[k])
	}
	p("# HELP retinalgpt_analysis_stage_seconds Wall time of analysis stages (from the Report's timings; \"total\" is the whole analysis).\n# TYPE retinalgpt_analysis_stage_seconds histogram\n")
	stages := make([]string, 0, len(m.stages))
	for s := range m.stages {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, st := range stages {
		writeHistogram(p, "retinalgpt_analysis_stage_seconds", "stage="+quote(st), m.stages[st])
	}
	p("# HELP retinalgpt_analyses_total Analyses run, by outcome.\n# TYPE retinalgpt_analyses_total counter\n")
	outcomes := make([]string, 0, len(m.analyses))
	for o := range m.analyses {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	for _, o := range outcomes {
		p("retinalgpt_analyses_total{outcome=%s} %d\n", quote(o), m.analyses[o])
	}
	p("# HELP retinalgpt_analysis_cache_hits_total Uploads answered from the cache or by joining the same image's analysis in flight.\n# TYPE retinalgpt_analysis_cache_hits_total counter\nretinalgpt_analysis_cache_hits_total %d\n", m.cacheHits)
	p("# HELP retinalgpt_store_writes_total Analyses written to the store (--store), by outcome.\n# TYPE retinalgpt_store_writes_total counter\nretinalgpt_store_writes_total{outcome=\"ok\"} %d\nretinalgpt_store_writes_total{outcome=\"error\"} %d\n", m.storeOK, m.storeErr)
	p("# HELP retinalgpt_store_restores_total Stored analyses made ready for overlay.png and report.html from their stored layers, without running the models, by outcome.\n# TYPE retinalgpt_store_restores_total counter\nretinalgpt_store_restores_total{outcome=\"ok\"} %d\nretinalgpt_store_restores_total{outcome=\"error\"} %d\n", m.restores["ok"], m.restores["error"])
	if st := g.store; st != nil {
		p("# HELP retinalgpt_store_entries Analyses kept in the store.\n# TYPE retinalgpt_store_entries gauge\nretinalgpt_store_entries %d\n", st.Entries)
		p("# HELP retinalgpt_store_bytes Bytes of the analyses kept in the store (photos, layers, reports).\n# TYPE retinalgpt_store_bytes gauge\nretinalgpt_store_bytes %d\n", st.Bytes)
		p("# HELP retinalgpt_store_pruned_total Store entries removed, by reason (age: --store-max-age; bytes: --store-max-bytes; incomplete: a crash's leftovers at start-up).\n# TYPE retinalgpt_store_pruned_total counter\n")
		for _, r := range []string{pruneAge, pruneBytes, pruneIncomplete} {
			p("retinalgpt_store_pruned_total{reason=%s} %d\n", quote(r), st.Pruned[r])
		}
		p("# HELP retinalgpt_store_pruned_bytes_total Bytes of the store entries removed, by reason.\n# TYPE retinalgpt_store_pruned_bytes_total counter\n")
		for _, r := range []string{pruneAge, pruneBytes, pruneIncomplete} {
			p("retinalgpt_store_pruned_bytes_total{reason=%s} %d\n", quote(r), st.PrunedBytes[r])
		}
	}
	p("# HELP retinalgpt_analysis_queue_depth Analyses waiting for a worker.\n# TYPE retinalgpt_analysis_queue_depth gauge\nretinalgpt_analysis_queue_depth %d\n", g.queueDepth)
	p("# HELP retinalgpt_analysis_queue_capacity Analyses that may wait before uploads get 429.\n# TYPE retinalgpt_analysis_queue_capacity gauge\nretinalgpt_analysis_queue_capacity %d\n", g.queueCapacity)
	p("# HELP retinalgpt_analysis_workers Analysis workers.\n# TYPE retinalgpt_analysis_workers gauge\nretinalgpt_analysis_workers %d\n", g.workers)
	p("# HELP retinalgpt_analysis_running Analyses running now.\n# TYPE retinalgpt_analysis_running gauge\nretinalgpt_analysis_running %d\n", g.running)
	p("# HELP retinalgpt_analysis_cache_entries Analyses kept in the cache.\n# TYPE retinalgpt_analysis_cache_entries gauge\nretinalgpt_analysis_cache_entries %d\n", g.cacheEntries)
	p("# HELP retinalgpt_analysis_cache_bytes Estimated memory of the cached analyses.\n# TYPE retinalgpt_analysis_cache_bytes gauge\nretinalgpt_analysis_cache_bytes %d\n", g.cacheBytes)
	p("# HELP retinalgpt_uploads_in_progress Requests with a photo (uploads, chat) being read, queued or analysed.\n# TYPE retinalgpt_uploads_in_progress gauge\nretinalgpt_uploads_in_progress %d\n", g.uploads)
	p("# HELP retinalgpt_uploads_max Requests with a photo allowed at once before 429 (--max-uploads).\n# TYPE retinalgpt_uploads_max gauge\nretinalgpt_uploads_max %d\n", g.maxUploads)
	if rss, peak := procMemory(); rss > 0 {
		p("# HELP process_resident_memory_bytes Resident memory of the process (Linux /proc/self/status VmRSS): ONNX Runtime's memory included, which the Go heap figures miss.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", rss)
		p("# HELP retinalgpt_process_resident_memory_peak_bytes Peak resident memory of the process (VmHWM).\n# TYPE retinalgpt_process_resident_memory_peak_bytes gauge\nretinalgpt_process_resident_memory_peak_bytes %d\n", peak)
	}
	p("# HELP retinalgpt_go_heap_bytes Bytes of live and not yet collected Go heap objects (the cache among them).\n# TYPE retinalgpt_go_heap_bytes gauge\nretinalgpt_go_heap_bytes %d\n", goHeapBytes())
	ready := 0
	if g.ready {
		ready = 1
	}
	p("# HELP retinalgpt_ready Whether the models are loaded.\n# TYPE retinalgpt_ready gauge\nretinalgpt_ready %d\n", ready)
	return ew.err
}

func quote(s string) string { return strconv.Quote(s) }

func float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		if s.code == 0 {
			s.code = http.StatusOK
		}
		f.Flush()
	}
}

// procMemory reads the resident and peak resident memory of the process
// from /proc/self/status, in bytes (0, 0 off Linux).
func procMemory() (rss, peak int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// goHeapBytes is the Go heap's object bytes, without stopping the world.
func goHeapBytes() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
