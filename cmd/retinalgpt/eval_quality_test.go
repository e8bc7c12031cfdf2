package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The quality command on seven photos of the shared four-class set: two
// per EyeQ grade and one ungraded (the gate's calibration photos: this
// checks the plumbing, not accuracy), as JSON and as a table.
func TestEvalQuality(t *testing.T) {
	src := "../../../shared/datasets/eye_diseases_4class"
	labels, err := os.ReadFile(filepath.Join(src, "labels.csv"))
	if err != nil {
		t.Skipf("eye_diseases_4class copy not available: %v", err)
	}
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(string(labels)), "\r\n", "\n"), "\n")
	keep := []string{lines[0]}
	per := map[string]int{}
	for _, l := range lines[1:] {
		g := l[strings.LastIndex(l, ",")+1:]
		if per[g] < 2 && (g != "" || per[g] < 1) {
			per[g]++
			keep = append(keep, l)
		}
	}
	if len(keep) != 8 {
		t.Fatalf("labels.csv lacks graded or ungraded rows: %v", per)
	}
	root := t.TempDir()
	for _, l := range keep[1:] {
		name := strings.Split(l, ",")[0]
		abs, _ := filepath.Abs(filepath.Join(src, name))
		os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755)
		if err := os.Symlink(abs, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "labels.csv"), []byte(strings.Join(keep, "\n")+"\n"), 0o644)

	stdout, stderr, code := run(t, "eval", "quality", "--root", root, "--json", "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Images    int        `json:"images"`
		Graded    int        `json:"graded"`
		Confusion [3][3]int  `json:"confusion"`
		Accuracy  *float64   `json:"accuracy"`
		Recall    []*float64 `json:"recall"`
		RejectAUC *float64   `json:"reject_auc"`
		Modality  struct {
			Images    int     `json:"images"`
			NotFundus int     `json:"not_fundus"`
			Rate      float64 `json:"false_reject_rate"`
		} `json:"modality"`
		BySource []struct {
			Source string `json:"source"`
		} `json:"modality_by_source"`
		Refused []struct {
			Image   string   `json:"image"`
			Reasons []string `json:"reasons"`
		} `json:"not_fundus"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
	}
	sum := 0
	for _, row := range got.Confusion {
		sum += row[0] + row[1] + row[2]
	}
	if got.Images != 7 || got.Graded != 6 || sum != 6 || got.Modality.Images != 7 || len(got.Recall) != 3 ||
		got.Accuracy == nil || *got.Accuracy < 0 || *got.Accuracy > 1 || got.RejectAUC == nil || len(got.BySource) == 0 {
		t.Fatalf("report %s", stdout)
	}
	if got.Modality.NotFundus != len(got.Refused) {
		t.Errorf("%d not fundus, %d listed", got.Modality.NotFundus, len(got.Refused))
	}
	// EyeQ's good photos are fundus photos the gate does not reject.
	if got.Confusion[0][2] != 0 {
		t.Errorf("an EyeQ-good photo rejected: %s", stdout)
	}

	stdout, stderr, code = run(t, "eval", "quality", "--root", root)
	if code != 0 {
		t.Fatalf("table: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Quality and modality gate: 7 photos", "recall", "reject-vs-rest AUC", "not fundus", "eyepacs"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestEvalQualityUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "quality"},
		{"eval", "quality", "--root", t.TempDir(), "--workers", "0"},
		{"eval", "quality", "--root", t.TempDir(), "extra"},
	} {
		if _, stderr, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
	// A folder without labels.csv is not a usage error but a failure.
	if _, _, code := run(t, "eval", "quality", "--root", t.TempDir()); code == 0 || code == exitUsage {
		t.Errorf("missing labels.csv: exit %d", code)
	}
}
