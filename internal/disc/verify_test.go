package disc

import (
	"context"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

func loadVerifyModel(t testing.TB) VerifyModel {
	return mustParse(t, "discverify", ParseVerifyModel)
}

func newVerifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(infertest.OpenRuntime(t), loadVerifyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// verify_parity.json is written by train/discverify/train.py at export:
// a test card, its normalized input and the PyTorch model's logit.
func TestVerifierMatchesPyTorch(t *testing.T) {
	var p struct {
		Input []float32 `json:"input"`
		Logit float64   `json:"logit"`
	}
	img := infertest.LoadParity(t, "testdata/verify_parity.json", &p)
	v := newVerifier(t)
	infertest.CheckInput(t, img, v.model.FOVThreshold, p.Input)
	out, err := v.run.Run(context.Background(), infer.FOVStandardize(img, v.model.FOVThreshold))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Data) != 1 {
		t.Fatalf("output shape %v, want one logit", out.Shape)
	}
	if d := math.Abs(float64(out.Data[0]) - p.Logit); d > 1e-3*math.Max(1, math.Abs(p.Logit)) {
		t.Fatalf("logit %v, PyTorch %v", out.Data[0], p.Logit)
	}
}

// TestVerifySample: the bundled sample (IDRiD_055 at a quarter of the
// original width) has a disc and, in its macula, a ring of hard exudates
// that the locator and the disc/cup model took for a disc in a macula-only
// crop of it (models/disccup.md). The verifier must tell them apart. The
// photo is one of the verifier's training photos (IDRiD grading 055), so
// this guards the path (crop, normalization, threshold), not accuracy;
// the cross-validated figures are in models/discverify.md.
func TestVerifySample(t *testing.T) {
	img, err := fundus.Load("../../assets/sample/idrid_055.jpg", fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	th := v.Model().Threshold
	for _, tc := range []struct {
		name   string
		c      Point
		radius float64
		disc   bool
	}{
		{"the optic disc", Point{788.4, 388.9}, 66, true},
		{"the exudate ring in the macula", Point{475.8, 360.7}, 26.75, false},
		{"the exudate ring at a disc's size", Point{475.8, 360.7}, 66, false},
		{"the fovea", Point{470.2, 414.3}, 66, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Probability(context.Background(), img.Pix, tc.c, tc.radius)
			if err != nil {
				t.Fatal(err)
			}
			if (p >= th) != tc.disc {
				t.Fatalf("probability %.3f at threshold %.2f, want disc=%v", p, th, tc.disc)
			}
		})
	}
}

func TestVerifierErrors(t *testing.T) {
	v := newVerifier(t)
	img, err := fundus.Load("../../assets/sample/idrid_055.jpg", fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []float64{0, -3, math.NaN(), math.Inf(1)} {
		if _, err := v.Probability(context.Background(), img.Pix, Point{100, 100}, r); err == nil {
			t.Errorf("radius %v: no error", r)
		}
	}
	if _, err := v.Probability(context.Background(), nil, Point{100, 100}, 10); err == nil {
		t.Error("nil photo: no error")
	}
}

func TestParseVerifyModel(t *testing.T) {
	good := `{"name":"discverify","version":"v","input":"image","output":"logits","channels":"RGB",
		"normalization":"fov_standardize","fov_threshold":25,"size":96,"side_over_radius":4,"threshold":0.5}`
	m, err := ParseVerifyModel([]byte{1}, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != 96 || m.SideOverR != 4 || m.Threshold != 0.5 {
		t.Fatalf("parsed %+v", m)
	}
	for _, tc := range []struct{ name, meta string }{
		{"not JSON", `{`},
		{"no side", `{"input":"i","output":"o","channels":"RGB","normalization":"fov_standardize","size":96,"threshold":0.5}`},
		{"threshold 1", `{"input":"i","output":"o","channels":"RGB","normalization":"fov_standardize","size":96,"side_over_radius":4,"threshold":1}`},
		{"other normalization", `{"input":"i","output":"o","channels":"RGB","normalization":"imagenet","size":96,"side_over_radius":4}`},
		{"tiny input", `{"input":"i","output":"o","channels":"RGB","normalization":"fov_standardize","size":4,"side_over_radius":4}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseVerifyModel([]byte{1}, []byte(tc.meta)); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := ParseVerifyModel(nil, []byte(good)); err == nil {
		t.Fatal("no error for an empty graph")
	}
}

// BenchmarkVerify is the verifier's share of the disc stage: one square
// cut from the bundled sample and one 96x96 inference.
//
//	go test -run '^$' -bench Verify -benchtime 50x ./internal/disc/
func BenchmarkVerify(b *testing.B) {
	if _, err := infer.FindLibrary(""); err != nil {
		b.Skip(err)
	}
	img, err := fundus.Load("../../assets/sample/idrid_055.jpg", fundus.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := infer.Open(infer.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	v, err := NewVerifier(rt, loadVerifyModel(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Probability(ctx, img.Pix, Point{788.4, 388.9}, 66); err != nil {
			b.Fatal(err)
		}
	}
}
