package disc

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// gaussLogits is a heatmap whose sigmoid is a Gaussian of height peak at
// the continuous position (cx, cy), as the model is trained to produce.
func gaussLogits(w, h int, cx, cy, sigma, peak float64) []float32 {
	out := make([]float32, w*h)
	for y := range h {
		for x := range w {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			p := peak * math.Exp(-(dx*dx+dy*dy)/(2*sigma*sigma))
			p = min(max(p, 1e-12), 1-1e-12)
			out[y*w+x] = float32(math.Log(p / (1 - p)))
		}
	}
	return out
}

func TestPeak(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cx, cy   float64
		peakProb float64
		tol      float64
	}{
		{"on a pixel centre", 20.5, 30.5, 0.95, 1e-6},
		{"between pixels", 20.25, 30.8, 0.95, 0.05},
		{"weak peak", 40.7, 10.1, 0.3, 0.05},
		{"near the border: the clipped window pulls inwards", 1.2, 62.6, 0.9, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h = 64, 64
			x, y, conf := peak(gaussLogits(w, h, tc.cx, tc.cy, 2.5, tc.peakProb), w, h, 8)
			if math.Hypot(x-tc.cx, y-tc.cy) > tc.tol {
				t.Fatalf("peak at (%.3f, %.3f), want (%.3f, %.3f) within %v", x, y, tc.cx, tc.cy, tc.tol)
			}
			if conf > tc.peakProb+1e-6 || conf < 0.8*tc.peakProb {
				t.Fatalf("confidence %.3f for a peak of %.3f", conf, tc.peakProb)
			}
		})
	}
}

// heatRunner is a pure-Go stand-in for the model: it returns fixed
// half-resolution heatmaps with the disc and fovea at known input pixels.
type heatRunner struct{ disc, fovea Point }

func (r heatRunner) Run(_ context.Context, in infer.Tensor) (infer.Tensor, error) {
	h, w := int(in.Shape[2])/2, int(in.Shape[3])/2
	out := infer.NewTensor(1, 2, int64(h), int64(w))
	copy(out.Data, gaussLogits(w, h, r.disc.X/2, r.disc.Y/2, 2.5, 0.9))
	copy(out.Data[w*h:], gaussLogits(w, h, r.fovea.X/2, r.fovea.Y/2, 2.5, 0.6))
	return out, nil
}

type failRunner struct{}

func (failRunner) Run(context.Context, infer.Tensor) (infer.Tensor, error) {
	return infer.Tensor{}, errors.New("boom")
}

// testGraph is a valid graph header with a placeholder ONNX graph.
func testGraph(name string) graph {
	return graph{ONNX: []byte{1}, Name: name, Version: "test", Input: "image", Output: "logits",
		Normalization: "fov_standardize", ColorChannels: "RGB", FOVThreshold: 25}
}

func testModel() Model {
	return Model{graph: testGraph("disc"), Channels: []string{"disc", "fovea"}, Size: 128, Window: 8, Sigma: 2.5}
}

func greyNormalized(size int, tr fundus.Transform) *fundus.Normalized {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return &fundus.Normalized{Image: img, Size: size, Transform: tr}
}

func TestLocateMapsToOriginal(t *testing.T) {
	// Analysis (u, v) -> original (u*4 + 100, v*4 - 50).
	n := greyNormalized(128, fundus.Transform{Scale: 4, OffsetX: 100, OffsetY: -50})
	l := newWithRunner(heatRunner{disc: Point{90.5, 60.25}, fovea: Point{40, 70}}, testModel())
	got, err := l.Locate(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  Landmark
		want Point
		conf float64
	}{
		{"disc", got.Disc, Point{90.5*4 + 100, 60.25*4 - 50}, 0.9},
		{"fovea", got.Fovea, Point{40*4 + 100, 70*4 - 50}, 0.6},
	} {
		if d := Distance(tc.got.Point, tc.want); d > 0.5 {
			t.Errorf("%s at %v, want %v (off by %.2f original px)", tc.name, tc.got.Point, tc.want, d)
		}
		if math.Abs(tc.got.Confidence-tc.conf) > 0.1 {
			t.Errorf("%s confidence %.3f, want about %.2f", tc.name, tc.got.Confidence, tc.conf)
		}
	}
	if got.ModelVersion != "test" {
		t.Errorf("model version %q", got.ModelVersion)
	}
}

