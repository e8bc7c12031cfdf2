package analysis

import (
	"fmt"
	"image"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// biomarkerInput is what the biomarker stage measures: the vessel map on
// the analysis frame, the calibration, and, when the disc was found, the
// optic disc (original pixels) whose zones B and C it also measures in.
type biomarkerInput struct {
	vessels *vessels.Map
	frame   *fundus.Normalized
	umPerPx float64
	disc    *discGeometry // nil: no zone measures
}

// vesselMeasures computes the biomarkers on the analysis-frame vessel map,
// over the whole FOV and, with a disc, inside zones B and C, and converts
// them to original pixels (and µm when calibrated).
func vesselMeasures(in biomarkerInput) (*report.VesselMeasures, []report.VesselZone, error) {
	mask := in.vessels.Mask()
	profile := image.NewGray(mask.Rect)
	for i, p := range in.vessels.Prob {
		profile.Pix[i] = uint8(p*255 + 0.5)
	}
	opt := biomarkers.Options{Profile: profile}
	m, err := biomarkers.MeasureWith(mask, in.frame.Mask, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("vessel biomarkers: %w", err)
	}
	whole := toReport(m, in.frame.Transform.Scale, in.umPerPx)
	if in.disc == nil {
		return whole, nil, nil
	}
	// The zones, mapped onto the analysis frame, restrict the FOV mask, as
	// `retinalgpt biomarkers --disc-radius` does on a mask file.
	t := in.frame.Transform
	cx, cy := t.ToAnalysis(in.disc.centre.X, in.disc.centre.Y)
	centre, r := disc.Point{X: cx, Y: cy}, in.disc.radius/t.Scale
	var zones []report.VesselZone
	for _, z := range []struct {
		name string
		ring disc.Annulus
	}{{"B", disc.ZoneB(centre, r)}, {"C", disc.ZoneC(centre, r)}} {
		ring := z.ring.Mask(mask.Rect)
		inside := 0
		for i, v := range in.frame.Mask.Pix {
			if v == 0 {
				ring.Pix[i] = 0
			} else if ring.Pix[i] != 0 {
				inside++
			}
		}
		if inside == 0 {
			continue // the zone lies outside the FOV: nothing to measure there
		}
		zm, err := biomarkers.MeasureWith(mask, ring, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("vessel biomarkers in zone %s: %w", z.name, err)
		}
		zones = append(zones, report.VesselZone{
			Zone:     z.name,
			InnerPx:  report.Round(z.ring.Inner*t.Scale, 2),
			OuterPx:  report.Round(z.ring.Outer*t.Scale, 2),
			Density:  report.Round(zm.DensityFOV, 4),
			Measures: toReport(zm, t.Scale, in.umPerPx),
		})
	}
	return whole, zones, nil
}

// toReport converts biomarkers measured on the analysis frame (s original
// px per analysis px) to the report's original pixels and µm.
func toReport(m *biomarkers.Measures, s, umPerPx float64) *report.VesselMeasures {
	um := func(px float64) float64 {
		if umPerPx <= 0 {
			return 0
		}
		return report.Round(px*umPerPx, 1)
	}
	return &report.VesselMeasures{
		MeasuredAt:               "analysis_frame",
		FractalDimensionMask:     report.Round(m.FractalDimensionMask, 4),
		FractalDimensionSkeleton: report.Round(m.FractalDimensionSkeleton, 4),
		DensityFrame:             report.Round(m.DensityFrame, 4),
		AverageWidthPx:           report.Round(m.AverageWidthPx*s, 2),
		AverageWidthUm:           um(m.AverageWidthPx * s),
		MedianSegmentWidthPx:     report.Round(m.MedianSegmentWidthPx*s, 2),
		MedianSegmentWidthUm:     um(m.MedianSegmentWidthPx * s),
		DistanceTortuosity:       report.Round(m.DistanceTortuosity, 4),
		SquaredCurvatureTort:     report.Round(m.CurvatureTortuosityPerPx2/(s*s), 8),
		TortuosityDensity:        report.Round(m.TortuosityDensityPerPx/s, 6),
		MeanBranchingAngleDeg:    report.Round(m.MeanBranchingAngleDeg, 1),
		SegmentCount:             m.SegmentCount,
		BranchPoints:             m.BranchPoints,
		EndPoints:                m.EndPoints,
		CentrelineLengthPx:       report.Round(m.CentrelineLengthPx*s, 1),
		CentrelineLengthUm:       um(m.CentrelineLengthPx * s),
	}
}
