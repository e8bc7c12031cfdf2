package disc

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// TestLocateIDRiD runs the whole Go path (Load, Normalize, Locate) on every
// tenth IDRiD grading photo and scores it against labels.csv at the
// original 4288-pixel width. These photos are in the final model's training
// set, so the bounds are a regression guard for the Go path (crop,
// normalization, decoding, mapping back), not an accuracy claim; the
// cross-validated figures are in models/disc.md.
func TestLocateIDRiD(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 42 photographs; skipped with -short")
	}
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "idrid", "grading")
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Skipf("IDRiD grading set not present (%v); skipping", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	l := newLocator(t)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	num := func(row []string, name string) float64 {
		v, err := strconv.ParseFloat(row[col[name]], 64)
		if err != nil {
			t.Fatalf("labels.csv %s: %v", name, err)
		}
		return v
	}
	var predDisc, trueDisc, predFovea, trueFovea []Point
	for i := 1; i < len(rows); i += 10 {
		row := rows[i]
		got, _ := locateFile(t, l, filepath.Join(dir, "images", row[col["image"]]))
		predDisc, predFovea = append(predDisc, got.Disc.Point), append(predFovea, got.Fovea.Point)
		trueDisc = append(trueDisc, Point{num(row, "od_x"), num(row, "od_y")})
		trueFovea = append(trueFovea, Point{num(row, "fovea_x"), num(row, "fovea_y")})
	}
	const discRadius = 262 // px at 4288 wide, median of the IDRiD OD masks
	for _, tc := range []struct {
		name        string
		pred, truth []Point
		maxMedian   float64
	}{
		{"disc", predDisc, trueDisc, 40},
		{"fovea", predFovea, trueFovea, 80},
	} {
		s, err := Evaluate(tc.pred, tc.truth, 2, discRadius)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s on %d IDRiD training photos: median %.1f px, mean %.1f px, %.0f%% within %d px (4288 wide)",
			tc.name, s.N, s.Median, s.Mean, 100*s.Within, discRadius)
		if s.Median > tc.maxMedian || s.Within < 0.9 {
			t.Errorf("%s: median %.1f px (max %v), %.0f%% within one disc radius (min 90%%)", tc.name, s.Median, tc.maxMedian, 100*s.Within)
		}
	}
}

// TestDiscRadiusIDRiD grounds the 262 px disc radius used for "within one
// disc radius" (here, in eval localize and in models/disc.md): the median
// equivalent-area radius sqrt(area/π) of the 19 IDRiD optic disc masks,
// which are at the original 4288-pixel width. Run with -v for the range.
func TestDiscRadiusIDRiD(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 19 12-megapixel masks; skipped with -short")
	}
	masks, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "datasets", "idrid", "segmentation", "OD", "*.png"))
	if len(masks) == 0 {
		t.Skip("IDRiD segmentation masks not present")
	}
	var radii []float64
	for _, p := range masks {
		m, err := fundus.LoadMask(p, fundus.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Rect.Dx() != 4288 {
			t.Fatalf("%s is %d wide, want the 4288-pixel originals", p, m.Rect.Dx())
		}
		area := 0
		for _, v := range m.Pix {
			if v != 0 {
				area++
			}
		}
		radii = append(radii, math.Sqrt(float64(area)/math.Pi))
	}
	slices.Sort(radii)
	med := radii[len(radii)/2]
	t.Logf("%d IDRiD OD masks: equivalent radius median %.1f px, range %.1f-%.1f px at 4288 width", len(radii), med, radii[0], radii[len(radii)-1])
	if math.Abs(med-262) > 5 {
		t.Errorf("median disc radius %.1f px; the 262 px used for 'within one disc radius' is out of date", med)
	}
}
