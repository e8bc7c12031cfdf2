package lesions

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

func TestWorkingScale(t *testing.T) {
	tests := []struct {
		fov, want, scale float64
	}{
		{3422, 1706, 0.5},         // IDRiD original: exactly halved, as in training
		{1712, 1706, 1},           // IDRiD grading copy: as is
		{857, 1706, 2},            // the bundled quarter-size sample
		{539, 1706, 1706.0 / 539}, // DRIVE: 3.17, not near a whole factor
		{2600, 1706, 1706.0 / 2600},
		{1706 * 3 * 1.03, 1706, 1.0 / 3}, // 3 % off: snapped
		{1706 * 3 * 1.05, 1706, 1 / (3 * 1.05)},
	}
	for _, tc := range tests {
		if got := workingScale(tc.fov, tc.want); math.Abs(got-tc.scale) > 1e-12 {
			t.Errorf("workingScale(%v, %v) = %v, want %v", tc.fov, tc.want, got, tc.scale)
		}
	}
}

func TestAreaResample(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 6, 2))
	vals := []uint8{10, 20, 30, 40, 50, 61, 100, 0, 0, 0, 0, 0}
	for i, v := range vals {
		src.Pix[4*i], src.Pix[4*i+1], src.Pix[4*i+2], src.Pix[4*i+3] = v, v, 255-v, 255
	}
	// 2x2 box averages.
	got := areaResample(src, src.Rect, 0.5, 3, 1)
	for i, want := range []uint8{33, 18, 28} { // (10+20+100+0)/4 = 32.5 → 33, (30+40)/4 = 17.5 → 18, (50+61)/4 = 27.75 → 28
		if got.Pix[4*i] != want || got.Pix[4*i+3] != 255 {
			t.Errorf("k=2 pixel %d: %v, want %d", i, got.Pix[4*i:4*i+4], want)
		}
	}
	// Fractional: 3 source columns into 2 (each output covers 1.5),
	// first row only.
	got = areaResample(src, image.Rect(0, 0, 3, 1), 2.0/3, 2, 0)
	if got.Bounds().Dx() != 2 {
		t.Fatal(got.Bounds())
	}
	got = areaResample(src, image.Rect(0, 0, 3, 1), 2.0/3, 2, 1)
	for i, want := range []uint8{13, 27} { // (10 + 20/2)/1.5 = 13.3, (20/2 + 30)/1.5 = 26.7
		if got.Pix[4*i] != want {
			t.Errorf("s=2/3 pixel %d: %d, want %d", i, got.Pix[4*i], want)
		}
	}
	// An offset rectangle.
	got = areaResample(src, image.Rect(2, 0, 6, 2), 0.5, 2, 1)
	if got.Pix[0] != 18 || got.Pix[4] != 28 {
		t.Errorf("offset: %v", got.Pix)
	}
}

// fakeRunner is a "model" that marks hard exudate wherever the
// normalized red channel is high (a white spot on a grey fundus) and
// nothing else, and records the tile sizes it was given.
type fakeRunner struct {
	multiple int
	calls    int
}

func (f *fakeRunner) Run(_ context.Context, in infer.Tensor) (infer.Tensor, error) {
	f.calls++
	h, w := int(in.Shape[2]), int(in.Shape[3])
	if h%f.multiple != 0 || w%f.multiple != 0 {
		return infer.Tensor{}, errors.New("tile size not a multiple")
	}
	out := infer.NewTensor(1, 4, int64(h), int64(w))
	for i := range h * w {
		for c := range 4 {
			out.Data[c*h*w+i] = -10
		}
		if in.Data[i] > 2 { // the red channel, standardized
			out.Data[2*h*w+i] = 10 // channel 2 is EX in the real model's order
		}
	}
	return out, nil
}

func fakeModel(fovDiameter float64) Model {
	m := Model{Name: "lesions", Version: "test", ONNX: []byte{1}, Input: "image", Output: "logits", Activation: "sigmoid",
		Classes: []string{"MA", "HE", "EX", "SE"}, Normalization: "fov_standardize", ColorChannels: "RGB", FOVThreshold: 25,
		SizeMultiple: 16, FOVDiameterPx: fovDiameter, Thresholds: map[string]float64{"MA": 0.5, "HE": 0.5, "EX": 0.5, "SE": 0.5}}
	if err := m.validate(); err != nil {
		panic(err)
	}
	return m
}

// syntheticPhoto is a w x h photo with a grey disc (the FOV) of radius r
// at (cx, cy) on black and a white square spot.
func syntheticPhoto(w, h int, cx, cy, r float64, spot image.Rectangle) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i+3] = 255
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) <= r {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 120, 60, 30
			}
			if (image.Point{x, y}).In(spot) {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 255, 255, 255
			}
		}
	}
	return img
}

