package eval

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestQuadraticKappa(t *testing.T) {
	perfect := [][]int{{3, 0, 0}, {0, 2, 0}, {0, 0, 4}}
	if k := QuadraticKappa(perfect); math.Abs(k-1) > 1e-12 {
		t.Errorf("perfect agreement: kappa %v", k)
	}
	// [0,0,1,1,2,2] against [0,1,1,2,2,0]: observed weighted disagreement
	// 1/4+1/4+1 = 1.5, expected 2 (every cell 2/3): kappa 0.25 (as
	// sklearn's cohen_kappa_score with weights="quadratic")
	c := [][]int{{1, 1, 0}, {0, 1, 1}, {1, 0, 1}}
	if k := QuadraticKappa(c); math.Abs(k-0.25) > 1e-12 {
		t.Errorf("kappa %v, want 0.25", k)
	}
	// [0,1,2,3] against [0,1,2,2]: observed 1/9, expected 8/9: 0.875
	c4 := [][]int{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 1, 0}}
	if k := QuadraticKappa(c4); math.Abs(k-0.875) > 1e-12 {
		t.Errorf("kappa %v, want 0.875", k)
	}
}

func TestECE(t *testing.T) {
	// perfectly calibrated bins
	p := []float64{0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75}
	y := []bool{true, false, false, false, true, true, true, false}
	if e := ECE(p, y, 10); math.Abs(e) > 1e-12 {
		t.Errorf("ECE %v, want 0", e)
	}
	if e := ECE([]float64{0.9, 0.9}, []bool{false, false}, 10); math.Abs(e-0.9) > 1e-12 {
		t.Errorf("ECE %v, want 0.9", e)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDiagnoseSetLabels(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "images", "a.jpg"), "x")
	writeFile(t, filepath.Join(root, "labels.csv"), "image,dr_grade,dme_risk,od_x\na.jpg,3,2,1\nsub/b.png,,0,2\n")
	s, err := OpenDiagnoseSet(root, DiagnoseLayoutLabels, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].DR != 3 || s[0].DME != 2 || s[0].Glaucoma != -1 || s[1].DR != -1 || s[1].DME != 0 {
		t.Fatalf("%+v", s)
	}
	if s[0].Image != filepath.Join(root, "images", "a.jpg") || s[1].Image != filepath.Join(root, "sub", "b.png") {
		t.Errorf("paths %q %q", s[0].Image, s[1].Image)
	}
	writeFile(t, filepath.Join(root, "labels.csv"), "image,label\na.jpg,glaucoma\nb.jpg,normal\n")
	s, err = OpenDiagnoseSet(root, "", false, map[string]bool{"a.jpg": true})
	if err != nil || len(s) != 1 || s[0].Glaucoma != 1 || s[0].Cataract != 0 || s[0].Abnormal != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	writeFile(t, filepath.Join(root, "labels.csv"), "image,dr_grade\na.jpg,7\n")
	if _, err := OpenDiagnoseSet(root, "", false, nil); err == nil {
		t.Error("grade 7 accepted")
	}
}

