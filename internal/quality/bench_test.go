package quality

import (
	"bytes"
	"image"
	"path/filepath"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// benchPhoto is a 2144x1424 IDRiD grading photo from ../shared, or, in a
// checkout without it, the bundled sample (the same camera, 1072x712)
// doubled to that size.
func benchPhoto(b *testing.B) *image.NRGBA {
	b.Helper()
	path := filepath.Join("..", "..", "..", "shared", "datasets", "idrid", "grading", "images", "IDRiD_055.jpg")
	if img, err := fundus.Load(path, fundus.Limits{}); err == nil {
		return img.Pix
	}
	img, err := fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, fundus.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	src := img.Pix
	w, h := 2*src.Rect.Dx(), 2*src.Rect.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[src.PixOffset(x/2, y/2):][:4])
		}
	}
	return dst
}

// BenchmarkAssess times the gate on a 2144x1424 photo with its field of
// view already found (analyze finds it once for every stage).
func BenchmarkAssess(b *testing.B) {
	img := benchPhoto(b)
	fov, err := fundus.DetectFOV(img)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if a := Assess(img, fov, nil, Options{}); !a.Modality.IsFundus {
			b.Fatal("not fundus")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkCheck adds fundus.DetectFOV, for a caller that has only the
// decoded photo.
func BenchmarkCheck(b *testing.B) {
	img := benchPhoto(b)
	fi := &fundus.Image{Pix: img, Width: img.Rect.Dx(), Height: img.Rect.Dy()}
	b.ResetTimer()
	for b.Loop() {
		Check(fi, Options{})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
