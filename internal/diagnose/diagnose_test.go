package diagnose

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/synth"
	"github.com/retinalgpt/retinalgpt/models"
)

func loadModel(t testing.TB) Model {
	t.Helper()
	m, err := ParseModel(models.DiagnoseFiles())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLogitsMatchPyTorch: ONNX Runtime on the parity pattern gives the
// logits PyTorch wrote into models/diagnose.json at export.
func TestLogitsMatchPyTorch(t *testing.T) {
	m := loadModel(t)
	c, err := NewClassifier(infertest.OpenRuntime(t), m)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Logits(context.Background(), ParityPattern(m.InputSize))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parity.Logits) != len(got) {
		t.Fatalf("fixture has %d logits, model gives %d", len(m.Parity.Logits), len(got))
	}
	for i, want := range m.Parity.Logits {
		if math.Abs(float64(got[i])-want) > 1e-3*(1+math.Abs(want)) {
			t.Errorf("logit %d: ONNX Runtime %.5f, PyTorch %.5f", i, got[i], want)
		}
	}
}

// TestStackParity: the shipped DR grade and DME combinations give, from
// the features of three IDRiD photos each, the probabilities the training
// script computed (train/diagnose/train.py --grade-stack, --dme-stack).
func TestStackParity(t *testing.T) {
	m := loadModel(t)
	if m.GradeStack == nil || m.DMEStack == nil {
		t.Fatal("models/diagnose.json lacks grade_stack or dme_stack")
	}
	for _, tc := range []struct {
		name   string
		cases  []StackParity
		probas func(map[string]float64) []float64
	}{
		{"grade_stack", m.GradeStack.Parity, func(f map[string]float64) []float64 { p := m.GradeStack.Grades(f); return p[:] }},
		{"dme_stack", m.DMEStack.Parity, func(f map[string]float64) []float64 { p := m.DMEStack.Risks(f); return p[:] }},
	} {
		if len(tc.cases) == 0 {
			t.Errorf("%s has no parity cases", tc.name)
		}
		for i, c := range tc.cases {
			got := tc.probas(c.Features)
			for k, want := range c.Probabilities {
				if math.Abs(got[k]-want) > 1e-9 {
					t.Errorf("%s case %d: probabilities %v, Python %v", tc.name, i, got, c.Probabilities)
					break
				}
			}
		}
	}
}

// TestInputBoxAverage: each input pixel is the rounded mean of its block.
func TestInputBoxAverage(t *testing.T) {
	crop := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		crop.Pix[i*4], crop.Pix[i*4+1], crop.Pix[i*4+2], crop.Pix[i*4+3] = uint8(i), uint8(2*i), 255, 255
	}
	in := Input(crop, 2)
	if len(in.Data) != 12 {
		t.Fatalf("%d values", len(in.Data))
	}
	// top-left block: pixels 0,1,4,5 -> red mean 2.5 rounds to 3 (half up), green 5
	if in.Data[0] != 3 || in.Data[4] != 5 || in.Data[8] != 255 {
		t.Errorf("top-left pixel R,G,B = %v %v %v, want 3 5 255", in.Data[0], in.Data[4], in.Data[8])
	}
	// bottom-right block: 10,11,14,15 -> 12.5 -> 13
	if in.Data[3] != 13 {
		t.Errorf("bottom-right red %v, want 13", in.Data[3])
	}
}

func TestCalibrateSums(t *testing.T) {
	m := loadModel(t)
	p, err := m.Calibrate([]float32{1, 2, 0, -1, 0, 3, 0, 0, 0.5, -2, 1})
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, v := range p.DR {
		s += v
	}
	if math.Abs(s-1) > 1e-9 || p.DR[1] <= p.DR[0] {
		t.Errorf("DR %v", p.DR)
	}
	if _, err := m.Calibrate(make([]float32, 3)); err == nil {
		t.Error("3 logits accepted")
	}
}

