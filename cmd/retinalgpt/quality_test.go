package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// greySample is the bundled photo in greyscale: a round field of view on
// black, as a red-free photograph or a scan would be, that the modality
// check refuses (no colour) while a field of view is still found.
func greySample(t *testing.T) image.Image {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(sample.Photo()))
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(src.Bounds())
	draw.Draw(g, g.Bounds(), src, src.Bounds().Min, draw.Src)
	return g
}

// Images that are not colour fundus photographs are refused before any
// model runs: exit status 4, one line naming the file and the gate's
// reason, and no files written.
func TestAnalyzeRefusesNonFundus(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	grey := image.NewRGBA(image.Rect(0, 0, 400, 300))
	draw.Draw(grey, grey.Bounds(), image.NewUniform(color.RGBA{128, 128, 128, 255}), image.Point{}, draw.Src)
	noise := image.NewRGBA(image.Rect(0, 0, 400, 300))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			noise.Pix[i] = 255
		}
	}
	writePNG(t, filepath.Join(dir, "grey.png"), grey)
	writePNG(t, filepath.Join(dir, "noise.png"), noise)
	writePNG(t, filepath.Join(dir, "redfree.png"), greySample(t))
	for _, tc := range []struct{ file, reason string }{
		{"grey.png", "blank"},
		{"noise.png", "noise"},
		{"redfree.png", "greyscale"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out := t.TempDir()
			_, stderr, code := run(t, "analyze", filepath.Join(dir, tc.file), "--out", out)
			if code != exitNotFundus {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitNotFundus, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.file) || !strings.Contains(lines[0], "not a colour fundus photograph") ||
				!strings.Contains(lines[0], tc.reason) {
				t.Errorf("want one line naming %s, saying it is not a colour fundus photograph and %q; got %q", tc.file, tc.reason, stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a refused image left files: %v", entries)
			}
		})
	}
}

// --no-quality-gate analyses an image with a field of view that the gate
// would refuse, and says so in the report, a warning and the summary.
func TestAnalyzeNoQualityGate(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "redfree.png")
	writePNG(t, path, greySample(t))
	_, stderr, code := run(t, "analyze", path, "--no-files")
	if code != exitNotFundus || !strings.Contains(stderr, "--no-quality-gate") {
		t.Errorf("gate on: exit %d, stderr %q; want %d and the flag that lifts it", code, stderr, exitNotFundus)
	}
	stdout, stderr, code := run(t, "analyze", path, "--no-quality-gate", "--json", "--no-files")
	if code != 0 {
		t.Fatalf("gate off: exit %d: %s", code, stderr)
	}
	r, err := report.Decode(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	q := r.Quality
	if q == nil || q.Gate != "off" || q.Modality.IsFundus || q.Grade != "reject" || len(q.Modality.Reasons) == 0 {
		t.Fatalf("quality section %+v: want gate off, not fundus, graded reject, with reasons", q)
	}
	if len(r.Warnings) == 0 || !strings.HasPrefix(r.Warnings[0], "NOT a colour fundus photograph") {
		t.Errorf("first warning %q: want the gate's", r.Warnings)
	}
	// A file with no field of view is refused even with the gate off.
	blank := filepath.Join(dir, "blank.png")
	writePNG(t, blank, image.NewGray(image.Rect(0, 0, 200, 200)))
	_, stderr, code = run(t, "analyze", blank, "--no-quality-gate", "--no-files")
	if code != exitNotFundus || strings.Contains(stderr, "--no-quality-gate") || !strings.Contains(stderr, "field of view") {
		t.Errorf("blank with the gate off: exit %d, stderr %q", code, stderr)
	}
}

// The bundled sample gets a grade, the quality section with its criteria,
// the stage's timing and a summary line.
func TestAnalyzeSampleQuality(t *testing.T) {
	requireORT(t)
	out := t.TempDir()
	stdout, stderr, code := run(t, "analyze", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "\n  quality        good") {
		t.Errorf("summary lacks the quality line (good):\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "idrid_055_report.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	q := r.Quality
	if q == nil {
		t.Fatal("no quality section")
	}
	if q.Gate != "on" || !q.Modality.IsFundus || q.Modality.Score < 0.5 || q.Grade != "good" {
		t.Errorf("quality %+v: want the gate on, a fundus photograph graded good", q)
	}
	if p := q.Probabilities; p.Good+p.Usable+p.Reject < 0.99 || p.Good+p.Usable+p.Reject > 1.01 {
		t.Errorf("probabilities %+v do not sum to 1", p)
	}
	names := map[string]bool{}
	for _, c := range q.Criteria {
		names[c.Name] = true
	}
	for _, want := range []string{"brightness", "focus", "field_coverage", "optic_disc_visible"} {
		if !names[want] {
			t.Errorf("criteria lack %s: %v", want, names)
		}
	}
	if len(q.Modality.Criteria) == 0 {
		t.Error("no modality criteria")
	}
	var stages []string
	for _, tm := range r.Timings {
		stages = append(stages, tm.Stage)
	}
	if len(stages) < 2 || stages[0] != "normalize" || stages[1] != "quality" {
		t.Errorf("timings %v: want quality right after normalize", stages)
	}
	// Limits without a value are null in the JSON, not missing or NaN.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, c := range raw["quality"].(map[string]any)["criteria"].([]any) {
		if _, ok := c.(map[string]any)["reject_limit"]; !ok {
			t.Errorf("criterion %v has no reject_limit key", c)
		}
	}
}

// version lists every embedded model with its version and digest.
func TestVersionListsModels(t *testing.T) {
	stdout, stderr, code := run(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"vessels", "av", "disc", "disccup", "lesions"} {
		found := false
		for _, line := range strings.Split(stdout, "\n") {
			f := strings.Fields(line)
			if len(f) == 4 && f[0] == "model" && f[1] == name && strings.HasPrefix(f[3], "sha256:") && len(f[3]) == len("sha256:")+16 {
				found = true
			}
		}
		if !found {
			t.Errorf("version does not list model %s with its sha256 prefix:\n%s", name, stdout)
		}
	}
	if !strings.Contains(stdout, "report schema "+report.SchemaVersion) {
		t.Errorf("version lacks the schema:\n%s", stdout)
	}
}
