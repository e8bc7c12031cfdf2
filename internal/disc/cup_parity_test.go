package disc

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"math"
	"os"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

// loadCupModel reads the files train/disccup/train.py writes, as
// loadModel does for the locator.
func loadCupModel(t testing.TB) CupModel {
	return mustParse(t, "disccup", ParseCupModel)
}

// cupCV is the model's own cross-validated disc Dice (perturbed centre
// and radius, pooled over the folds) from its sidecar JSON, 0 if absent.
func cupCV(t testing.TB) float64 {
	t.Helper()
	meta, err := os.ReadFile("../../models/disccup.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		CV struct {
			Pooled struct {
				Perturbed struct {
					DiscDice float64 `json:"disc_dice"`
				} `json:"perturbed"`
			} `json:"pooled"`
		} `json:"cv"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	return m.CV.Pooled.Perturbed.DiscDice
}

// disccup_parity.json is written by train/disccup/train.py at export: an
// RGB test card, the normalized input PyTorch computed from it, and the
// PyTorch model's logits and probabilities. Go must reproduce them.
type cupParity struct {
	Input       []float32 `json:"input"`
	LogitsShape []int64   `json:"logits_shape"`
	Logits      []float32 `json:"logits"`
	Prob        []float32 `json:"prob"`
}

func newSegmenter(t testing.TB) *Segmenter {
	t.Helper()
	s, err := NewSegmenter(infertest.OpenRuntime(t), loadCupModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCupNormalizeMatchesTraining(t *testing.T) {
	var p cupParity
	img := infertest.LoadParity(t, "testdata/disccup_parity.json", &p)
	infertest.CheckInput(t, img, loadCupModel(t).FOVThreshold, p.Input)
}

func TestCupModelMatchesPyTorch(t *testing.T) {
	var p cupParity
	img := infertest.LoadParity(t, "testdata/disccup_parity.json", &p)
	s := newSegmenter(t)
	out, err := s.run.Run(context.Background(), infer.FOVStandardize(img, s.model.FOVThreshold))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Data) != len(p.Logits) || len(p.Prob) != len(p.Logits) || len(out.Shape) != 4 || len(p.LogitsShape) != 3 ||
		out.Shape[1] != p.LogitsShape[0] || out.Shape[2] != p.LogitsShape[1] || out.Shape[3] != p.LogitsShape[2] {
		t.Fatalf("output shape %v, PyTorch had %v", out.Shape, p.LogitsShape)
	}
	var worstLogit, worstProb float64
	for i, v := range out.Data {
		// Logits reach a few tens; compare them relative to their size.
		worstLogit = math.Max(worstLogit, math.Abs(float64(v-p.Logits[i]))/math.Max(1, math.Abs(float64(p.Logits[i]))))
		worstProb = math.Max(worstProb, math.Abs(1/(1+math.Exp(-float64(v)))-float64(p.Prob[i])))
	}
	if worstLogit > 1e-3 || worstProb > 1e-4 {
		t.Fatalf("max relative |Go-PyTorch| logit difference %.2g (want <= 1e-3), probability %.2g (want <= 1e-4)", worstLogit, worstProb)
	}
}

// TestSegmentSample runs locator and segmenter on the bundled sample
// photo (IDRiD_055 at 1072 px wide; its disc radius is about 131/2 px:
// the median IDRiD disc at 2144 px is 131 px). It checks the plumbing
// whatever the model; when the model's own cross-validated disc Dice says
// it is a working model, the disc must also be found and sized right.
func TestSegmentSample(t *testing.T) {
	l := newLocator(t)
	s := newSegmenter(t)
	lm, n := locateFile(t, l, samplePhoto)
	img := loadSample(t)
	seg, err := s.Segment(context.Background(), img, n.FOV, lm.Disc.Point, Laterality(lm.Disc.Point, lm.Fovea.Point))
	if err != nil {
		t.Fatal(err)
	}
	m := seg.Measures
	t.Logf("model %s: found %v (%s), confidence %.3f; disc %+v cup %+v, vCDR %.3f, centre %.1f,%.1f (located %.1f,%.1f), rims I %.1f S %.1f left %.1f right %.1f",
		seg.Model, seg.Found, seg.Reason, seg.Confidence, m.Disc, m.Cup, m.VerticalCDR, m.Centre.X, m.Centre.Y,
		seg.Located.X, seg.Located.Y, m.Rim.Inferior, m.Rim.Superior, m.Rim.Left, m.Rim.Right)
	if c := seg.Crop.Centre(); Distance(c, lm.Disc.Point) > 1e-9 || seg.Crop.Size != s.model.Size {
		t.Errorf("crop %+v not centred on the located disc %v", seg.Crop, lm.Disc.Point)
	}
	if seg.Disc == nil || !seg.Disc.Rect.In(img.Bounds()) {
		t.Fatalf("disc mask %v outside the photo", seg.Disc)
	}
	if m.VerticalCDR < 0 || m.VerticalCDR > 1 || m.HorizontalCDR < 0 || m.HorizontalCDR > 1 {
		t.Errorf("CDR out of 0..1: %+v", m)
	}
	const radius = 131.0 / 2
	if dice := cupCV(t); dice >= 0.85 {
		if !seg.Found || math.Abs(m.RadiusPx()-radius) > 0.25*radius || Distance(m.Centre, Point{1583.0 / 2, 786.5 / 2}) > 0.5*radius {
			t.Errorf("a model with cross-validated disc Dice %.3f: found %v (%s), radius %.1f px (want %.1f +- 25%%), centre %v",
				dice, seg.Found, seg.Reason, m.RadiusPx(), radius, m.Centre)
		}
	}
}

func TestSegmentConcurrent(t *testing.T) {
	s := newSegmenter(t)
	img := loadSample(t)
	ctx := context.Background()
	fov, centre := fovOf(t, img), Point{790, 393}
	want, err := s.Segment(ctx, img, fov, centre, EyeRight)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			got, err := s.Segment(ctx, img, fov, centre, EyeRight)
			if err == nil && (got.Measures != want.Measures || got.Confidence != want.Confidence) {
				err = errors.New("concurrent run gave a different result")
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

const samplePhoto = "../../assets/sample/idrid_055.jpg"

func loadSample(t testing.TB) *image.NRGBA {
	t.Helper()
	img, err := fundus.Load(samplePhoto, fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img.Pix
}

func fovOf(t testing.TB, img *image.NRGBA) fundus.FOV {
	t.Helper()
	fov, err := fundus.DetectFOV(img)
	if err != nil {
		t.Fatal(err)
	}
	return fov
}