func testModel() *Model {
	return &Model{Name: "diagnose", Version: "test", Calibration: Calibration{
		DRTemperature: 1, ReferableThreshold: 0.5, DMETemperature: 1, DMEThreshold: 0.5,
		GlaucomaThreshold: 0.5, CataractThreshold: 0.5, NormalThreshold: 0.5}}
}

func f(v float64) *float64 { return &v }

func TestJudgeClassifierOnly(t *testing.T) {
	p := Probabilities{DR: [5]float64{0.1, 0.1, 0.5, 0.2, 0.1}, DME: [3]float64{0.7, 0.2, 0.1}, Glaucoma: 0.2, Cataract: 0.9, Normal: 0.05}
	d := Judge(Inputs{Probs: &p, Model: testModel()})
	if d.Model != "diagnose@test" || len(d.Findings) != 5 || len(d.NotJudged) != 0 {
		t.Fatalf("%+v", d)
	}
	if strings.Join(d.Sources, ",") != "classifier" {
		t.Errorf("sources %v", d.Sources)
	}
	keys := []string{"dr", "dme", "glaucoma", "cataract", "abnormal"}
	for i, f := range d.Findings {
		if f.Key != keys[i] {
			t.Errorf("finding %d is %s, want %s", i, f.Key, keys[i])
		}
		var s float64
		for _, v := range f.Probabilities {
			s += v
		}
		if math.Abs(s-1) > 1e-3 || f.Positive != (f.Probability >= f.Threshold) || len(f.Evidence) == 0 {
			t.Errorf("%s: %+v", f.Key, f)
		}
	}
	dr := d.Findings[0]
	if dr.Grade != 2 || dr.Label != "moderate NPDR" || math.Abs(dr.Probability-0.8) > 1e-9 || !dr.Positive {
		t.Errorf("dr %+v", dr)
	}
	if d.Findings[1].Positive || !d.Findings[3].Positive || d.Findings[3].Label != "present" {
		t.Errorf("dme/cataract %+v %+v", d.Findings[1], d.Findings[3])
	}
	ab := d.Findings[4]
	if !ab.Positive || !strings.Contains(ab.Evidence[1].Text, "diabetic retinopathy") || !strings.Contains(ab.Evidence[1].Text, "cataract") {
		t.Errorf("abnormal %+v", ab)
	}
}

func TestJudgeWithoutClassifier(t *testing.T) {
	d := Judge(Inputs{NoClassifier: "broken"})
	if len(d.Findings) != 0 || len(d.NotJudged) != 5 || d.NotJudged[0].Reason != "broken" || d.Caveat == "" {
		t.Errorf("%+v", d)
	}
}

