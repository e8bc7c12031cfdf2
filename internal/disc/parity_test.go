package disc

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

// The model is read from the files train/disc/train.py writes, not from
// the models package, so that this package stays independent of how models
// are embedded.
func loadModel(t testing.TB) Model {
	return mustParse(t, "disc", ParseModel)
}

// mustParse reads models/NAME.onnx and NAME.json and parses them.
func mustParse[M any](t testing.TB, name string, parse func(onnx, meta []byte) (M, error)) M {
	t.Helper()
	onnx, err := os.ReadFile("../../models/" + name + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile("../../models/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse(onnx, meta)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parity.json is written by train/disc/train.py at export: an RGB test
// card, the normalized input PyTorch computed from it, and the PyTorch
// model's logits. Go must reproduce both.
type parity struct {
	Input       []float32 `json:"input"`
	LogitsShape []int64   `json:"logits_shape"`
	Logits      []float32 `json:"logits"`
}

func loadParity(t *testing.T) (*image.NRGBA, parity) {
	t.Helper()
	var p parity
	img := infertest.LoadParity(t, "testdata/parity.json", &p)
	return img, p
}

func newLocator(t *testing.T) *Locator {
	t.Helper()
	l, err := NewLocator(infertest.OpenRuntime(t), loadModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestNormalizeMatchesTraining(t *testing.T) {
	img, p := loadParity(t)
	infertest.CheckInput(t, img, loadModel(t).FOVThreshold, p.Input)
}

func TestModelMatchesPyTorch(t *testing.T) {
	img, p := loadParity(t)
	l := newLocator(t)
	out, err := l.run.Run(context.Background(), infer.FOVStandardize(img, l.model.FOVThreshold))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Data) != len(p.Logits) || len(out.Shape) != 4 || out.Shape[1] != p.LogitsShape[0] ||
		out.Shape[2] != p.LogitsShape[1] || out.Shape[3] != p.LogitsShape[2] {
		t.Fatalf("output shape %v, PyTorch had %v", out.Shape, p.LogitsShape)
	}
	var worst float64
	for i := range out.Data {
		// Logits reach a few tens; compare them relative to their size.
		d := math.Abs(float64(out.Data[i]-p.Logits[i])) / math.Max(1, math.Abs(float64(p.Logits[i])))
		worst = math.Max(worst, d)
	}
	if worst > 1e-3 {
		t.Fatalf("max relative |Go-PyTorch| logit difference %.2g, want <= 1e-3", worst)
	}
}

// TestLocateSample runs the whole path on the bundled sample photo,
// IDRiD_055 at a quarter of the original width. The final model was trained
// on this image, so this checks the plumbing (crop, normalization, decoding,
// mapping back), not accuracy; models/disc.md has the cross-validated
// figures.
func TestLocateSample(t *testing.T) {
	l := newLocator(t)
	got, n := locateFile(t, l, "../../assets/sample/idrid_055.jpg")
	// labels.csv gives the 2144-wide image disc (1583.0, 786.5) and fovea
	// (974.0, 850.0); the sample is half that size. One disc radius here is
	// about 262/4 = 65 px.
	for _, tc := range []struct {
		name string
		got  Landmark
		want Point
	}{
		{"disc", got.Disc, Point{1583.0 / 2, 786.5 / 2}},
		{"fovea", got.Fovea, Point{974.0 / 2, 850.0 / 2}},
	} {
		t.Logf("%s at %.1f,%.1f (confidence %.2f), label %.1f,%.1f", tc.name, tc.got.X, tc.got.Y, tc.got.Confidence, tc.want.X, tc.want.Y)
		if d := Distance(tc.got.Point, tc.want); d > 65 {
			t.Errorf("%s at %.1f,%.1f, label %.1f,%.1f: %.1f px off", tc.name, tc.got.X, tc.got.Y, tc.want.X, tc.want.Y, d)
		}
		if tc.got.Confidence < 0.2 {
			t.Errorf("%s confidence %.2f", tc.name, tc.got.Confidence)
		}
	}
	if e := Laterality(got.Disc.Point, got.Fovea.Point); e != EyeRight {
		t.Errorf("laterality %v, want right (disc right of fovea)", e)
	}
	if f := FieldType(got.Disc.Point, got.Fovea.Point, n.FOV); f != FieldMacula {
		t.Errorf("field %v, want macula-centred", f)
	}
}

func TestLocateConcurrent(t *testing.T) {
	l := newLocator(t)
	n := greyNormalized(l.Size(), fundus.Transform{Scale: 1})
	want, err := l.Locate(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := l.Locate(context.Background(), n)
			if err == nil && got != want {
				err = errors.New("concurrent run gave a different result")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// locateFile runs the whole Go path on one photo file: load, normalize to
// the locator's size, locate.
func locateFile(t *testing.T, l *Locator, path string) (Result, *fundus.Normalized) {
	t.Helper()
	img, err := fundus.Load(path, fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := fundus.Normalize(img, l.Size())
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Locate(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return got, n
}
