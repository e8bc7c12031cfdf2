package lesions

import (
	"context"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/models"
)

// parity.json is written by train/lesions/train.py at export: an RGB test
// card, the normalized input PyTorch computed from it, and the PyTorch
// model's sigmoid probabilities, channels (named by "classes") one after
// another. Go must reproduce both.
type parity struct {
	Classes []string  `json:"classes"`
	Input   []float32 `json:"input"`
	Prob    []float32 `json:"prob"`
}

func loadModel(t testing.TB) Model {
	t.Helper()
	m, err := ParseModel(models.LesionsFiles())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newDetector(t testing.TB) *Detector {
	t.Helper()
	d, err := New(infertest.OpenRuntime(t), loadModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestNormalizeMatchesTraining(t *testing.T) {
	var p parity
	img := infertest.LoadParity(t, "testdata/parity.json", &p)
	infertest.CheckInput(t, img, loadModel(t).FOVThreshold, p.Input)
}

func TestProbabilitiesMatchPyTorch(t *testing.T) {
	var p parity
	img := infertest.LoadParity(t, "testdata/parity.json", &p)
	d := newDetector(t)
	got, err := d.probabilities(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	plane := b.Dx() * b.Dy()
	if len(p.Prob) != len(p.Classes)*plane {
		t.Fatalf("fixture: %d probabilities for %d classes of %dx%d", len(p.Prob), len(p.Classes), b.Dx(), b.Dy())
	}
	compared := 0
	for c, name := range p.Classes {
		k, err := ParseKind(name)
		if err != nil {
			t.Fatal(err)
		}
		compared++
		var worst float64
		for i := range plane {
			worst = math.Max(worst, math.Abs(float64(got[k][i]-p.Prob[c*plane+i])))
		}
		if worst > 1e-3 {
			t.Errorf("%s: max |Go-PyTorch| probability difference %.2g, want <= 1e-3", k, worst)
		}
	}
	if compared != int(NumKinds) {
		t.Fatalf("fixture classes %q: compared %d of %d", p.Classes, compared, NumKinds)
	}
}

func TestParseModel(t *testing.T) {
	m := loadModel(t)
	if m.FOVDiameterPx < 1000 || m.SizeMultiple != 16 || m.SHA256 == "" || m.String() != "lesions@"+m.Version {
		t.Fatalf("model %+v", m)
	}
	for _, k := range Kinds {
		if m.Threshold(k) != 0.5 {
			t.Errorf("%s threshold %v", k, m.Threshold(k))
		}
	}
	onnx, meta := models.LesionsFiles()
	for name, bad := range map[string]string{
		"no SE class":      `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"RGB","normalization":"fov_standardize","size_multiple":16,"fov_diameter_px":1706,"classes":["MA","HE","EX"],"thresholds":{"MA":0.5,"HE":0.5,"EX":0.5,"SE":0.5}}`,
		"threshold 1":      `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"RGB","normalization":"fov_standardize","size_multiple":16,"fov_diameter_px":1706,"classes":["MA","HE","EX","SE"],"thresholds":{"MA":0.5,"HE":1,"EX":0.5,"SE":0.5}}`,
		"no scale":         `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"RGB","normalization":"fov_standardize","size_multiple":16,"classes":["MA","HE","EX","SE"],"thresholds":{"MA":0.5,"HE":0.5,"EX":0.5,"SE":0.5}}`,
		"other input":      `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"BGR","normalization":"fov_standardize","size_multiple":16,"fov_diameter_px":1706,"classes":["MA","HE","EX","SE"],"thresholds":{"MA":0.5,"HE":0.5,"EX":0.5,"SE":0.5}}`,
		"softmax":          `{"input":"image","output":"logits","output_activation":"softmax","channels":"RGB","normalization":"fov_standardize","size_multiple":16,"fov_diameter_px":1706,"classes":["MA","HE","EX","SE"],"thresholds":{"MA":0.5,"HE":0.5,"EX":0.5,"SE":0.5}}`,
		"not JSON":         `{`,
		"no size multiple": `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"RGB","normalization":"fov_standardize","fov_diameter_px":1706,"classes":["MA","HE","EX","SE"],"thresholds":{"MA":0.5,"HE":0.5,"EX":0.5,"SE":0.5}}`,
	} {
		if _, err := ParseModel(onnx, []byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseModel(nil, meta); err == nil {
		t.Error("empty graph: no error")
	}
	// Channels are found by name, in any order.
	shuffled := `{"input":"image","output":"logits","output_activation":"sigmoid","channels":"RGB","normalization":"fov_standardize","size_multiple":16,"fov_diameter_px":1706,"classes":["se","EX","MA","HE"],"thresholds":{"MA":0.3,"HE":0.5,"EX":0.5,"SE":0.5}}`
	m2, err := ParseModel(onnx, []byte(shuffled))
	if err != nil {
		t.Fatal(err)
	}
	if m2.channel != [NumKinds]int{2, 3, 1, 0} || m2.Threshold(MA) != 0.3 {
		t.Errorf("channels %v, MA threshold %v", m2.channel, m2.Threshold(MA))
	}
}