func TestJudgeRules(t *testing.T) {
	p := Probabilities{DR: [5]float64{0.4, 0.2, 0.2, 0.15, 0.05}, DME: [3]float64{0.8, 0.1, 0.1}, Glaucoma: 0.3, Cataract: 0.1, Normal: 0.5}
	many := report.QuadrantCounts{SuperiorTemporal: 25, SuperiorNasal: 22, InferiorTemporal: 30, InferiorNasal: 21}
	les := &report.Lesions{QuadrantBasis: "disc_fovea_axis", Types: []report.LesionType{
		{Type: "MA", Name: "microaneurysms", Detected: false},
		{Type: "HE", Name: "haemorrhages", Detected: true, Count: 98, Quadrants: many},
		{Type: "EX", Name: "hard exudates", Detected: true, Count: 3, MinFoveaDistanceDD: f(0.4)},
	}}
	disc := &report.Disc{Found: true, AreaMm2: 1.2, CDR: &report.CDR{Vertical: 0.68},
		Rim: &report.Rim{ISNT: "violated", ISNTViolations: []string{"inferior < superior"}}}
	q := &report.Quality{Criteria: []report.QualityCriterion{{Name: "focus", Value: f(0.2), Grade: "usable"}}}
	d := Judge(Inputs{Probs: &p, Model: testModel(), Lesions: les, Disc: disc, Quality: q, Calibration: &report.Calibration{Source: "fov_angle"}})
	if strings.Join(d.Sources, ",") != "classifier,lesions,disc_cup,quality" {
		t.Errorf("sources %v", d.Sources)
	}
	dr := d.Findings[0]
	if dr.Grade != 3 || dr.Probabilities[0] != 0 || dr.Probabilities[2] != 0 || math.Abs(dr.Probabilities[3]-0.75) > 1e-4 || dr.Probability != 1 {
		t.Errorf("4-2-1 rule: %+v", dr)
	}
	if !hasEvidence(dr, "4-2-1 rule (haemorrhages): more than 20") {
		t.Errorf("dr evidence %+v", dr.Evidence)
	}
	if !hasEvidence(d.Findings[1], "DME risk 2") {
		t.Errorf("dme evidence %+v", d.Findings[1].Evidence)
	}
	gl := d.Findings[2]
	if !hasEvidence(gl, "above: raises suspicion") || !hasEvidence(gl, "ISNT rim rule violated") || !hasEvidence(gl, "limit 0.60") {
		t.Errorf("glaucoma evidence %+v", gl.Evidence)
	}
	if !hasEvidence(d.Findings[3], "image focus 0.2") {
		t.Errorf("cataract evidence %+v", d.Findings[3].Evidence)
	}
	// fewer haemorrhages: the rule does not fire and the grades stay
	les.Types[1].Quadrants.InferiorNasal = 3
	d = Judge(Inputs{Probs: &p, Model: testModel(), Lesions: les})
	if d.Findings[0].Grade != 0 || !hasEvidence(d.Findings[0], "not met") {
		t.Errorf("rule not met: %+v", d.Findings[0])
	}
}

func hasEvidence(d report.Diagnosis, sub string) bool {
	for _, e := range d.Evidence {
		if strings.Contains(e.Text, sub) {
			return true
		}
	}
	return false
}

func TestCDRLimit(t *testing.T) {
	for _, c := range []struct{ area, want float64 }{{0, 0.7}, {1.0, 0.6}, {2.2, 0.675}, {3.5, 0.75}} {
		if got := CDRLimit(c.area); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("CDRLimit(%v) = %v, want %v", c.area, got, c.want)
		}
	}
}

// TestClassifySynthetic runs the whole classifier path on a synthetic
// fundus: probabilities in range and summing to one.
func TestClassifySynthetic(t *testing.T) {
	m := loadModel(t)
	c, err := NewClassifier(infertest.OpenRuntime(t), m)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img := synthImage(t)
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := c.Classify(context.Background(), img, fov)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, v := range p.DR {
		s += v
	}
	if math.Abs(s-1) > 1e-6 || p.Glaucoma < 0 || p.Glaucoma > 1 {
		t.Errorf("%+v", p)
	}
}