func TestLocateDiscAbsent(t *testing.T) {
	// heatRunner's disc peaks at about 0.9, right of the fovea: a right
	// eye while the disc counts, unknown once the gate drops it.
	fov := fundus.FOV{CX: 64, CY: 64, Radius: 64}
	for _, tc := range []struct {
		name       string
		minConf    float64
		absent     bool
		eye        Eye
		fieldNoDsc bool
	}{
		{"no gate (older models)", 0, false, EyeRight, false},
		{"peak above the gate", 0.5, false, EyeRight, false},
		{"peak below the gate", 0.95, true, EyeUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel()
			m.MinDiscConfidence = tc.minConf
			l := newWithRunner(heatRunner{disc: Point{90.5, 60.25}, fovea: Point{60, 66}}, m)
			got, err := l.Locate(context.Background(), greyNormalized(128, fundus.Transform{Scale: 1}))
			if err != nil {
				t.Fatal(err)
			}
			if got.DiscAbsent != tc.absent {
				t.Fatalf("DiscAbsent %v at peak %.2f and gate %.2f", got.DiscAbsent, got.Disc.Confidence, tc.minConf)
			}
			if e := got.Eye(); e != tc.eye {
				t.Errorf("eye %v, want %v", e, tc.eye)
			}
			// The fovea lies 0.07 FOV radii from the centre, the disc 0.42:
			// macula-centred with the disc or without it.
			if f := got.Field(fov); f != FieldMacula {
				t.Errorf("field %v, want %v", f, FieldMacula)
			}
		})
	}
}

func TestLocateErrors(t *testing.T) {
	m := testModel()
	for _, tc := range []struct {
		name string
		l    *Locator
		n    *fundus.Normalized
	}{
		{"nil image", newWithRunner(heatRunner{}, m), nil},
		{"wrong size", newWithRunner(heatRunner{}, m), greyNormalized(64, fundus.Transform{Scale: 1})},
		{"runner fails", newWithRunner(failRunner{}, m), greyNormalized(128, fundus.Transform{Scale: 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.l.Locate(context.Background(), tc.n); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestParseModel(t *testing.T) {
	good := `{"name":"disc","version":"v","input":"image","output":"logits","output_channels":["disc","fovea"],
		"channels":"RGB","normalization":"fov_standardize","fov_threshold":25,"size":384,"window":5,"sigma":2.5}`
	m, err := ParseModel([]byte{1}, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != 384 || m.FOVThreshold != 25 || m.Window != 5 || m.Input != "image" {
		t.Fatalf("parsed %+v", m)
	}
	for _, tc := range []struct{ name, meta string }{
		{"not JSON", `{`},
		{"odd size", `{"input":"i","output":"o","output_channels":["disc","fovea"],"channels":"RGB","normalization":"fov_standardize","size":100,"window":5}`},
		{"channels swapped", `{"input":"i","output":"o","output_channels":["fovea","disc"],"channels":"RGB","normalization":"fov_standardize","size":384,"window":5}`},
		{"other normalization", `{"input":"i","output":"o","output_channels":["disc","fovea"],"channels":"RGB","normalization":"imagenet","size":384,"window":5}`},
		{"gate of 1 (nothing ever found)", `{"input":"i","output":"o","output_channels":["disc","fovea"],"channels":"RGB","normalization":"fov_standardize","size":384,"window":5,"min_disc_confidence":1}`},
		{"negative gate", `{"input":"i","output":"o","output_channels":["disc","fovea"],"channels":"RGB","normalization":"fov_standardize","size":384,"window":5,"min_disc_confidence":-0.1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseModel([]byte{1}, []byte(tc.meta)); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := ParseModel(nil, []byte(good)); err == nil {
		t.Fatal("no error for an empty graph")
	}
}
