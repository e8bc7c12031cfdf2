package disc

import (
	"context"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// circleRunner stands in for the disc/cup model: logits of +in inside
// circles of radius disc and cup (crop pixels) centred off the crop centre
// by (dx, dy), -8 elsewhere. squash > 0 makes the disc an ellipse that
// much wider than tall; notch > 0 cuts a slot of half-height notch from
// the centre to the disc's left edge (a C-shaped region).
type circleRunner struct {
	disc, cup, dx, dy float64
	squash, notch     float64
	in                float32
}

func (r circleRunner) Run(_ context.Context, x infer.Tensor) (infer.Tensor, error) {
	h, w := int(x.Shape[2]), int(x.Shape[3])
	out := infer.NewTensor(1, 2, int64(h), int64(w))
	cx, cy := float64(w)/2+r.dx, float64(h)/2+r.dy
	for y := range h {
		for xx := range w {
			px, py := float64(xx)+0.5-cx, float64(y)+0.5-cy
			d := math.Hypot(px, py)
			dd := d
			if r.squash > 0 {
				dd = math.Hypot(px/r.squash, py)
			}
			out.Data[y*w+xx], out.Data[h*w+y*w+xx] = -8, -8
			if r.notch > 0 && px < 0 && math.Abs(py) < r.notch {
				dd = math.Inf(1)
			}
			if dd <= r.disc {
				out.Data[y*w+xx] = r.in
			}
			if d <= r.cup {
				out.Data[h*w+y*w+xx] = r.in
			}
		}
	}
	return out, nil
}

func testCupModel() CupModel {
	return CupModel{graph: testGraph("disccup"), Channels: []string{"disc", "cup"}, Size: 64, SizeMultiple: 16, Threshold: 0.5,
		Crop: CropSpec{SideOverRadius: 5, RadiusPrior: 0.17, TrainedRadiusRange: [2]float64{0.7, 1.4}, TrainedCentreError: 0.45}}
}

func greyPhoto(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 120
	}
	return img
}

func TestSegment(t *testing.T) {
	photo := greyPhoto(400, 300)
	fov := fundus.FOV{CX: 200, CY: 150, Radius: 150}
	// r_est = 0.17 * 150 = 25.5 px; the crop is 127.5 px wide, 64 crop px:
	// one crop pixel is 1.992 original px.
	const px = 127.5 / 64
	located := Point{260.3, 140.6}
	for _, tc := range []struct {
		name    string
		run     circleRunner
		at      Point
		reason  string // "" = found
		caution string // "" = none
	}{
		{"a plausible disc", circleRunner{disc: 12, cup: 6, in: 8}, located, "", ""},
		{"offset within the disc", circleRunner{disc: 12, cup: 6, dx: 3, dy: -2, in: 8}, located, "", ""},
		// 25.5 px estimated for a disc of 7 crop px = 13.9 px: 0.55 times.
		{"smaller than trained", circleRunner{disc: 7, cup: 3, in: 8}, located, "", "outside the 0.71-1.43"},
		{"off-centre more than trained", circleRunner{disc: 12, cup: 6, dx: 7, in: 8}, located, "", "0.45 the model was trained on"},
		{"nothing", circleRunner{disc: 0, cup: 0, in: 8}, located, "no disc", ""},
		{"too small", circleRunner{disc: 4, cup: 2, in: 8}, located, "too small", ""},
		{"too large", circleRunner{disc: 29, cup: 10, in: 8}, located, "too large", ""},
		{"faint", circleRunner{disc: 12, cup: 6, in: 0.2}, located, "low confidence", ""},
		{"elongated", circleRunner{disc: 12, cup: 6, in: 8, squash: 2}, located, "elongation", ""},
		{"C-shaped", circleRunner{disc: 12, cup: 6, in: 8, notch: 7}, located, "filled", ""},
		{"cut by the crop", circleRunner{disc: 12, cup: 6, dx: 24, in: 8}, located, "edge", ""},
		{"cut by the photo", circleRunner{disc: 12, cup: 6, in: 8}, Point{395, 140}, "edge", ""},
		{"away from the located centre", circleRunner{disc: 9, cup: 4, dx: 14, in: 8}, located, "from the located centre", ""},
		{"centre outside the photo", circleRunner{disc: 12, cup: 6, in: 8}, Point{-200, 140}, "outside the photograph", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSegmenterWithRunner(tc.run, testCupModel())
			seg, err := s.Segment(context.Background(), photo, fov, tc.at, EyeRight)
			if err != nil {
				t.Fatal(err)
			}
			if seg.Found != (tc.reason == "") || !strings.Contains(seg.Reason, tc.reason) {
				t.Fatalf("found %v, reason %q; want reason containing %q", seg.Found, seg.Reason, tc.reason)
			}
			if (seg.Caution == "") != (tc.caution == "") || !strings.Contains(seg.Caution, tc.caution) {
				t.Errorf("caution %q, want %q", seg.Caution, tc.caution)
			}
			if math.Abs(seg.RadiusEstimate-25.5) > 1e-9 || math.Abs(seg.Crop.Side-127.5) > 1e-9 || seg.Located != tc.at || seg.Model != "disccup@test" {
				t.Errorf("crop %+v, radius %v, located %v, model %q", seg.Crop, seg.RadiusEstimate, seg.Located, seg.Model)
			}
			if !seg.Found {
				return
			}
			m := seg.Measures
			want := Point{tc.at.X + tc.run.dx*px, tc.at.Y + tc.run.dy*px}
			if d := Distance(m.Centre, want); d > 0.5 {
				t.Errorf("disc centre %v, want %v (in original pixels)", m.Centre, want)
			}
			if r := m.RadiusPx(); math.Abs(r-tc.run.disc*px) > 1.5 {
				t.Errorf("disc radius %.2f px, want about %.2f", r, tc.run.disc*px)
			}
			if want := tc.run.cup / tc.run.disc; math.Abs(m.VerticalCDR-want) > 0.05 || math.Abs(m.HorizontalCDR-want) > 0.05 {
				t.Errorf("CDR %.3f / %.3f, want about %.3f", m.VerticalCDR, m.HorizontalCDR, want)
			}
			// Bilinear pasting blurs the edges a little.
			if seg.Confidence < 0.95 || seg.CupConfidence < 0.9 {
				t.Errorf("confidence %.3f / %.3f for logits of 8", seg.Confidence, seg.CupConfidence)
			}
			if !seg.Disc.Rect.In(photo.Bounds()) || seg.Disc.Rect != seg.Cup.Rect {
				t.Errorf("mask bounds %v / %v", seg.Disc.Rect, seg.Cup.Rect)
			}
		})
	}
}