func synthImage(t *testing.T) *fundus.Image {
	t.Helper()
	s, err := synth.Generate(synth.Spec{Size: 512, Seed: 3, Noise: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, s.Image); err != nil {
		t.Fatal(err)
	}
	img, err := fundus.Decode(&buf, "synth.png", fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestJudgeCataractStack(t *testing.T) {
	m := testModel()
	m.CataractStack = &Stack{Features: []string{"cataract_logit", "focus", "absent"}, Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1},
		Coef: []float64{1, -2, 5}, Threshold: 0.5}
	p := Probabilities{DR: [5]float64{1}, DME: [3]float64{1}, Cataract: 0.9, Normal: 0.5}
	p.Logits[cataractLogit] = 1
	q := &report.Quality{Criteria: []report.QualityCriterion{{Name: "focus", Value: f(1), Grade: "good"}}}
	d := Judge(Inputs{Probs: &p, Model: m, Quality: q})
	ca := d.Findings[3]
	// z = 1*1 - 2*1 (+ the absent measure at its mean: 0) = -1
	if want := 1 / (1 + math.Exp(1)); math.Abs(ca.Probability-want) > 1e-4 || ca.Positive || ca.Threshold != 0.5 {
		t.Errorf("stacked cataract %+v, want probability %.4f", ca, want)
	}
	if !hasEvidence(ca, "combined with the image-wide haze") || !hasEvidence(ca, "classifier alone: probability of cataract 0.90") {
		t.Errorf("evidence %+v", ca.Evidence)
	}
	// without the quality section: the classifier alone
	if ca := Judge(Inputs{Probs: &p, Model: m}).Findings[3]; ca.Probability != 0.9 || !ca.Positive {
		t.Errorf("no quality: %+v", ca)
	}
}

// TestJudgeGlaucomaStack: with a disc and cup measured, the glaucoma
// probability is the combination's; without a cup (or no disc) it stays
// the classifier's own, with its own threshold.
func TestJudgeGlaucomaStack(t *testing.T) {
	m := testModel()
	m.GlaucomaStack = &Stack{Features: []string{"glaucoma_logit", "vcdr"}, Mean: []float64{0, 0.5}, Std: []float64{1, 0.1},
		Coef: []float64{0.5, 2}, Intercept: -1, Threshold: 0.4}
	p := Probabilities{DR: [5]float64{1}, DME: [3]float64{1}, Glaucoma: 0.3, Normal: 0.5}
	p.Logits[glaucomaLogit] = 2
	withCup := &report.Disc{Found: true, CDR: &report.CDR{Vertical: 0.7}, Cup: &report.Cup{AreaPx: 100}}
	gl := Judge(Inputs{Probs: &p, Model: m, Disc: withCup}).Findings[2]
	// z = -1 + 0.5*2 + 2*(0.7-0.5)/0.1 = 4
	if want := 1 / (1 + math.Exp(-4)); math.Abs(gl.Probability-want) > 1e-4 || !gl.Positive || gl.Threshold != 0.4 {
		t.Errorf("stacked glaucoma %+v, want probability %.4f", gl, want)
	}
	if !hasEvidence(gl, "combined with the vertical cup-to-disc ratio") || !hasEvidence(gl, "classifier alone: probability of glaucoma 0.30") {
		t.Errorf("evidence %+v", gl.Evidence)
	}
	for name, d := range map[string]*report.Disc{
		"no cup":  {Found: true, CDR: &report.CDR{Vertical: 0}, Cup: &report.Cup{}},
		"no disc": {Found: false},
		"absent":  nil,
	} {
		gl := Judge(Inputs{Probs: &p, Model: m, Disc: d}).Findings[2]
		if gl.Probability != 0.3 || gl.Threshold != report.Round(m.Calibration.GlaucomaThreshold, 4) {
			t.Errorf("%s: %+v, want the classifier alone", name, gl)
		}
	}
}

// TestJudgeGradeStack: with lesions the grade probabilities are the
// ordinal combination's (each P(grade ≥ k) from its regression, made
// non-increasing, then differenced; summing to 1), P(referable) is their
// grades 2-4 against the combination's threshold, and the microaneurysm
// channel's count is an input even though it is not reported as a count;
// without a lesion section the classifier decides alone.
func TestJudgeGradeStack(t *testing.T) {
	m := testModel()
	one := func(feature string, coef, intercept float64) *Stack {
		return &Stack{Features: []string{feature}, Mean: []float64{0}, Std: []float64{1}, Coef: []float64{coef}, Intercept: intercept}
	}
	// P(≥1) from the MA channel, P(≥2) from the classifier's grade-2
	// logit, P(≥3) crossing above P(≥2) (clipped to it), P(≥4) small.
	m.GradeStack = &GradeStack{Set: "test", Threshold: 0.25, AtLeast: []*Stack{
		one("MA_count", 1, 0), one("dr2", 1, 0), one("HE_count", 1, 5), one("HE_fewest_quadrant", 0, -3)}}
	p := Probabilities{DR: [5]float64{0.4, 0.2, 0.2, 0.15, 0.05}, DME: [3]float64{1}, Normal: 0.5}
	p.Logits[2] = -1
	les := &report.Lesions{QuadrantBasis: "none", Types: []report.LesionType{
		{Type: "MA", Name: "microaneurysms", Detected: false, Count: 6, AreaPx: 20},
		{Type: "HE", Name: "haemorrhages", Detected: true, Count: 3, AreaPx: 50}}}
	dr := Judge(Inputs{Probs: &p, Model: m, Lesions: les, FOVAreaPx: 10000}).Findings[0]
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	ge1, ge2, ge4 := sig(math.Log1p(6)), sig(-1), sig(-3)
	want := []float64{1 - ge1, ge1 - ge2, 0, ge2 - ge4, ge4} // P(≥3) clipped to P(≥2)
	for g, w := range want {
		if math.Abs(dr.Probabilities[g]-w) > 1e-4 {
			t.Fatalf("grade probabilities %v, want %v", dr.Probabilities, want)
		}
	}
	if math.Abs(dr.Probability-ge2) > 1e-4 || dr.Threshold != 0.25 || !dr.Positive || dr.Grade != 3 {
		t.Errorf("combined %+v, want P(referable) %.4f, positive at 0.25, grade 3", dr, ge2)
	}
	if !hasEvidence(dr, "grades from the lesion counts and areas") || !hasEvidence(dr, "6 objects enter the grade combination") {
		t.Errorf("evidence %+v", dr.Evidence)
	}
	if dr.Evidence[0].Source != SourceLesions {
		t.Errorf("the grade's evidence names %q as its source, want %q", dr.Evidence[0].Source, SourceLesions)
	}
	if dr := Judge(Inputs{Probs: &p, Model: m}).Findings[0]; dr.Probability != 0.4 || dr.Threshold != report.Round(m.Calibration.ReferableThreshold, 4) {
		t.Errorf("without lesions %+v, want the classifier alone", dr)
	}
}

// TestJudgeDMEStack: with detected exudates the DME grades come from the
// two-step combination (summing to 1, its own threshold); an exudate
// within one disc diameter of the fovea is a feature of it.
func TestJudgeDMEStack(t *testing.T) {
	m := testModel()
	one := func(feature string, coef float64) *Stack {
		return &Stack{Features: []string{feature}, Mean: []float64{0}, Std: []float64{1}, Coef: []float64{coef}, Threshold: 0.5}
	}
	m.DMEStack = &DMEStack{Any: one("EX_within_1dd", 3), Severe: one("EX_within_1dd", 2)}
	p := Probabilities{DR: [5]float64{1}, DME: [3]float64{0.9, 0.05, 0.05}, Normal: 0.5}
	near := 0.4
	les := &report.Lesions{Types: []report.LesionType{{Type: "EX", Name: "hard exudates", Detected: true, Count: 2, AreaPx: 30, MinFoveaDistanceDD: &near}}}
	dme := Judge(Inputs{Probs: &p, Model: m, Lesions: les, FOVAreaPx: 10000}).Findings[1]
	pa, ps := 1/(1+math.Exp(-3)), 1/(1+math.Exp(-2))
	if math.Abs(dme.Probability-pa) > 1e-4 || dme.Grade != 2 || !dme.Positive || dme.Threshold != 0.5 ||
		math.Abs(dme.Probabilities[2]-pa*ps) > 1e-4 {
		t.Errorf("combined DME %+v, want P(any) %.4f, grade 2", dme, pa)
	}
	if !hasEvidence(dme, "distance from the fovea") {
		t.Errorf("evidence %+v", dme.Evidence)
	}
	if dme := Judge(Inputs{Probs: &p, Model: m}).Findings[1]; dme.Grade != 0 || math.Abs(dme.Probability-0.1) > 1e-9 {
		t.Errorf("without lesions %+v, want the classifier alone", dme)
	}
}
