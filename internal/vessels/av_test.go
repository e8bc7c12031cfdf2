package vessels

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/models"
)

// av_parity.json is written by train/av/train.py at export: the same kind
// of RGB test card as parity.json, the normalized input PyTorch computed,
// and the PyTorch model's sigmoid probabilities, channels (named by
// "channels") one after another.
type avParity struct {
	Channels []string  `json:"channels"`
	Input    []float32 `json:"input"`
	Prob     []float32 `json:"prob"`
}

func loadAVParity(t *testing.T) (*image.NRGBA, avParity) {
	t.Helper()
	var p avParity
	img := infertest.LoadParity(t, "testdata/av_parity.json", &p)
	b := img.Bounds()
	if len(p.Channels) == 0 || len(p.Prob) != len(p.Channels)*b.Dx()*b.Dy() || len(p.Input) != 3*b.Dx()*b.Dy() {
		t.Fatalf("av_parity.json: %d channels, %d probabilities, %d inputs for a %dx%d card",
			len(p.Channels), len(p.Prob), len(p.Input), b.Dx(), b.Dy())
	}
	return img, p
}

func avModel(t *testing.T) models.Model {
	t.Helper()
	m, err := models.AV()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAVNormalizeMatchesTraining(t *testing.T) {
	img, p := loadAVParity(t)
	infertest.CheckInput(t, img, avModel(t).Meta.FOVThreshold, p.Input)
}

func TestAVSegmentMatchesPyTorch(t *testing.T) {
	img, p := loadAVParity(t)
	// PyTorch's fixture is one pass over the image as it is; the
	// averaging over orientations is infer's (TestRunTiledAveraged).
	m := avModel(t)
	m.Meta.TestTimeOrientations = 1
	seg, err := NewAV(infertest.OpenRuntime(t), m)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	got, err := seg.Segment(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	plane := b.Dx() * b.Dy()
	byName := map[string][]float32{ClassVessel: got.Vessel, ClassArtery: got.Artery, ClassVein: got.Vein}
	compared := 0
	for c, name := range p.Channels {
		g, ok := byName[name]
		if !ok {
			continue
		}
		compared++
		var worst float64
		for i := range plane {
			worst = math.Max(worst, math.Abs(float64(g[i]-p.Prob[c*plane+i])))
		}
		if worst > 1e-3 {
			t.Errorf("%s: max |Go-PyTorch| probability difference %.2g, want <= 1e-3", name, worst)
		}
	}
	if compared != 3 {
		t.Fatalf("fixture channels %q: compared %d of vessel, artery, vein", p.Channels, compared)
	}
}

// fixedRunner returns the same [1,3,h,w] logits for every tile: channel c
// of pixel i is logits[c](i).
type fixedRunner struct{ logits [3]func(i int) float32 }

func (r fixedRunner) Run(_ context.Context, in infer.Tensor) (infer.Tensor, error) {
	h, w := int(in.Shape[2]), int(in.Shape[3])
	out := infer.NewTensor(1, 3, int64(h), int64(w))
	for c := range 3 {
		for i := range h * w {
			out.Data[c*h*w+i] = r.logits[c](i)
		}
	}
	return out, nil
}

func TestAVChannelsFollowClasses(t *testing.T) {
	m := models.Model{Meta: models.Meta{Classes: []string{"vein", "vessel", "artery"}, SizeMultiple: 8, Threshold: 0.5}}
	r := fixedRunner{[3]func(int) float32{
		func(int) float32 { return -2 }, // vein
		func(int) float32 { return 0 },  // vessel
		func(int) float32 { return 2 },  // artery
	}}
	seg, err := newAVWithRunner(r, m)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	got, err := seg.Segment(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	sig := func(x float64) float32 { return float32(1 / (1 + math.Exp(-x))) }
	if got.Vessel[5] != sig(0) || got.Artery[5] != sig(2) || got.Vein[5] != sig(-2) {
		t.Fatalf("vessel %v artery %v vein %v: channels not mapped by class name", got.Vessel[5], got.Artery[5], got.Vein[5])
	}
	if len(got.Vessel) != 24*16 || got.Width != 24 || got.Height != 16 {
		t.Fatalf("map %dx%d with %d values", got.Width, got.Height, len(got.Vessel))
	}

	if _, err := newAVWithRunner(r, models.Model{Meta: models.Meta{Classes: []string{"vessel", "artery"}}}); err == nil {
		t.Fatal("no error for a model without a vein class")
	}
	if _, err := seg.Segment(context.Background(), image.NewNRGBA(image.Rect(0, 0, 8, 8))); err == nil {
		t.Fatal("no error for an 8x8 image")
	}
}

func TestClassify(t *testing.T) {
	m := &AVMap{Width: 3, Height: 1,
		Vessel: []float32{0.9, 0.9, 0.1},
		Artery: []float32{0.8, 0.3, 0.9},
		Vein:   []float32{0.2, 0.4, 0.1},
	}
	mask := image.NewGray(image.Rect(0, 0, 3, 1))
	mask.Pix[0], mask.Pix[1] = 255, 255
	l, err := m.Classify(mask)
	if err != nil {
		t.Fatal(err)
	}
	want := []AVClass{Artery, Vein, NotVessel}
	wantConf := []float32{0.6, 0.1, 0}
	for i := range want {
		if l.Class[i] != want[i] || math.Abs(float64(l.Confidence[i]-wantConf[i])) > 1e-6 {
			t.Errorf("pixel %d: %v %.3f, want %v %.3f", i, l.Class[i], l.Confidence[i], want[i], wantConf[i])
		}
	}
	if _, err := m.Classify(image.NewGray(image.Rect(0, 0, 2, 2))); err == nil {
		t.Fatal("no error for a mask of another size")
	}
}
