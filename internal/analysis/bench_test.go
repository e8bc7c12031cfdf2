package analysis

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

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

// BenchmarkAnalyze is the whole analyze of a 2144x1424 photo: decode, FOV,
// normalize to 1024, vessel model, back to original resolution.
func BenchmarkAnalyze(b *testing.B) {
	an, data := benchSetup(b)
	ctx := context.Background()
	for b.Loop() {
		img, err := fundus.Decode(bytes.NewReader(data), filepath.Base(benchPhoto), fundus.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := an.Analyze(ctx, img, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/photo")
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
