package fundus

import (
	"encoding/csv"
	"image"
	"image/gif"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// datasetDir returns a folder of the shared real-image datasets, or skips
// the test when it is absent (a fresh checkout has no ../shared).
func datasetDir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{"..", "..", "..", "shared", "datasets"}, parts...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real-image dataset folder %s not present (%v); skipping", dir, err)
	}
	return dir
}

func globOrSkip(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Skipf("no files match %s; skipping", pattern)
	}
	return files
}

// DRIVE ships a field-of-view mask for every image: the circle found must
// agree with it.
func TestDetectFOVDRIVE(t *testing.T) {
	dir := datasetDir(t, "drive", "training")
	files := globOrSkip(t, filepath.Join(dir, "images", "*.tif"))
	minIoU, sum := 1.0, 0.0
	for _, f := range files {
		_, fov, ok := loadFOV(t, f)
		if !ok {
			continue
		}
		base := strings.TrimSuffix(filepath.Base(f), ".tif")
		mask := loadGIFMask(t, filepath.Join(dir, "mask", base+"_mask.gif"))
		iou := maskIoU(fov, mask)
		if iou < 0.97 {
			t.Errorf("%s: IoU with the DRIVE mask %.4f < 0.97 (circle %.1f,%.1f r %.1f)", base, iou, fov.CX, fov.CY, fov.Radius)
		}
		if fov.ClippedTop || fov.ClippedBottom || fov.ClippedLeft || fov.ClippedRight || fov.Coverage < 0.999 {
			t.Errorf("%s: DRIVE discs lie inside the frame, got %+v", base, fov)
		}
		minIoU, sum = min(minIoU, iou), sum+iou
	}
	t.Logf("DRIVE training: %d images, IoU min %.4f mean %.4f", len(files), minIoU, sum/float64(len(files)))
}

func loadGIFMask(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := gif.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	g := image.NewGray(m.Bounds())
	for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
		for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
			if r, _, _, _ := m.At(x, y).RGBA(); r > 0x7fff {
				g.Pix[g.PixOffset(x, y)] = 255
			}
		}
	}
	return g
}

func maskIoU(fov FOV, mask *image.Gray) float64 {
	inter, union := 0, 0
	for y := mask.Rect.Min.Y; y < mask.Rect.Max.Y; y++ {
		for x := mask.Rect.Min.X; x < mask.Rect.Max.X; x++ {
			a := fov.Contains(float64(x)+0.5, float64(y)+0.5)
			b := mask.Pix[mask.PixOffset(x, y)] != 0
			if a && b {
				inter++
			}
			if a || b {
				union++
			}
		}
	}
	return float64(inter) / float64(union)
}

// CHASE_DB1 has no masks; its discs lie inside the 999x960 frame with a
// radius a little under half the height (some eyes were imaged smaller).
func TestDetectFOVCHASE(t *testing.T) {
	dir := datasetDir(t, "chase_db1", "images")
	files := globOrSkip(t, filepath.Join(dir, "*.jpg"))
	for _, f := range files {
		img, fov, ok := loadFOV(t, f)
		if !ok {
			continue
		}
		ratio := fov.Radius / (float64(img.Height) / 2)
		off := math.Hypot(fov.CX-float64(img.Width)/2, fov.CY-float64(img.Height)/2)
		if ratio < 0.9 || ratio > 1.0 || off > 0.05*float64(img.Height) || fov.Coverage < 0.999 {
			t.Errorf("%s: circle (%.1f, %.1f) r %.1f (%.3f of half the height, %.1f px off centre, coverage %.3f)",
				filepath.Base(f), fov.CX, fov.CY, fov.Radius, ratio, off, fov.Coverage)
		}
	}
}

// IDRiD's camera crops the disc at top and bottom: the radius is about 1.2
// times half the height. The optic disc and fovea positions in labels.csv
// must fall inside the circle.
func TestDetectFOVIDRiD(t *testing.T) {
	dir := datasetDir(t, "idrid", "grading")
	labels := readIDRiDLabels(t, filepath.Join(dir, "labels.csv"))
	files := globOrSkip(t, filepath.Join(dir, "images", "*.jpg"))
	const samples = 5 // a few spread over the set: each is a 3-megapixel decode
	for i := range samples {
		f := files[i*(len(files)-1)/(samples-1)]
		img, fov, ok := loadFOV(t, f)
		if !ok {
			continue
		}
		ratio := fov.Radius / (float64(img.Height) / 2)
		t.Logf("%s: circle (%.1f, %.1f) r %.1f = %.3f x half height, coverage %.3f", filepath.Base(f), fov.CX, fov.CY, fov.Radius, ratio, fov.Coverage)
		if ratio < 1.15 || ratio > 1.25 {
			t.Errorf("%s: radius %.3f x half the height, want about 1.2", filepath.Base(f), ratio)
		}
		if !fov.ClippedTop || !fov.ClippedBottom || fov.ClippedLeft || fov.ClippedRight {
			t.Errorf("%s: want clipped at top and bottom only, got %+v", filepath.Base(f), fov)
		}
		if fov.Coverage < 0.85 || fov.Coverage > 0.97 {
			t.Errorf("%s: coverage %.3f, want the share of a cropped disc (~0.92)", filepath.Base(f), fov.Coverage)
		}
		if p, ok := labels[filepath.Base(f)]; ok {
			for _, q := range [][2]float64{{p[0], p[1]}, {p[2], p[3]}} {
				if !fov.Contains(q[0], q[1]) {
					t.Errorf("%s: labelled landmark (%.0f, %.0f) outside the circle", filepath.Base(f), q[0], q[1])
				}
			}
		}
	}
}

// readIDRiDLabels maps an image name to its optic disc and fovea centres.
func readIDRiDLabels(t *testing.T, path string) map[string][4]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Logf("no labels (%v): landmark checks skipped", err)
		return nil
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("read %s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := map[string][4]float64{}
	for _, r := range rows[1:] {
		var v [4]float64
		for i, name := range []string{"od_x", "od_y", "fovea_x", "fovea_y"} {
			v[i], err = strconv.ParseFloat(r[col[name]], 64)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
		}
		out[r[col["image"]]] = v
	}
	return out
}

// loadFOV loads a photo and detects its FOV, reporting failures as test
// errors so one bad image does not hide the rest.
func loadFOV(t *testing.T, path string) (*Image, FOV, bool) {
	t.Helper()
	img, err := Load(path, Limits{})
	if err != nil {
		t.Errorf("%v", err)
		return nil, FOV{}, false
	}
	fov, err := DetectFOV(img.Pix)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return nil, FOV{}, false
	}
	return img, fov, true
}
