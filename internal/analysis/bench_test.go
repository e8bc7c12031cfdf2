package analysis

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// The speed figures in the README come from these benchmarks:
//
//	go test -run '^$' -bench . -benchtime 10x -count 5 ./internal/analysis/
//
// They read a real 2144x1424 IDRiD photo from ../shared and skip without it.
const benchPhoto = "../../../shared/datasets/idrid/grading/images/IDRiD_001.jpg"

func benchSetup(b *testing.B) (*Analyzer, []byte) {
	b.Helper()
	data, err := os.ReadFile(benchPhoto)
	if err != nil {
		b.Skipf("benchmark photo not available (%v); it lives in ../shared/datasets", err)
	}
	if _, err := infer.FindLibrary(""); err != nil {
		b.Skip(err)
	}
	an, err := New(Config{Runtime: infer.Config{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { an.Close() })
	return an, data
}

// BenchmarkAnalyze is the whole analyze of a 2144x1424 photo: decode and
// every stage (FOV and normalize to 1024, disc and fovea, disc and cup,
// vessels, artery/vein, biomarkers). Besides the mean it reports the
// median time per photo and the median of the vessel and A/V stages as
// the report times them (machines shared with other work skew the mean).
func BenchmarkAnalyze(b *testing.B) {
	an, data := benchSetup(b)
	ctx := context.Background()
	var total []float64
	stages := map[string][]float64{}
	for b.Loop() {
		t0 := time.Now()
		img, err := fundus.Decode(bytes.NewReader(data), filepath.Base(benchPhoto), fundus.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := an.Analyze(ctx, img, Options{})
		if err != nil {
			b.Fatal(err)
		}
		total = append(total, float64(time.Since(t0).Microseconds())/1000)
		for _, t := range res.Report.Timings {
			stages[t.Stage] = append(stages[t.Stage], t.Ms)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/photo")
	b.ReportMetric(medianMs(total), "median-ms/photo")
	for _, s := range []string{"vessels", "av"} {
		if v := stages[s]; len(v) > 0 {
			b.ReportMetric(medianMs(v), "median-ms/"+s)
		}
	}
}

func medianMs(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkVesselStage is the vessel model alone on a 1024x1024 analysis image.
func BenchmarkVesselStage(b *testing.B) {
	an, data := benchSetup(b)
	img, err := fundus.Decode(bytes.NewReader(data), "bench.jpg", fundus.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	n, err := fundus.Normalize(img, DefaultSize)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := an.Segmenter().Segment(ctx, n.Image); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
}

// BenchmarkDiscStage is the whole disc stage on the bundled sample photo
// (IDRiD_055 at 1072x712): the locator (normalize to its size, model,
// peaks) then the disc/cup segmentation (crop, model, masks back to
// original pixels, measures) and the disc verifier, as Analyze runs them
// after the field of view is found. It reports the median time per photo as well as the mean:
//
//	go test -run '^$' -bench DiscStage -benchtime 30x ./internal/analysis/
func BenchmarkDiscStage(b *testing.B) {
	if _, err := infer.FindLibrary(""); err != nil {
		b.Skip(err)
	}
	an, err := New(Config{Runtime: infer.Config{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { an.Close() })
	img, err := fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, fundus.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var times []float64
	for b.Loop() {
		t0 := time.Now()
		lm, _, err := an.locate(ctx, img, fov)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := an.segmentDisc(ctx, img, fov, lm); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1000)
	}
	b.ReportMetric(medianMs(times), "median-ms/photo")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/photo")
}
