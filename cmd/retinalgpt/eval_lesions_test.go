package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lesion command on one IDRiD segmentation photo (in the shipped
// model's training set: this checks the plumbing, not accuracy) and the
// boxes of one grading photo, as JSON and as tables.
func TestEvalLesions(t *testing.T) {
	requireORT(t)
	seg := "../../../shared/datasets/idrid/segmentation"
	grading := "../../../shared/datasets/idrid/grading"
	if _, err := os.Stat(filepath.Join(seg, "images", "IDRiD_01.jpg")); err != nil {
		t.Skipf("IDRiD segmentation copy not available: %v", err)
	}
	boxes, err := os.ReadFile(filepath.Join(grading, "boxes.csv"))
	if err != nil {
		t.Skipf("IDRiD grading copy not available: %v", err)
	}
	root := t.TempDir()
	link := func(src, dst string) {
		abs, _ := filepath.Abs(src)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(abs, dst); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(seg, "images", "IDRiD_01.jpg"), filepath.Join(root, "seg", "images", "IDRiD_01.jpg"))
	for _, typ := range []string{"MA", "HE", "EX", "SE"} {
		name := "IDRiD_01_" + typ + ".png"
		if _, err := os.Stat(filepath.Join(seg, typ, name)); err == nil {
			link(filepath.Join(seg, typ, name), filepath.Join(root, "seg", typ, name))
		}
	}
	lines := strings.Split(string(boxes), "\n")
	keep := []string{lines[0]}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "IDRiD_055.jpg,") {
			keep = append(keep, l)
		}
	}
	os.MkdirAll(filepath.Join(root, "grading"), 0o755)
	os.WriteFile(filepath.Join(root, "grading", "boxes.csv"), []byte(strings.Join(keep, "\n")+"\n"), 0o644)
	link(filepath.Join(grading, "images", "IDRiD_055.jpg"), filepath.Join(root, "grading", "images", "IDRiD_055.jpg"))

	stdout, stderr, code := run(t, "eval", "lesions", "--root", filepath.Join(root, "seg"), "--boxes", filepath.Join(root, "grading", "boxes.csv"),
		"--json", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type typeScores struct {
		AUPR       *float64 `json:"aupr"`
		ObjSens    *float64 `json:"object_sensitivity"`
		FP         float64  `json:"fp_objects_per_image"`
		GTObjects  int      `json:"gt_objects"`
		PositivePx int64    `json:"positive_px"`
	}
	type boxScores struct {
		Recall *float64 `json:"recall"`
		Ref    int      `json:"reference_boxes"`
		Pred   int      `json:"predicted_boxes"`
	}
	var got struct {
		Model        string `json:"model"`
		Training     int    `json:"training_images"`
		Segmentation struct {
			N     int `json:"n"`
			Types struct {
				MA, HE, EX, SE typeScores
			} `json:"types"`
			Images []struct {
				ID   string `json:"image"`
				Grid string `json:"grid"`
			} `json:"images"`
		} `json:"segmentation"`
		Boxes struct {
			N     int `json:"n"`
			Types struct {
				MA, SE *boxScores
				HE, EX *boxScores
			} `json:"types"`
		} `json:"boxes"`
		CV struct {
			Folds int `json:"folds"`
		} `json:"cv"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
	}
	s := got.Segmentation
	if !strings.HasPrefix(got.Model, "lesions@") || got.Training != 1 || got.CV.Folds != 4 || s.N != 1 || len(s.Images) != 1 ||
		s.Images[0].ID != "IDRiD_01" || !strings.HasPrefix(s.Images[0].Grid, "17") {
		t.Fatalf("report %s", stdout)
	}
	// IDRiD_01 has haemorrhages and hard exudates; a trained-on photo
	// scores well above chance on exudates.
	for name, ts := range map[string]typeScores{"HE": s.Types.HE, "EX": s.Types.EX} {
		if ts.AUPR == nil || *ts.AUPR <= 0 || *ts.AUPR > 1 || ts.GTObjects == 0 || ts.PositivePx == 0 || ts.ObjSens == nil {
			t.Errorf("%s: %+v", name, ts)
		}
	}
	if *s.Types.EX.AUPR < 0.3 {
		t.Errorf("EX AUPR %.3f on a training photo", *s.Types.EX.AUPR)
	}
	b := got.Boxes
	if b.N != 1 || b.Types.HE == nil || b.Types.EX == nil || b.Types.MA != nil || b.Types.SE != nil ||
		b.Types.HE.Ref != 10 || b.Types.EX.Ref != 6 || b.Types.EX.Recall == nil || b.Types.EX.Pred > 10 {
		t.Errorf("boxes %s", stdout)
	}

	stdout, stderr, code = run(t, "eval", "lesions", "--root", filepath.Join(root, "seg"), "--boxes", filepath.Join(root, "grading", "boxes.csv"), "--threads", "2")
	if code != 0 {
		t.Fatalf("table: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"TRAINING-SET FIGURES", "IDRiD_01", "AUPR", "cv AUPR", "Lesion boxes", "recall", "precision (lower bound)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestEvalLesionsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "lesions"},
		{"eval", "lesions", "--root", t.TempDir(), "--iou", "0"},
		{"eval", "lesions", "--root", t.TempDir(), "--max-boxes", "0"},
		{"eval", "lesions", "--root", t.TempDir(), "--limit", "-1"},
	} {
		if _, stderr, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}

func TestInLesionTraining(t *testing.T) {
	for id, want := range map[string]bool{"IDRiD_01": true, "IDRiD_20": true, "IDRiD_09": false, "IDRiD_21": false, "IDRiD_055": false, "drishtiGS_002": false} {
		if inLesionTraining(id) != want {
			t.Errorf("inLesionTraining(%q) = %v", id, !want)
		}
	}
}