func TestOpenDiagnoseSetEye4(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "labels.csv"), `image,folder_label,source_by_filename,odir_diagnostic_keywords,eyepacs_trainLabels_level_if_eyepacs_name,eyeq_quality
images/cataract/1_left.jpg,cataract,odir5k,"cataract, x",,
images/glaucoma/1_left.jpg,glaucoma,odir5k,glaucoma,,
images/normal/2_left.jpg,normal,odir5k,normal fundus,,
images/diabetic_retinopathy/10_left.jpeg,diabetic_retinopathy,eyepacs,,0,1
images/diabetic_retinopathy/11_left.jpeg,diabetic_retinopathy,eyepacs,,3,
images/cataract/_0_1.jpg,cataract,unknown_augmented,,,
`)
	s, err := OpenDiagnoseSet(root, DiagnoseLayoutEye4, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 5 {
		t.Fatalf("%d samples, want 5 (augmented left out)", len(s))
	}
	want := []DiagnoseSample{
		{DR: -1, DME: -1, Glaucoma: 1, Cataract: 1, Abnormal: 1},
		{DR: -1, DME: -1, Glaucoma: 1, Cataract: 1, Abnormal: 1},
		{DR: 0, DME: 0, Glaucoma: 0, Cataract: 0, Abnormal: 0},
		{DR: 0, DME: -1, Glaucoma: 0, Cataract: 0, Abnormal: 0},
		{DR: 3, DME: -1, Glaucoma: 0, Cataract: 0, Abnormal: 1},
	}
	for i, w := range want {
		g := s[i]
		if g.DR != w.DR || g.DME != w.DME || g.Glaucoma != w.Glaucoma || g.Cataract != w.Cataract || g.Abnormal != w.Abnormal {
			t.Errorf("%s: %+v, want %+v", g.Name, g, w)
		}
	}
	if s[0].Image != filepath.Join(root, "images", "cataract", "1_left.jpg") {
		t.Errorf("path %q", s[0].Image)
	}
	if s, _ := OpenDiagnoseSet(root, DiagnoseLayoutEye4, true, nil); len(s) != 6 {
		t.Errorf("with augmented: %d", len(s))
	}
}

func TestScoreDiagnose(t *testing.T) {
	samples := []DiagnoseSample{
		{Name: "a", DR: 0, DME: 0, Glaucoma: 0, Cataract: -1, Abnormal: 0},
		{Name: "b", DR: 2, DME: 2, Glaucoma: 1, Cataract: -1, Abnormal: 1},
		{Name: "c", DR: 4, DME: 1, Glaucoma: 0, Cataract: -1, Abnormal: 1},
		{Name: "d", DR: 1, DME: 0, Glaucoma: 1, Cataract: -1, Abnormal: 1},
	}
	v := func(g int, gl float64) DiagnoseVerdict {
		var d DiagnoseVerdict
		d.DR[g] = 1
		d.DME[min(g, 2)] = 1
		d.DRGrade, d.DMEGrade = g, min(g, 2)
		d.Glaucoma, d.Abnormal = gl, gl
		d.ReferableThreshold, d.DMEThreshold, d.GlaucomaThreshold, d.AbnormalThreshold = 0.5, 0.5, 0.5, 0.5
		return d
	}
	verdicts := []DiagnoseVerdict{v(0, 0.1), v(2, 0.9), v(4, 0.2), v(0, 0.8)}
	errs := []error{nil, nil, nil, nil}
	r := ScoreDiagnose(samples, verdicts, errs)
	if r.Judged != 4 || *r.DRAccuracy != 0.75 || r.DR.Confusion[1][0] != 1 || *r.ReferableAUC != 1 {
		t.Errorf("%+v", r)
	}
	if *r.GlaucomaAUC != 1 || r.Cataract != nil || r.Glaucoma.Confusion[0][0] != 2 {
		t.Errorf("glaucoma %+v cataract %+v", r.Glaucoma, r.Cataract)
	}
	// one DME grade only, truth and prediction (a set of normal photos):
	// kappa undefined, written as null, and the JSON still encodes
	one := slices.Clone(verdicts)
	for i := range samples {
		samples[i].DME = 0
		one[i].DME = [3]float64{1, 0, 0}
		one[i].DMEGrade = 0
	}
	r = ScoreDiagnose(samples, one, errs)
	if r.DME.Kappa != nil || r.DMEKappa != nil || r.DMEAnyAUC != nil {
		t.Errorf("one DME grade: kappa %v, AUC %v", r.DME.Kappa, r.DMEAnyAUC)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("JSON: %v", err)
	}
	errs[3] = errors.New("no field of view")
	r = ScoreDiagnose(samples, verdicts, errs)
	if r.Judged != 3 || len(r.Failures) != 1 || *r.DRAccuracy != 1 {
		t.Errorf("with a failure: %+v", r)
	}
}
