package analysis

import (
	"image"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// circle is a mask of the pixels whose centres lie within r of (cx, cy).
func circle(b image.Rectangle, cx, cy, r float64) *image.Gray {
	m := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) <= r {
				m.Pix[m.PixOffset(x, y)] = 255
			}
		}
	}
	return m
}

// foundDisc is a Segmentation as Segment returns it for a disc of radius
// 40 and a cup of radius 20 centred on (300, 200) in a right eye.
func foundDisc() *disc.Segmentation {
	b := image.Rect(200, 100, 400, 300)
	d, c := circle(b, 300, 200, 40), circle(b, 300, 200, 20)
	return &disc.Segmentation{
		Located: disc.Point{X: 302, Y: 198}, RadiusEstimate: 40, Crop: disc.Crop{X0: 202, Y0: 98, Side: 200, Size: 256},
		Disc: d, Cup: c, Confidence: 0.93, CupConfidence: 0.81, Found: true,
		Measures: disc.Measure(d, c, disc.EyeRight), Model: "disccup@test",
	}
}

func TestDiscSection(t *testing.T) {
	const w, h = 800, 600
	seg := foundDisc()
	for _, tc := range []struct {
		name   string
		cal    fundus.Calibration
		source fundus.CalibrationSource
		um     bool
	}{
		{"uncalibrated: the disc calibrates", fundus.Calibrate(fundus.FOV{}, 0, 0), fundus.CalibrationDiscDiameter, false},
		{"user calibration wins", fundus.Calibrate(fundus.FOV{}, 10, 0), fundus.CalibrationUser, true},
		{"camera angle wins", fundus.Calibrate(fundus.FOV{Radius: 500}, 0, 45), fundus.CalibrationFOVAngle, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cal := discCalibration(tc.cal, seg)
			if cal.Source != tc.source {
				t.Fatalf("calibration %+v, want source %s", cal, tc.source)
			}
			if tc.source == fundus.CalibrationDiscDiameter && math.Abs(cal.UmPerPx-1800.0/80) > 1e-9 {
				t.Fatalf("disc calibration %v µm/px, want 1800/80", cal.UmPerPx)
			}
			rc := report.Calibration{UmPerPx: cal.UmPerPx, Source: string(cal.Source)}
			d := discSection(seg, rc, w, h)
			if !d.Found || d.Center == nil || d.Center.X != 300 || d.Center.Y != 200 || d.RadiusPx != 40 ||
				d.HeightPx != 80 || d.WidthPx != 80 || d.CDR.Vertical != 0.5 || d.CDR.Horizontal != 0.5 || d.Cup.HeightPx != 40 {
				t.Fatalf("disc section %+v cup %+v cdr %+v", d, d.Cup, d.CDR)
			}
			if (d.HeightUm > 0) != tc.um || (d.Cup.HeightUm > 0) != tc.um || (d.AreaMm2 > 0) != tc.um {
				t.Errorf("micrometres %v/%v/%v under %s: want present %v", d.HeightUm, d.Cup.HeightUm, d.AreaMm2, cal.Source, tc.um)
			}
			if tc.um && math.Abs(d.HeightUm-80*cal.UmPerPx) > 0.1 {
				t.Errorf("height %v µm, want %v", d.HeightUm, 80*cal.UmPerPx)
			}
			if z := d.Zones; z == nil || z.B.InnerPx != 80 || z.B.OuterPx != 120 || z.C.InnerPx != 80 || z.C.OuterPx != 200 || z.B.Center != *d.Center {
				t.Errorf("zones %+v", d.Zones)
			}
			r := d.Rim
			if r.NasalSide != "right" || r.NasalPx == nil || r.TemporalPx == nil || r.ISNT != "holds" ||
				math.Abs(r.InferiorPx-20) > 0.5 || math.Abs(*r.NasalPx-20) > 0.5 {
				t.Errorf("rim %+v", r)
			}
			if d.Crop.Center.X != 302 || d.Crop.SidePx != 200 || d.Crop.InputPx != 256 || d.Crop.RadiusSource != "fov_prior" {
				t.Errorf("crop %+v", d.Crop)
			}
		})
	}
}

