package biomarkers

import (
	"encoding/csv"
	"image"
	_ "image/gif"
	_ "image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// datasets is ../shared/datasets relative to the repository root.
const datasets = "../../../shared/datasets"

func loadImage(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// binary is img's pixels brighter than half range, as fundus.LoadMask.
func binary(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, gr, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if max(r, gr, bl) > 0x7fff {
				g.Pix[y*g.Stride+x] = 255
			}
		}
	}
	return g
}

// riteDisc reads the disc of one DRIVE/RITE image from
// testdata/rite_discs.csv (located on the photographs, see
// docs/biomarkers.md).
func riteDisc(t *testing.T, image string) Ring {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "rite_discs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if r[0] != image {
			continue
		}
		var v [3]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(r[i+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		return Ring{X: v[0], Y: v[1], Inner: 2 * v[2], Outer: 3 * v[2]}
	}
	t.Fatalf("no disc for image %s", image)
	return Ring{}
}

// TestRITEImage01 measures DRIVE test image 01's manual vessel mask split by
// RITE's manual artery/vein map and checks that the artery and vein
// measures exist and are plausible: most of the tree labelled, both trees
// measured, six arterioles and six venules in zone B, venules wider than
// arterioles (CRVE > CRAE) and AVR within the usual 0.5..1.0.
func TestRITEImage01(t *testing.T) {
	if _, err := os.Stat(datasets); err != nil {
		t.Skipf("%s not available (%v): no real-data check", datasets, err)
	}
	mask := binary(loadImage(t, filepath.Join(datasets, "drive/test/1st_manual/01_manual1.gif")))
	fov := binary(loadImage(t, filepath.Join(datasets, "drive/test/mask/01_test_mask.gif")))
	av := AVMapFromRITE(loadImage(t, filepath.Join(datasets, "rite/test/av/01_test.png")))
	m, err := MeasureAV(mask, fov, av, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.LabelledLengthFraction < 0.9 || m.MeanConfidence < 0.9 {
		t.Errorf("labelled length %.3f, mean confidence %.3f: want ≥ 0.9 with a manual map", m.LabelledLengthFraction, m.MeanConfidence)
	}
	for _, tr := range []struct {
		name string
		m    *Measures
	}{{"artery", m.Artery}, {"vein", m.Vein}} {
		// Each tree holds 30-70 % of the vessel area, and its measures
		// lie where a sparser tree's should: a lower fractal dimension
		// than the whole tree, a density below the whole's.
		share := float64(tr.m.VesselAreaPx) / float64(m.All.VesselAreaPx)
		if share < 0.3 || share > 0.7 {
			t.Errorf("%s: %.2f of the vessel area", tr.name, share)
		}
		if fd := tr.m.FractalDimensionMask; fd < 1.1 || fd >= m.All.FractalDimensionMask {
			t.Errorf("%s: fractal dimension %.3f, want 1.1..%.3f", tr.name, fd, m.All.FractalDimensionMask)
		}
		if tr.m.AverageWidthPx < 2 || tr.m.AverageWidthPx > 5 {
			t.Errorf("%s: average width %.2f px", tr.name, tr.m.AverageWidthPx)
		}
		if dt := tr.m.DistanceTortuosity; dt < 1 || dt > 1.3 {
			t.Errorf("%s: distance tortuosity %.3f", tr.name, dt)
		}
		if tr.m.CurvatureTortuosityPerPx2 <= 0 || tr.m.TortuosityDensityPerPx <= 0 {
			t.Errorf("%s: curvature tortuosity %g, tortuosity density %g", tr.name, tr.m.CurvatureTortuosityPerPx2, tr.m.TortuosityDensityPerPx)
		}
	}
	c, err := MeasureCalibre(m, riteDisc(t, "01"), CalibreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		name string
		e    CalibreEstimate
	}{{"zone", c.Zone}, {"circles", c.MultiCircle}} {
		k := e.e.Knudtson
		if e.e.ArteriesUsed != SummaryVessels || e.e.VeinsUsed != SummaryVessels {
			t.Errorf("%s: %d arterioles and %d venules used, want 6 and 6", e.name, e.e.ArteriesUsed, e.e.VeinsUsed)
		}
		if k.CRAE == nil || k.CRVE == nil || k.AVR == nil {
			t.Errorf("%s: absent values: %s", e.name, k.Absent)
			continue
		}
		t.Logf("%s: CRAE %.2f px, CRVE %.2f px, AVR %.3f", e.name, *k.CRAE, *k.CRVE, *k.AVR)
		if *k.CRVE <= *k.CRAE {
			t.Errorf("%s: CRVE %.2f ≤ CRAE %.2f", e.name, *k.CRVE, *k.CRAE)
		}
		if *k.AVR < 0.5 || *k.AVR > 1 {
			t.Errorf("%s: AVR %.3f outside 0.5..1.0", e.name, *k.AVR)
		}
	}
}
