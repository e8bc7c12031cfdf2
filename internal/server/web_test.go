package server

import (
	"bytes"
	"encoding/csv"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// upload posts a test photo and returns the analysis id.
func upload(t *testing.T, url, token string) string {
	t.Helper()
	resp, b := do(t, "POST", url+"/v1/analyses", token, "image/png", testPNG(t, 7))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	return strings.TrimPrefix(resp.Header.Get("Location"), "/v1/analyses/")
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func TestWebAppLocalAssets(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{}, Token: "tok"})
	resp, b := do(t, "GET", ts.URL+"/", "", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	refs := assetRef.FindAllStringSubmatch(string(b), -1)
	if len(refs) < 2 {
		t.Fatalf("/ references %d assets", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if strings.Contains(ref, "//") || !strings.HasPrefix(ref, "/static/") {
			t.Errorf("/ references %q, not a local /static/ asset", ref)
			continue
		}
		// Assets are public: the page asks for the token itself.
		resp, body := do(t, "GET", ts.URL+ref, "", "", nil)
		want := map[string]string{".css": "text/css", ".js": "text/javascript"}[path.Ext(ref)]
		if resp.StatusCode != 200 || len(body) == 0 || want == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
			t.Errorf("%s: %d, %q, %d bytes (want %s)", ref, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), want)
		}
		// The SVG namespace is a name, never fetched.
		body = bytes.ReplaceAll(body, []byte(`"http://www.w3.org/2000/svg"`), nil)
		if bytes.Contains(body, []byte("http://")) || bytes.Contains(body, []byte("https://")) {
			t.Errorf("%s refers to a remote URL", ref)
		}
	}
	// The API itself still needs the token.
	if resp, _ := do(t, "GET", ts.URL+"/v1/analyses/x", "", "", nil); resp.StatusCode != 401 {
		t.Errorf("API without token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", ts.URL+"/static/nope.js", "", "", nil); resp.StatusCode != 404 {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

// TestWebAssetsServed checks every embedded file's content type.
func TestWebAssetsServed(t *testing.T) {
	_, ts := newTest(t, Config{})
	types := map[string]string{".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		url := strings.TrimPrefix(p, "web")
		if url == "/index.html" {
			url = "/"
		}
		resp, body := do(t, "GET", ts.URL+url, "", "", nil)
		want, ok := types[path.Ext(p)]
		if !ok {
			t.Errorf("%s: no expected content type for this extension", p)
		} else if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || len(body) == 0 {
			t.Errorf("%s: %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWebJSParses(t *testing.T) {
	src, err := webFS.ReadFile("web/static/app.js")
	if err != nil || len(bytes.TrimSpace(src)) == 0 {
		t.Fatalf("app.js: %v, %d bytes", err, len(src))
	}
	// Cheap checks: balanced brackets outside strings are left to node.
	for _, s := range []string{"/v1/chat/completions", "/v1/analyses", "overlay.png?layers=", "sessionStorage", "stream: true"} {
		if !bytes.Contains(src, []byte(s)) {
			t.Errorf("app.js lacks %q", s)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: app.js syntax not checked")
	}
	f := t.TempDir() + "/app.js"
	if err := os.WriteFile(f, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
		t.Errorf("node --check app.js: %v\n%s", err, out)
	}
}

func TestReportCSV(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{}, Token: "tok"})
	id := upload(t, ts.URL, "tok")
	resp, b := do(t, "GET", ts.URL+"/v1/analyses/"+id+"/report.csv", "tok", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report.csv: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 2 || len(recs[0]) != len(recs[1]) {
		t.Fatalf("report.csv is not a header and one row (%v): %s", err, b)
	}
	head := recs[0]
	want := []string{"Name", "Fractal_dimension", "Vessel_density", "Average_width", "Distance_tortuosity",
		"Squared_curvature_tortuosity", "Tortuosity_density"}
	if strings.Join(head[:len(want)], ",") != strings.Join(want, ",") {
		t.Errorf("header starts %v, want AutoMorph's %v", head[:len(want)], want)
	}
	for _, h := range []string{"Fractal_dimension_zone_b", "Vessel_density_zone_c", "fractal_dimension_skeleton", "vessel_density_fov", "segment_count_zone_b"} {
		if !strings.Contains(","+strings.Join(head, ",")+",", ","+h+",") {
			t.Errorf("header lacks %s", h)
		}
	}
	// AutoMorph's columns come before any of ours.
	lastUpper, firstLower := 0, len(head)
	for i, h := range head[1:] {
		if h[0] >= 'A' && h[0] <= 'Z' {
			lastUpper = i + 1
		} else if i+1 < firstLower {
			firstLower = i + 1
		}
	}
	if lastUpper > firstLower {
		t.Errorf("AutoMorph column %s after our %s", head[lastUpper], head[firstLower])
	}
	if recs[1][1] == "" {
		t.Error("Fractal_dimension empty")
	}
	if resp, _ := do(t, "GET", ts.URL+"/v1/analyses/nope/report.csv", "tok", "", nil); resp.StatusCode != 404 {
		t.Errorf("unknown id: %d", resp.StatusCode)
	}
}

// TestReportRowAV checks the A/V and calibre columns from a Report that
// has them, in the CLI's order.
func TestReportRowAV(t *testing.T) {
	b, err := os.ReadFile("../assistant/testdata/sample_report.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	v := r.Vessels
	v.Artery, v.Vein = v.Measures, v.Measures
	v.AV = &report.AVLabels{ArterySegments: 3, VeinSegments: 4, ArteryPx: 10, VeinPx: 20}
	crae, avr := 12.5, 0.71
	v.Calibre = &report.Calibre{Computed: true, SixWidest: &report.CalibreEstimate{ArteriesUsed: 6, VeinsUsed: 5,
		Knudtson: report.Knudtson{CRAEPx: &crae, AVR: &avr}, Hubbard: report.Hubbard{Absent: "not calibrated"}}}
	row := reportRow(r)
	got := map[string]string{}
	var order []string
	for _, c := range row {
		got[c.Header] = c.Value
		order = append(order, c.Header)
	}
	for h, want := range map[string]string{"CRAE_Knudtson_zone_b": "12.5000", "AVR_Knudtson_zone_b": "0.7100", "CRAE_Hubbard_zone_b": "",
		"CRAE_Knudtson_zone_c": "", "crae_vessel_count_zone_b": "6", "av_artery_segment_count": "3", "Artery_Vessel_density_zone_b": "" /* no zone artery measures */} {
		if v, ok := got[h]; !ok || v != want {
			t.Errorf("%s = %q (present %v), want %q", h, v, ok, want)
		}
	}
	if !strings.Contains(got["calibre_notes"], "not calibrated") {
		t.Errorf("calibre_notes %q", got["calibre_notes"])
	}
	if got["Artery_Fractal_dimension"] == "" || order[7] != "Artery_Fractal_dimension" {
		t.Errorf("artery columns: %v", order[:10])
	}
}

func TestReportHTML(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{}})
	id := upload(t, ts.URL, "")
	resp, b := do(t, "GET", ts.URL+"/v1/analyses/"+id+"/report.html", "", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("report.html: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	page := string(b)
	for _, want := range []string{`id="not-a-diagnosis"`, "Not a diagnosis", `id="quality"`, `id="disc"`, "cup-to-disc ratio",
		`id="vessels"`, `id="calibre"`, `id="warnings"`, `id="models"`, "data:image/jpeg;base64,", "@media print", id, "µm"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("report.html refers to a remote URL")
	}
}

// handDiagnoses adds a hand-made diagnoses section (schema 1.7.0) to r,
// until the stage that fills it runs in tests.
func handDiagnoses(r *report.Report) {
	v3, v07 := 3.0, 0.71
	r.SchemaVersion = report.SchemaVersion
	r.Diagnoses = &report.Diagnoses{
		Model: "diagnose@test", Sources: []string{"classifier", "lesions", "disc_cup"},
		Findings: []report.Diagnosis{
			{Key: "dr", Name: "diabetic retinopathy", Grade: 2, Label: "moderate NPDR", Scale: "ICDR 0-4",
				Probabilities: []float64{0.1, 0.2, 0.4, 0.2, 0.1}, Probability: 0.7, Positive: true, Threshold: 0.45,
				Evidence: []report.Evidence{{Source: "lesions", Text: "3 haemorrhages in the inferior temporal quadrant", Value: &v3, Unit: "count"}}},
			{Key: "glaucoma", Name: "glaucoma", Grade: 0, Label: "absent", Scale: "absent/present",
				Probabilities: []float64{0.8, 0.2}, Probability: 0.2, Positive: false, Threshold: 0.5,
				Evidence: []report.Evidence{{Source: "disc_cup", Text: "vertical cup-to-disc ratio 0.71", Value: &v07, Unit: "ratio"}}},
		},
		NotJudged: []report.NotAssessed{{Section: "cataract", Reason: "the quality measures were not taken"}},
		Caveat:    "Not a diagnosis: a screening aid to be confirmed by an eye-care professional.",
	}
}

func TestReportHTMLDiagnoses(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{mutate: handDiagnoses}})
	id := upload(t, ts.URL, "")
	resp, b := do(t, "GET", ts.URL+"/v1/analyses/"+id+"/report.html", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	page := string(b)
	for _, want := range []string{`id="diagnoses"`, "diabetic retinopathy", "moderate NPDR", "(positive)", "0.70", "0.45",
		"3 haemorrhages in the inferior temporal quadrant", "[lesions]", "vertical cup-to-disc ratio 0.71", "Not assessed: cataract — the quality measures were not taken",
		"Not a diagnosis: a screening aid", "diagnose@test"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Without the section, none of it.
	_, ts2 := newTest(t, Config{Analyzer: &fake{}})
	_, b = do(t, "GET", ts2.URL+"/v1/analyses/"+upload(t, ts2.URL, "")+"/report.html", "", "", nil)
	if strings.Contains(string(b), `id="diagnoses"`) {
		t.Error("report.html shows a diagnoses section the report lacks")
	}
}
