package analysis

import (
	"context"
	"image"
	"os"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/lesions"
)

// TestDiscProbe is a measurement harness, not a check: for every photo
// listed (one path a line) in the file named by RETINALGPT_DISC_PROBE it
// logs whether a disc was found and three candidate evidence figures for
// telling a disc from a bright exudate cluster (models/disccup.md,
// "Disc-less photos"): the locator's confidence, the share of the disc's
// pixels on the vessel mask and on the hard-exudate mask.
//
//	RETINALGPT_DISC_PROBE=list.txt go test -run TestDiscProbe -v -timeout 60m ./internal/analysis/
func TestDiscProbe(t *testing.T) {
	list := os.Getenv("RETINALGPT_DISC_PROBE")
	if list == "" {
		t.Skip("set RETINALGPT_DISC_PROBE to a file of photo paths")
	}
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	an := newAnalyzer(t)
	for _, p := range strings.Fields(string(data)) {
		img, err := fundus.Load(p, fundus.Limits{})
		if err != nil {
			t.Logf("%s: %v", p, err)
			continue
		}
		res, err := an.Analyze(context.Background(), img, Options{NoQualityGate: true, Lesions: true})
		if err != nil {
			t.Logf("%s: %v", p, err)
			continue
		}
		s := res.Disc
		if s.Disc == nil || s.Measures.Disc.Area == 0 {
			t.Logf("PROBE %s found=false locator=%.3f (no disc mask)", p, res.Landmarks.Disc.Confidence)
			continue
		}
		m := s.Measures
		t.Logf("PROBE %s found=%v locator=%.3f vessel_share=%.4f ex_share=%.4f ring_ratio=%.3f", p, s.Found, res.Landmarks.Disc.Confidence,
			shareOn(s.Disc, res.VesselMask), shareOn(s.Disc, LesionMask(res.Lesions, lesions.EX)),
			ringDensity(res.VesselMask, m.Centre.X, m.Centre.Y, 1.5*m.RadiusPx(), 3*m.RadiusPx())/
				ringDensity(res.VesselMask, m.Centre.X, m.Centre.Y, 0, 1e9))
	}
}

// shareOn is the share of region's set pixels that are set in m.
func shareOn(region, m *image.Gray) float64 {
	in, hit := 0, 0
	b := region.Rect.Intersect(m.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if region.GrayAt(x, y).Y == 0 {
				continue
			}
			in++
			if m.GrayAt(x, y).Y != 0 {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(in, 1))
}

// ringDensity is the share of set pixels of m (inside the photo) between
// radii r0 and r1 of (cx, cy).
func ringDensity(m *image.Gray, cx, cy, r0, r1 float64) float64 {
	in, hit := 0, 0
	b := m.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if d2 := dx*dx + dy*dy; d2 < r0*r0 || d2 >= r1*r1 {
				continue
			}
			in++
			if m.Pix[(y-b.Min.Y)*m.Stride+x-b.Min.X] != 0 {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(in, 1))
}
