package server

import (
	"strings"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	m := newMetrics()
	for _, d := range []time.Duration{3 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond, 2 * time.Second, 90 * time.Second} {
		m.request("GET /x", 200, d)
	}
	var b strings.Builder
	if err := m.write(&b, gauges{}); err != nil {
		t.Fatal(err)
	}
	// Cumulative counts at each bound; the 90 s one only under +Inf.
	for _, want := range []string{
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="0.005"} 1`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="0.025"} 1`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="0.05"} 3`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="2.5"} 4`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="60"} 4`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /x",code="200",le="+Inf"} 5`,
		`retinalgpt_http_request_duration_seconds_count{route="GET /x",code="200"} 5`,
		"# TYPE retinalgpt_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