func TestSegmentErrors(t *testing.T) {
	s := newSegmenterWithRunner(circleRunner{disc: 12, cup: 6, in: 8}, testCupModel())
	fov := fundus.FOV{CX: 200, CY: 150, Radius: 150}
	ctx := context.Background()
	if _, err := s.Segment(ctx, nil, fov, Point{200, 150}, EyeRight); err == nil {
		t.Error("nil photo accepted")
	}
	if _, err := s.Segment(ctx, greyPhoto(40, 30), fundus.FOV{}, Point{20, 15}, EyeRight); err == nil {
		t.Error("zero FOV accepted")
	}
	if _, err := s.Segment(ctx, greyPhoto(40, 30), fov, Point{math.NaN(), 1}, EyeRight); err == nil {
		t.Error("NaN centre accepted")
	}
	bad := newSegmenterWithRunner(failRunner{}, testCupModel())
	if _, err := bad.Segment(ctx, greyPhoto(400, 300), fov, Point{200, 150}, EyeRight); err == nil {
		t.Error("runner failure not reported")
	}
}

func TestParseCupModel(t *testing.T) {
	good := `{"name":"disccup","version":"v","input":"image","output":"logits","output_activation":"sigmoid",
		"output_channels":["disc","cup"],"channels":"RGB","normalization":"fov_standardize","fov_threshold":25,
		"size":256,"size_multiple":16,"threshold":0.5,
		"crop":{"side_over_disc_radius":5.0,"disc_radius_prior_over_fov_radius":0.17,"trained_r_est_over_r":[0.7,1.4],"trained_centre_error_over_r":0.45}}`
	m, err := ParseCupModel([]byte{1}, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != 256 || m.Threshold != 0.5 || m.Crop.SideOverRadius != 5 || m.Crop.RadiusPrior != 0.17 ||
		m.Crop.TrainedRadiusRange != [2]float64{0.7, 1.4} || m.String() != "disccup@v" {
		t.Fatalf("parsed %+v", m)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"channels swapped", `["disc","cup"]`, `["cup","disc"]`},
		{"other normalization", `"fov_standardize"`, `"imagenet"`},
		{"size off the stride", `"size":256`, `"size":250`},
		{"no threshold", `"threshold":0.5`, `"threshold":0`},
		{"crop too tight", `"side_over_disc_radius":5.0`, `"side_over_disc_radius":1.5`},
		{"no radius prior", `"disc_radius_prior_over_fov_radius":0.17`, `"disc_radius_prior_over_fov_radius":0`},
		{"softmax output", `"sigmoid"`, `"softmax"`},
		{"not JSON", `{"name"`, `{`},
		{"second-pass range reversed", `"trained_centre_error_over_r":0.45`, `"trained_centre_error_over_r":0.45,"refine_r_over_r_est":[2,0.5]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseCupModel([]byte{1}, []byte(strings.Replace(good, tc.from, tc.to, 1))); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := ParseCupModel(nil, []byte(good)); err == nil {
		t.Fatal("no error for an empty graph")
	}
}

func TestDiscCalibration(t *testing.T) {
	c := DiscCalibration(150)
	if c.Source != fundus.CalibrationDiscDiameter || c.UmPerPx != 12 || !strings.Contains(c.Note, "1800 µm") {
		t.Fatalf("DiscCalibration(150) = %+v", c)
	}
	if c := DiscCalibration(0); c.Source != fundus.CalibrationUncalibrated || c.UmPerPx != 0 {
		t.Fatalf("DiscCalibration(0) = %+v", c)
	}
}

func TestCropGeometry(t *testing.T) {
	c := CropAround(Point{100, 50}, 20, 5, 256)
	if c.X0 != 50 || c.Y0 != 0 || c.Side != 100 || c.Centre() != (Point{100, 50}) {
		t.Fatalf("crop %+v", c)
	}
	// Crop pixel i samples X0 + (i + 0.5) * Side / Size.
	if p := c.ToOriginal(0.5, 255.5); math.Abs(p.X-(50+0.5*100/256.0)) > 1e-12 || math.Abs(p.Y-(255.5*100/256.0)) > 1e-12 {
		t.Fatalf("ToOriginal = %v", p)
	}
	if b := (Crop{X0: 10.5, Y0: -3.2, Side: 20, Size: 8}).Bounds(image.Rect(0, 0, 25, 25)); b != image.Rect(10, 0, 25, 17) {
		t.Fatalf("Bounds = %v", b)
	}
}

// brightRunner stands in for the model by marking bright crop pixels as
// disc (and the brightest as cup), so the disc stays put in the photo
// whatever the crop: what a second pass needs.
type brightRunner struct{}

func (brightRunner) Run(_ context.Context, x infer.Tensor) (infer.Tensor, error) {
	h, w := x.Shape[2], x.Shape[3]
	n := int(h * w)
	out := infer.NewTensor(1, 2, h, w)
	for i := range n {
		out.Data[i], out.Data[n+i] = -8, -8
		if x.Data[i] > 0 { // red channel above the crop's mean
			out.Data[i] = 8
		}
		if x.Data[i] > 2.5 {
			out.Data[n+i] = 8
		}
	}
	return out, nil
}

func TestSegmentSecondPass(t *testing.T) {
	// A bright disc of radius 20 at (270, 145) with a brighter cup of
	// radius 8; the locator's point is 11 px off and the prior radius
	// (25.5 px) too large.
	photo := greyPhoto(400, 300)
	disc, cup := Point{270, 145}, 8.0
	for y := range 300 {
		for x := range 400 {
			d := math.Hypot(float64(x)+0.5-disc.X, float64(y)+0.5-disc.Y)
			i := photo.PixOffset(x, y)
			switch {
			case d <= cup:
				photo.Pix[i] = 255
			case d <= 20:
				photo.Pix[i] = 200
			}
		}
	}
	fov := fundus.FOV{CX: 200, CY: 150, Radius: 150}
	located := Point{260, 140}
	for _, tc := range []struct {
		name   string
		refine [2]float64
		passes int
	}{
		{"one pass (no range in the model)", [2]float64{}, 1},
		{"second pass", [2]float64{0.5, 2}, 2},
		{"first disc outside the range", [2]float64{0.9, 1.1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testCupModel()
			m.Crop.RefineRadiusRange = tc.refine
			seg, err := newSegmenterWithRunner(brightRunner{}, m).Segment(context.Background(), photo, fov, located, EyeRight)
			if err != nil {
				t.Fatal(err)
			}
			if !seg.Found || seg.Passes != tc.passes {
				t.Fatalf("found %v (%s), passes %d, want %d", seg.Found, seg.Reason, seg.Passes, tc.passes)
			}
			if seg.Located != located {
				t.Errorf("located %v, want the locator's %v", seg.Located, located)
			}
			if d := Distance(seg.Measures.Centre, disc); d > 1 {
				t.Errorf("disc centre %v, want %v", seg.Measures.Centre, disc)
			}
			wantCentre, wantR := located, 25.5
			if tc.passes == 2 {
				wantCentre, wantR = disc, 20
			}
			if d := Distance(seg.Crop.Centre(), wantCentre); d > 1 || math.Abs(seg.RadiusEstimate-wantR) > 1.5 {
				t.Errorf("crop centre %v radius %.2f, want %v and %.1f", seg.Crop.Centre(), seg.RadiusEstimate, wantCentre, wantR)
			}
		})
	}
}

func TestSkipRunsNothing(t *testing.T) {
	// No runner at all: Skip must not touch the model.
	s := newSegmenterWithRunner(nil, loadCupModel(t))
	fov := fundus.FOV{CX: 500, CY: 400, Radius: 380}
	c := Point{620, 410}
	seg := s.Skip(fov, c, "no disc")
	if seg.Found || seg.Reason != "no disc" || seg.Disc != nil || seg.Cup != nil || seg.Passes != 0 {
		t.Fatalf("Skip gave found=%v reason=%q masks %v/%v passes %d", seg.Found, seg.Reason, seg.Disc != nil, seg.Cup != nil, seg.Passes)
	}
	if seg.Crop != s.CropFor(fov, c) || seg.Located != c || seg.Model != s.Model().String() {
		t.Fatalf("Skip's crop %+v, located %v, model %q", seg.Crop, seg.Located, seg.Model)
	}
}