// Detect maps the working grid back to the photo: a 10x10 spot at
// (100, 100) comes back where it is, whatever the working scale.
func TestDetectMapsBack(t *testing.T) {
	spot := image.Rect(100, 100, 110, 110)
	img := syntheticPhoto(400, 300, 200, 150, 140, spot)
	fov := fundus.FOV{CX: 200, CY: 150, Radius: 140}
	disc, fovea := Point{300, 150}, Point{200, 150} // a right eye: the spot is superior temporal
	tests := []struct {
		name        string
		fovDiameter float64 // the model's working FOV diameter; the photo's is 280
		scale       float64
		exact       bool
	}{
		{"halved, as IDRiD originals", 140, 0.5, true},
		{"as is", 280, 1, true},
		{"doubled (bilinear), as the quarter-size sample", 560, 2, false},
		{"0.7, area averaged", 196, 0.7, false},
		{"1.5, bilinear", 420, 1.5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := &fakeRunner{multiple: 16}
			d := newWithRunner(run, fakeModel(tc.fovDiameter))
			r, err := d.Detect(context.Background(), img, fov, Options{Disc: &disc, Fovea: &fovea, DiscRadiusPx: 20, UmPerPx: 2, Boxes: BoxOptions{Max: 3}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Model != "lesions@test" || r.Width != 400 || r.Height != 300 || math.Abs(1/r.Grid.Transform.Scale-tc.scale) > 1e-12 {
				t.Fatalf("model %q, photo %dx%d, grid scale %v", r.Model, r.Width, r.Height, r.Grid.Transform.Scale)
			}
			if run.calls == 0 || r.Counts != [NumKinds]int{0, 0, 1, 0} {
				t.Fatalf("%d runs, counts %v", run.calls, r.Counts)
			}
			l := r.OfKind(EX)[0]
			tol := 0.0
			if !tc.exact {
				tol = 1.5 / tc.scale // a grid pixel and a half, in photo pixels
			}
			want := Rect{100, 100, 110, 110}
			for i := range want {
				if math.Abs(l.Box[i]-want[i]) > tol+1e-9 {
					t.Errorf("box %v, want %v ± %.2f", l.Box, want, tol)
					break
				}
			}
			if math.Abs(l.Centroid.X-105) > tol/2+1e-9 || math.Abs(l.Centroid.Y-105) > tol/2+1e-9 {
				t.Errorf("centroid %v, want (105, 105)", l.Centroid)
			}
			if tc.exact && (l.AreaPx != 100 || *l.AreaUm2 != 400) {
				t.Errorf("area %v px, %v µm², want 100, 400", l.AreaPx, *l.AreaUm2)
			}
			if l.Quadrant != SuperiorTemporal || l.FoveaDistanceDD == nil || l.DiscDistanceDD == nil {
				t.Errorf("quadrant %v, distances %v %v", l.Quadrant, l.FoveaDistanceDD, l.DiscDistanceDD)
			}
			if b := r.Boxes[EX]; len(b) != 1 || b[0].Objects != 1 || !nearRect(b[0].Px, Rect{round(l.Box[0], 2), round(l.Box[1], 2), round(l.Box[2], 2), round(l.Box[3], 2)}) ||
				b[0].Norm != Normalize(b[0].Px, 400, 300) {
				t.Errorf("boxes %+v", b)
			}
			if tc.exact {
				if b := r.Boxes[EX][0].Norm; b != (Rect{0.25, 0.3333, 0.275, 0.3667}) {
					t.Errorf("normalized box %v", b)
				}
			}
			// The maps answer in photo coordinates.
			if p := r.At(EX, 105, 105); p < 0.99 {
				t.Errorf("At(EX, spot) = %v", p)
			}
			if p := r.At(EX, 150, 150); p > 0.01 {
				t.Errorf("At(EX, background) = %v", p)
			}
			if p := r.At(EX, -5, 0); p != 0 {
				t.Errorf("At off the grid = %v", p)
			}
		})
	}
}

// Lesions are looked for inside the FOV only, and the grid covers the FOV,
// not the whole photo.
func TestDetectFOVOnly(t *testing.T) {
	img := syntheticPhoto(500, 300, 250, 150, 120, image.Rect(10, 10, 20, 20)) // the spot is outside the FOV
	d := newWithRunner(&fakeRunner{multiple: 16}, fakeModel(240))
	r, err := d.Detect(context.Background(), img, fundus.FOV{CX: 250, CY: 150, Radius: 120}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Lesions) != 0 {
		t.Errorf("lesions outside the FOV: %+v", r.Lesions)
	}
	// 240 + 2 x 4 margin.
	if r.Grid.Width != 248 || r.Grid.Height != 248 || r.Grid.Transform.OffsetX != 126 || r.Grid.Transform.OffsetY != 26 {
		t.Errorf("grid %+v", r.Grid)
	}
	if _, err := d.Detect(context.Background(), img, fundus.FOV{CX: 250, CY: -115, Radius: 120}, Options{}); err == nil {
		t.Error("FOV almost off the photo: no error")
	}
	if _, err := d.Detect(context.Background(), img, fundus.FOV{}, Options{}); err == nil {
		t.Error("zero FOV: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Detect(ctx, img, fundus.FOV{CX: 250, CY: 150, Radius: 120}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
