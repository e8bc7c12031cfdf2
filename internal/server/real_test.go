package server

import (
	"bytes"
	"encoding/json"
	"image/png"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// TestRealAnalysis analyses the bundled sample through the API with the
// real models (skipped without ONNX Runtime unless RETINALGPT_REQUIRE_ORT).
func TestRealAnalysis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every model")
	}
	an, err := analysis.New(analysis.Config{Runtime: infer.Config{Threads: 2}, Version: "test"})
	infertest.SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	_, ts := newTest(t, Config{Analyzer: an, Workers: 1})
	photo := sample.Photo()
	resp, b := do(t, "POST", ts.URL+"/v1/analyses?name=idrid_055.jpg", "", "image/jpeg", photo)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	r, err := report.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != sha256Hex(photo)[:16] || r.Image.File != "idrid_055.jpg" || r.Vessels == nil || len(r.Timings) == 0 {
		t.Fatalf("report: id %q file %q vessels %v timings %d", r.ID, r.Image.File, r.Vessels != nil, len(r.Timings))
	}
	resp, b = do(t, "GET", ts.URL+"/v1/analyses/"+r.ID+"/overlay.png?layers=vessels,av,disc,zones", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("overlay: %d", resp.StatusCode)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != r.Image.Width {
		t.Fatalf("overlay: %v", err)
	}
	resp, b = do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", chatBody(t, photo, false, "What is the AVR?"))
	var c chatCompletion
	if resp.StatusCode != 200 || json.Unmarshal(b, &c) != nil || c.RetinalGPT.AnalysisID != r.ID {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	t.Logf("answer: %s", c.Choices[0].Message.Content)
	_, m := do(t, "GET", ts.URL+"/metrics", "", "", nil)
	if !bytes.Contains(m, []byte(`retinalgpt_analysis_stage_seconds_count{stage="vessels"}`)) {
		t.Logf("stage names in metrics:\n%s", m)
	}
}
