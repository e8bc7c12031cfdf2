package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A regression floor, not the target: the model card records the measured
// figures; these floors sit a little below them so that a broken
// normalization, threshold or tiling change fails loudly.
func TestEvalVesselsDatasets(t *testing.T) {
	requireORT(t)
	tests := []struct {
		dataset, root string
		images        int
		minAUC, minF1 float64
	}{
		{"drive", "../../../shared/datasets/drive", 20, 0.975, 0.80},
		{"chase", "../../../shared/datasets/chase_db1", 8, 0.970, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.dataset, func(t *testing.T) {
			if _, err := os.Stat(tc.root); err != nil {
				t.Skipf("%s not available: %v", tc.root, err)
			}
			stdout, stderr, code := run(t, "eval", "vessels", "--dataset", tc.dataset, "--root", tc.root, "--json", "--threads", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Images  []json.RawMessage `json:"images"`
				Overall struct {
					AUC float64 `json:"auc"`
					F1  float64 `json:"f1"`
				} `json:"overall"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
			}
			if len(got.Images) != tc.images {
				t.Errorf("%d images evaluated, want %d (the test split)", len(got.Images), tc.images)
			}
			if got.Overall.AUC < tc.minAUC || got.Overall.F1 < tc.minF1 {
				t.Errorf("AUC %.4f F1 %.4f, below the floor %.3f / %.3f", got.Overall.AUC, got.Overall.F1, tc.minAUC, tc.minF1)
			}
		})
	}
}

// The localization command on a few IDRiD training photos (which the disc
// model was trained on: this checks the plumbing, not accuracy).
func TestEvalLocalize(t *testing.T) {
	requireORT(t)
	src := "../../../shared/datasets/idrid/grading"
	labels, err := os.ReadFile(filepath.Join(src, "labels.csv"))
	if err != nil {
		t.Skipf("IDRiD grading copy not available: %v", err)
	}
	root := t.TempDir()
	lines := strings.SplitN(string(labels), "\n", 5)[:4] // header + 3 photos
	os.MkdirAll(filepath.Join(root, "images"), 0o755)
	for _, l := range lines[1:] {
		name := strings.Split(l, ",")[0]
		abs, _ := filepath.Abs(filepath.Join(src, "images", name))
		if err := os.Symlink(abs, filepath.Join(root, "images", name)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "labels.csv"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	stdout, stderr, code := run(t, "eval", "localize", "--dataset", "idrid", "--root", root, "--json", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Images      int     `json:"images"`
		ODMedian    float64 `json:"od_median_px"`
		FoveaMedian float64 `json:"fovea_median_px"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if got.Images != 3 || got.ODMedian > 100 || got.FoveaMedian > 150 {
		t.Errorf("got %+v: want 3 images with errors of tens of pixels at 4288 width", got)
	}
}

// The A/V command on two RITE test photos: plumbing, not accuracy (the
// model card records that), so the checks are that every figure is a rate
// and every labelled pixel was counted.
func TestEvalAV(t *testing.T) {
	requireORT(t)
	src := "../../../shared/datasets/rite/test"
	if _, err := os.Stat(filepath.Join(src, "av")); err != nil {
		t.Skipf("RITE not available: %v", err)
	}
	root := t.TempDir()
	for _, f := range []string{"images/01_test.png", "av/01_test.png", "mask/01_test_mask.gif",
		"images/02_test.png", "av/02_test.png", "mask/02_test_mask.gif"} {
		abs, _ := filepath.Abs(filepath.Join(src, f))
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		if err := os.Symlink(abs, filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := run(t, "eval", "av", "--root", root, "--json", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type scores struct {
		Accuracy             *float64 `json:"accuracy"`
		ArterySensitivity    *float64 `json:"artery_sensitivity"`
		VeinSensitivity      *float64 `json:"vein_sensitivity"`
		CentrelineAccuracy   *float64 `json:"centreline_accuracy"`
		ConsistentAccuracy   *float64 `json:"consistent_accuracy"`
		ConsistentCentreline *float64 `json:"consistent_centreline_accuracy"`
	}
	var got struct {
		Images []struct {
			ID string `json:"id"`
			scores
			ArteryPx     int `json:"artery_px"`
			VeinPx       int `json:"vein_px"`
			CentrelinePx int `json:"centreline_px"`
		} `json:"images"`
		Overall      scores `json:"overall"`
		Model        string `json:"model"`
		Orientations int    `json:"orientations"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
	}
	if len(got.Images) != 2 || got.Model == "" || got.Orientations < 1 {
		t.Fatalf("%d images, model %q, %d orientations; want 2, a model version and at least 1", len(got.Images), got.Model, got.Orientations)
	}
	check := func(name string, s scores) {
		for k, v := range map[string]*float64{"accuracy": s.Accuracy, "artery_sensitivity": s.ArterySensitivity,
			"vein_sensitivity": s.VeinSensitivity, "centreline_accuracy": s.CentrelineAccuracy,
			"consistent_accuracy": s.ConsistentAccuracy, "consistent_centreline_accuracy": s.ConsistentCentreline} {
			if v == nil || *v < 0 || *v > 1 {
				t.Errorf("%s: %s = %v, want a rate in [0, 1]", name, k, v)
			}
		}
	}
	for _, im := range got.Images {
		// RITE labels some 10 000+ artery and vein pixels per photo.
		if im.ArteryPx < 5000 || im.VeinPx < 5000 || im.CentrelinePx < 2000 || im.CentrelinePx > im.ArteryPx+im.VeinPx {
			t.Errorf("%s: %d artery, %d vein, %d centreline pixels", im.ID, im.ArteryPx, im.VeinPx, im.CentrelinePx)
		}
		check(im.ID, im.scores)
	}
	check("overall", got.Overall)

	table, stderr, code := run(t, "eval", "av", "--root", root, "--threads", "2")
	if code != 0 || !strings.Contains(table, "01_test") || !strings.Contains(table, "overall (pooled)") || !strings.Contains(table, "orientations") {
		t.Errorf("table (exit %d, %s):\n%s", code, stderr, table)
	}
}

func TestEvalAVNeedsRoot(t *testing.T) {
	if _, _, code := run(t, "eval", "av"); code != exitUsage {
		t.Fatalf("exit %d without --root, want %d", code, exitUsage)
	}
}