func TestDiscSectionNotFound(t *testing.T) {
	seg := foundDisc()
	seg.Found, seg.Reason = false, "low confidence"
	cal := discCalibration(fundus.Calibrate(fundus.FOV{}, 0, 0), seg)
	if cal.Source != fundus.CalibrationUncalibrated || cal.UmPerPx != 0 || !strings.Contains(cal.Note, "no optic disc found") {
		t.Errorf("a disc not found calibrated the photo: %+v", cal)
	}
	d := discSection(seg, report.Calibration{Source: string(cal.Source)}, 800, 600)
	if d.Found || d.Reason != "low confidence" || d.Center != nil || d.CDR != nil || d.Rim != nil || d.Zones != nil || d.HeightPx != 0 {
		t.Errorf("measures reported for a disc not found: %+v", d)
	}
	if discForBiomarkers(seg) != nil {
		t.Error("zones measured around a disc not found")
	}
}

func TestRimSectionUnknownEye(t *testing.T) {
	r := rimSection(disc.Rim{Superior: 3, Inferior: 4, Left: 1, Right: 2})
	if r.NasalPx != nil || r.TemporalPx != nil || r.ISNT != "unknown" || r.NasalSide != "unknown" || r.InferiorPx != 4 {
		t.Errorf("rim %+v", r)
	}
	r = rimSection(disc.Rim{Superior: 3, Inferior: 4, Left: 1, Right: 2, Eye: disc.EyeLeft})
	if *r.NasalPx != 1 || *r.TemporalPx != 2 || r.ISNT != "violated" || !slices.Equal(r.ISNTViolations, []string{"nasal < temporal"}) || r.NasalSide != "left" {
		t.Errorf("rim %+v", r)
	}
}

// Zone measures: a vessel map with one horizontal vessel through the
// frame and a disc at its middle; zone B (2r-3r) and zone C (2r-5r) cut
// two pieces of it, zone C's longer, and nothing is measured without a
// disc.
func TestVesselMeasuresZones(t *testing.T) {
	const size = 256
	prob := make([]float32, size*size)
	for y := 127; y < 130; y++ {
		for x := 4; x < size-4; x++ {
			prob[y*size+x] = 1
		}
	}
	fov := image.NewGray(image.Rect(0, 0, size, size))
	for i := range fov.Pix {
		fov.Pix[i] = 255
	}
	// The analysis frame is the original at half size, shifted.
	n := &fundus.Normalized{Size: size, Mask: fov, Transform: fundus.Transform{Scale: 2, OffsetX: 100, OffsetY: 50}}
	vm := &vessels.Map{Width: size, Height: size, Prob: prob, Threshold: 0.5}
	in := biomarkerInput{vessels: vm, frame: n, cal: report.Calibration{UmPerPx: 5, Source: "user"}}
	out, err := vesselMeasures(in)
	if err != nil || out.whole == nil || out.zones != nil || out.calibre != nil || out.artery != nil {
		t.Fatalf("without a disc or A/V: %+v, err %v", out, err)
	}
	// Disc at analysis (128, 128.5), radius 20 analysis px = 40 original.
	in.disc = &discGeometry{centre: disc.Point{X: 128*2 + 100, Y: 128.5*2 + 50}, radius: 40}
	out, err = vesselMeasures(in)
	if err != nil {
		t.Fatal(err)
	}
	zones := out.zones
	if len(zones) != 2 || zones[0].Zone != "B" || zones[1].Zone != "C" {
		t.Fatalf("zones %+v", zones)
	}
	b, c := zones[0], zones[1]
	if b.InnerPx != 80 || b.OuterPx != 120 || c.InnerPx != 80 || c.OuterPx != 200 {
		t.Errorf("zone radii B %v-%v C %v-%v, want 80-120 and 80-200 original px", b.InnerPx, b.OuterPx, c.InnerPx, c.OuterPx)
	}
	// Two pieces each 20 (B) or 60 (C) analysis px long, 2 original px per
	// analysis px; centrelines lose a little at the cut ends.
	for _, z := range []struct {
		v    report.VesselZone
		want float64
	}{{b, 80}, {c, 240}} {
		t.Logf("zone %s: centreline %.1f px, %d segments, density %.4f", z.v.Zone, z.v.Measures.CentrelineLengthPx, z.v.Measures.SegmentCount, z.v.Density)
		if l := z.v.Measures.CentrelineLengthPx; l < 0.7*z.want || l > 1.1*z.want {
			t.Errorf("zone %s centreline %.1f px, want about %.0f", z.v.Zone, l, z.want)
		}
		if z.v.Measures.SegmentCount != 2 || z.v.Density <= 0 || z.v.Measures.AverageWidthUm == 0 {
			t.Errorf("zone %s: %+v density %v", z.v.Zone, z.v.Measures, z.v.Density)
		}
	}
}
