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
