package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eval diagnose on the bundled sample photo (IDRiD_055) in both layouts:
// the plumbing (labels read, figures present in the table and in the JSON
// under their documented names), not accuracy.
func TestEvalDiagnose(t *testing.T) {
	requireORT(t)
	photo, err := filepath.Abs("../../assets/sample/idrid_055.jpg")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "images"), 0o755)
	for _, n := range []string{"a.jpg", "b.jpg"} {
		if err := os.Symlink(photo, filepath.Join(root, "images", n)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "labels.csv"), []byte("image,dr_grade,dme_risk,glaucoma,label\na.jpg,2,1,0,diabetic_retinopathy\nb.jpg,0,0,1,glaucoma\n"), 0o644)
	stdout, stderr, code := run(t, "eval", "diagnose", "--root", root, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	for _, k := range []string{"dr_accuracy", "dr_kappa", "dme_accuracy", "glaucoma_auc", "abnormal", "dr", "referable", "dme", "glaucoma"} {
		if _, ok := r[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, stdout)
		}
	}
	if _, ok := r["cataract_auc"]; ok || r["judged"].(float64) != 2 {
		t.Errorf("cataract without labels, or not every photo judged: %s", stdout)
	}
	stdout, stderr, code = run(t, "eval", "diagnose", "--root", root)
	if code != 0 || !strings.Contains(stdout, "DR grade (ICDR): 2 photos") || !strings.Contains(stdout, "glaucoma") {
		t.Errorf("table (exit %d): %s %s", code, stdout, stderr)
	}

	eye := t.TempDir()
	os.MkdirAll(filepath.Join(eye, "images", "cataract"), 0o755)
	os.Symlink(photo, filepath.Join(eye, "images", "cataract", "1_left.jpg"))
	os.WriteFile(filepath.Join(eye, "labels.csv"), []byte("image,folder_label,source_by_filename,odir_diagnostic_keywords,eyepacs_trainLabels_level_if_eyepacs_name,eyeq_quality\nimages/cataract/1_left.jpg,cataract,odir5k,cataract,,\n"), 0o644)
	stdout, stderr, code = run(t, "eval", "diagnose", "--dataset", "eye4", "--root", eye, "--json")
	if code != 0 || !strings.Contains(stdout, `"cataract"`) {
		t.Errorf("eye4 (exit %d): %s %s", code, stdout, stderr)
	}
	if _, _, code := run(t, "eval", "diagnose", "--root", root, "--dataset", "odir"); code != 2 {
		t.Errorf("unknown --dataset: exit %d, want 2", code)
	}
}
