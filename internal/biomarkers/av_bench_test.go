package biomarkers

import (
	"image"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

// ringMask is the ring's pixels (by pixel centre) inside fov, as the CLI
// builds its zone masks.
func ringMask(fov *image.Gray, r Ring) *image.Gray {
	b := fov.Bounds()
	m := image.NewGray(b)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if fov.Pix[y*fov.Stride+x] != 0 && r.Contains(float64(x)+0.5, float64(y)+0.5) {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m
}

// BenchmarkMeasureAV1024 is every whole-image biomarker of a 1024 px mask
// with the artery/vein split: all vessels, arteries and veins, the segment
// labels, and CRAE/CRVE/AVR in zone B (both variants). "with zones" adds
// what the CLI does with a disc: the measures of all three trees in zones
// B and C and the zone C calibres.
func BenchmarkMeasureAV1024(b *testing.B) {
	f, err := synth.Generate(synth.Spec{Size: 1024})
	if err != nil {
		b.Fatal(err)
	}
	av := avFromSynth(f)
	d := f.Disc
	zoneB := Ring{X: d.X, Y: d.Y, Inner: 2 * d.R, Outer: 3 * d.R}
	zoneC := Ring{X: d.X, Y: d.Y, Inner: 2 * d.R, Outer: 5 * d.R}
	for _, bc := range []struct {
		name  string
		zones bool
	}{{"whole", false}, {"with zones", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				m, err := MeasureAV(f.VesselMask, f.FOVMask, av, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := MeasureCalibre(m, zoneB, CalibreOptions{UmPerPx: 10}); err != nil {
					b.Fatal(err)
				}
				if !bc.zones {
					continue
				}
				for _, z := range []Ring{zoneB, zoneC} {
					zm := ringMask(f.FOVMask, z)
					for _, tree := range []*image.Gray{f.VesselMask, m.ArteryMask, m.VeinMask} {
						if _, err := Measure(tree, zm); err != nil {
							b.Fatal(err)
						}
					}
				}
				if _, err := MeasureCalibre(m, zoneC, CalibreOptions{UmPerPx: 10}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}
