package analysis

import (
	"fmt"
	"image"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// vesselMeasures computes the biomarkers on the analysis-frame vessel map
// and converts them to original pixels (and µm when calibrated).
func vesselMeasures(vm *vessels.Map, n *fundus.Normalized, umPerPx float64) (*report.VesselMeasures, error) {
	mask := vm.Mask()
	profile := image.NewGray(mask.Rect)
	for i, p := range vm.Prob {
		profile.Pix[i] = uint8(p*255 + 0.5)
	}
	m, err := biomarkers.MeasureWith(mask, n.Mask, biomarkers.Options{Profile: profile})
	if err != nil {
		return nil, fmt.Errorf("vessel biomarkers: %w", err)
	}
	s := n.Transform.Scale // original px per analysis px
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
	}, nil
}
