package eval

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// avFixture writes a 40x40 RITE-style sample under root/test: a red
// artery along rows 10-12 (x 2-37) crossed by a blue vein along columns
// 28-30 (y 2-37), green where they cross, a white (uncertain) stub and a
// magenta stray pixel. Artery pixels: 36·3 - 9 = 99; vein pixels: 99.
func avFixture(t *testing.T, root string) {
	t.Helper()
	const n = 40
	photo := image.NewNRGBA(image.Rect(0, 0, n, n))
	av := image.NewNRGBA(image.Rect(0, 0, n, n))
	mask := image.NewGray(image.Rect(0, 0, n, n))
	for i := range n * n {
		photo.Pix[4*i], photo.Pix[4*i+1], photo.Pix[4*i+2], photo.Pix[4*i+3] = 150, 60, 30, 255
		mask.Pix[i] = 255
	}
	red, blue, green := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}, color.NRGBA{0, 255, 0, 255}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			av.Set(x, y, color.NRGBA{0, 0, 0, 255})
			horiz, vert := y >= 10 && y <= 12 && x >= 2 && x <= 37, x >= 28 && x <= 30 && y >= 2 && y <= 37
			switch {
			case horiz && vert:
				av.Set(x, y, green)
			case horiz:
				av.Set(x, y, red)
			case vert:
				av.Set(x, y, blue)
			}
		}
	}
	for y := 20; y < 30; y++ {
		av.Set(8, y, color.NRGBA{250, 250, 250, 255})
	}
	av.Set(15, 30, color.NRGBA{255, 0, 255, 255})
	dir := filepath.Join(root, "test")
	writePNG(t, filepath.Join(dir, "images", "01_test.png"), photo)
	writePNG(t, filepath.Join(dir, "av", "01_test.png"), av)
	writePNG(t, filepath.Join(dir, "mask", "01_test_mask.png"), mask)
}

func TestLoadAVLabels(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 7, 1))
	cols := []color.NRGBA{{0, 0, 0, 255}, {250, 10, 5, 255}, {0, 0, 255, 255}, {0, 255, 0, 255}, {255, 255, 255, 255}, {255, 0, 255, 255}, {0, 200, 200, 255}}
	for x, c := range cols {
		img.Set(x, 0, c)
	}
	p := filepath.Join(t.TempDir(), "av.png")
	writePNG(t, p, img)
	got, err := loadAVLabels(p, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{avBackground, avArtery, avVein, avCrossing, avUncertain, avUncertain, avUncertain}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("colour %v: class %d, want %d", cols[i], got[i], want[i])
		}
	}
	if _, err := loadAVLabels(p, 8, 1); err == nil {
		t.Error("no error for a label of the wrong size")
	}
}

func TestEvalAV(t *testing.T) {
	root := t.TempDir()
	avFixture(t, root)
	set, err := OpenAVSet(root, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Samples) != 1 || set.Samples[0].ID != "01_test" || !strings.HasSuffix(set.Samples[0].Mask, "01_test_mask.png") {
		t.Fatalf("set %+v", set)
	}
	// Artery on the left half, vein on the right: half the artery is
	// wrong, every vein pixel right.
	predict := func(_ context.Context, img *fundus.Image) ([]float32, []float32, error) {
		pa, pv := make([]float32, img.Width*img.Height), make([]float32, img.Width*img.Height)
		for i := range pa {
			pa[i], pv[i] = 0.2, 0.5
			if i%img.Width < 20 {
				pa[i] = 0.8
			}
		}
		return pa, pv, nil
	}
	allArtery := func(vessel *image.Gray, pa, pv []float32) ([]bool, error) {
		out := make([]bool, len(pa))
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	rep, err := EvalAV(context.Background(), set, predict, allArtery, nil)
	if err != nil {
		t.Fatal(err)
	}
	im := rep.Images[0]
	if im.ArteryPx != 99 || im.VeinPx != 99 || !im.MaskGiven {
		t.Fatalf("counted %d artery and %d vein pixels (want 99, 99), mask given %v", im.ArteryPx, im.VeinPx, im.MaskGiven)
	}
	near := func(name string, got Score, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-9 {
			t.Errorf("%s = %.4f, want %.4f", name, got, want)
		}
	}
	o := rep.Overall
	near("accuracy", o.Accuracy, (54.0+99)/198)
	near("artery sensitivity", o.ArterySensitivity, 54.0/99)
	near("vein sensitivity", o.VeinSensitivity, 1)
	near("consistent accuracy", o.ConsistentAccuracy, 0.5)
	near("consistent artery sensitivity", o.ConsistentArterySensitivity, 1)
	near("consistent vein sensitivity", o.ConsistentVeinSensitivity, 0)
	near("mean accuracy", rep.MeanPerImage.Accuracy, float64(o.Accuracy))
	// One centreline pixel per column of the artery and per row of the vein.
	if im.CentrelinePx < 50 || im.CentrelinePx > 70 {
		t.Errorf("%d centreline pixels, want about 66", im.CentrelinePx)
	}
	if o.CentrelineVeinSensitivity != 1 || o.CentrelineArterySensitivity < 0.4 || o.CentrelineArterySensitivity > 0.6 {
		t.Errorf("centreline sensitivities %.3f / %.3f", o.CentrelineArterySensitivity, o.CentrelineVeinSensitivity)
	}

	// Without the consistency step its figures are null in JSON.
	rep, err = EvalAV(context.Background(), set, predict, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"consistent_accuracy":null`) || !strings.Contains(string(b), `"artery_sensitivity":0.545`) {
		t.Errorf("JSON %s", b)
	}
}

func TestOpenAVSetErrors(t *testing.T) {
	if _, err := OpenAVSet(filepath.Join(t.TempDir(), "nope"), "test"); err == nil {
		t.Error("no error for a missing root")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "images"), 0o755)
	if _, err := OpenAVSet(root, "test"); err == nil || !strings.Contains(err.Error(), "av/") {
		t.Errorf("err = %v, want it to name the missing av/ folder", err)
	}
}
