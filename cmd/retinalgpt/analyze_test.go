package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

func TestPrintDisc(t *testing.T) {
	n, tm := 20.5, 12.0
	found := &report.Disc{
		Model: "disccup@v", Found: true, Confidence: 0.93, HeightPx: 130, WidthPx: 120, AreaPx: 12300, RadiusPx: 62.5,
		Cup: &report.Cup{HeightPx: 65, WidthPx: 50, AreaPx: 2600},
		CDR: &report.CDR{Vertical: 0.5, Horizontal: 0.4167, Area: 0.2114},
		Rim: &report.Rim{InferiorPx: 30, SuperiorPx: 28, NasalPx: &n, TemporalPx: &tm, NasalSide: "right", ISNT: "holds"},
		Zones: &report.Zones{
			B: report.Zone{Center: report.Point{X: 700, Y: 380}, InnerPx: 125, OuterPx: 187.5},
			C: report.Zone{Center: report.Point{X: 700, Y: 380}, InnerPx: 125, OuterPx: 312.5},
		},
	}
	var buf bytes.Buffer
	printDisc(&buf, found)
	for _, want := range []string{"130 x 120 px", "vertical 0.50, horizontal 0.42, area 0.21", "I 30.0, S 28.0, N 20.5, T 12.0 px; ISNT rule holds", "B 125-188 px, C 125-312 px"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "µm") {
		t.Errorf("micrometres printed without them in the report:\n%s", buf.String())
	}
	buf.Reset()
	printDisc(&buf, &report.Disc{Model: "disccup@v", Reason: "low confidence"})
	if got := buf.String(); !strings.Contains(got, "not found: low confidence") || strings.Contains(got, "cup-to-disc") {
		t.Errorf("not-found summary:\n%s", got)
	}
}

// The sample's summary and report carry the disc stage, found or not.
func TestAnalyzeSampleDisc(t *testing.T) {
	requireORT(t)
	stdout, stderr, code := run(t, "analyze", "--no-files", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "cup-to-disc") && !strings.Contains(stdout, "disc and cup   not found") {
		t.Errorf("summary has no disc/cup finding:\n%s", stdout)
	}
	stdout, _, code = run(t, "analyze", "--no-files", "--json", "--threads", "2")
	r, err := report.Decode(strings.NewReader(stdout))
	if code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if r.Disc == nil || (r.Disc.Found && (r.Disc.CDR == nil || r.Calibration.Source != "disc_diameter")) {
		t.Errorf("disc section %+v, calibration %+v", r.Disc, r.Calibration)
	}
}
